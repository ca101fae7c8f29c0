//! Logs through tracing-subscriber: human-readable by default, JSON lines with `json_logs: true`.

use std::str::FromStr;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::log_writer::BufferedStdout;
use crate::settings::notes::NoteKind;
use crate::settings::GatewayConfig;

/// `SWITCHYARD_LOG` (or `RUST_LOG`) in the usual `level,target=level` form. A static `Targets`
/// filter, not `EnvFilter`: the request path logs a line per request, and matching span-aware
/// directives on each one cost more than formatting it.
fn filter(verbose: bool) -> Targets {
    let default = if verbose { "debug" } else { "info" };
    ["SWITCHYARD_LOG", "RUST_LOG"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find_map(|spec| Targets::from_str(&spec).ok())
        .unwrap_or_else(|| Targets::from_str(default).unwrap_or_default())
}

pub fn init(json: bool, verbose: bool) {
    crate::log_writer::flush_on_panic();
    let registry = tracing_subscriber::registry().with(filter(verbose));
    if json {
        let layer = tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_writer(BufferedStdout);
        registry.with(layer).init();
    } else {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .event_format(crate::log_line::LineFormat)
                    .with_writer(BufferedStdout),
            )
            .init();
    }
}

/// Start-up warnings for keys that will not do what a LiteLLM user might expect.
pub fn report_notes(cfg: &GatewayConfig) {
    for note in &cfg.notes {
        match note.kind {
            NoteKind::Unknown | NoteKind::NotUsed => {
                tracing::warn!(key = %note.path, "config: {}", note.message)
            }
            NoteKind::Differs => tracing::info!(key = %note.path, "config: {}", note.message),
        }
    }
    if cfg.master_key.is_none() {
        tracing::warn!(
            "no general_settings.master_key: the gateway accepts requests without a key"
        );
    }
}
