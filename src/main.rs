//! Switchyard: an LLM gateway that serves LiteLLM `config.yaml` files unchanged.

mod cache;
mod cli;
mod config_sources;
mod dispatch;
mod error;
mod generation;
mod http;
mod inbound;
mod json;
mod listener;
mod log_line;
mod log_writer;
mod metrics;
mod openai;
mod outbound_guard;
mod panics;
#[cfg(test)]
mod property_tests;
mod providers;
mod redis_link;
mod reload;
mod secret;
mod server;
mod settings;
mod shared_state;
mod state;
mod telemetry;
mod traces;

use std::process::ExitCode;

/// Every request allocates small buffers (headers, JSON keys, SSE chunks) across worker
/// threads; mimalloc's per-thread free lists cost less than glibc malloc's arenas here.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use cli::Command;
use settings::GatewayConfig;

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// An open stream holds two descriptors (client and upstream). The usual soft limit of 1,024
/// would cap the gateway near 500 streams while the hard limit allows far more (Go's runtime and
/// nginx's `worker_rlimit_nofile` raise it the same way).
fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(open_files = limit, "open-file limit"),
        Err(e) => tracing::warn!(error = %e, "open-file limit not raised"),
    }
}

fn main() -> ExitCode {
    let command = match cli::parse(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("error: {msg}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => {
            println!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        Command::Version => {
            println!("switchyard {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::CheckConfig(path) => match GatewayConfig::load(&path) {
            Ok(cfg) => {
                secret::register(cfg.secrets());
                print!("{}", settings::report::render(&cfg));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("config invalid: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Serve(args) => {
            let loaded = match &args.config {
                Some(path) => GatewayConfig::load(path),
                None => GatewayConfig::quickstart(),
            };
            let cfg = match loaded {
                Ok(cfg) => cfg,
                Err(e) => {
                    eprintln!("config invalid: {e}");
                    return ExitCode::FAILURE;
                }
            };
            secret::register(cfg.secrets());
            telemetry::init(cfg.json_logs, cfg.verbose);
            // Redis TLS (`rediss://`) uses rustls' process-wide provider; ours is ring.
            let _ = rustls::crypto::ring::default_provider().install_default();
            tracing::info!(config = %cfg.source, groups = cfg.groups.len(), deployments = cfg.deployments.len(), "config loaded");
            telemetry::report_notes(&cfg);
            raise_open_file_limit();
            let workers = args
                .workers
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
            let opts = server::ServeOptions {
                instance_id: args
                    .instance_id
                    .or_else(|| std::env::var("SWITCHYARD_INSTANCE_ID").ok())
                    .unwrap_or_else(|| format!("{}:{}", hostname(), args.port)),
                host: args.host,
                port: args.port,
                workers,
                grace_period: args.grace_period,
                config_path: args.config.clone(),
                watch: args.watch,
            };
            let result = actix_web::rt::System::new().block_on(server::serve(cfg, opts));
            log_writer::flush_now();
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
