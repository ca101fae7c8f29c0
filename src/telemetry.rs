//! Logs through tracing-subscriber: human-readable by default, JSON lines with `json_logs: true`.

use tracing_subscriber::EnvFilter;

use crate::settings::notes::NoteKind;
use crate::settings::GatewayConfig;

pub fn init(json: bool, verbose: bool) {
    let default = if verbose { "debug" } else { "info" };
    let filter = EnvFilter::try_from_env("SWITCHYARD_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
    if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init();
    } else {
        builder.with_ansi(false).init();
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
