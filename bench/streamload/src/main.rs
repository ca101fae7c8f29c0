//! The stream-scale benchmark's two ends, so that the nginx hop and Switchyard are measured with
//! the same upstream and the same client:
//!
//! - `streamload upstream PORT CHUNKS INTERVAL_MS`: an OpenAI-compatible SSE upstream answering
//!   every POST with CHUNKS `chat.completion.chunk` events, one every INTERVAL_MS, each carrying
//!   its index (`"content":"c17 "`), then `[DONE]`; chunked transfer encoding, keep-alive.
//! - `streamload client URL STREAMS CHUNKS RAMP_PER_S`: opens STREAMS streaming requests
//!   (RAMP_PER_S new ones a second), holds them all, and checks that each returns 200 and every
//!   chunk in order, then `[DONE]`. Prints one JSON line of results; exits 1 if any stream
//!   failed.
//!
//! Both ends run on one thread each: the machine's cores are for the proxy being measured.

mod client;
mod response;
mod upstream;

use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!(
        "usage: streamload upstream PORT CHUNKS INTERVAL_MS\n       streamload client URL STREAMS CHUNKS RAMP_PER_S"
    );
    ExitCode::from(2)
}

fn number(arg: Option<&String>) -> Option<u64> {
    arg.and_then(|a| a.parse().ok())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("streamload: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match args.get(1).map(String::as_str) {
        Some("upstream") => {
            let (Some(port), Some(chunks), Some(interval)) = (
                number(args.get(2)),
                number(args.get(3)),
                number(args.get(4)),
            ) else {
                return usage();
            };
            let Ok(port) = u16::try_from(port) else {
                return usage();
            };
            match runtime.block_on(upstream::serve(port, chunks, interval)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("streamload upstream: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some("client") => {
            let (Some(url), Some(streams), Some(chunks), Some(ramp)) = (
                args.get(2),
                number(args.get(3)),
                number(args.get(4)),
                number(args.get(5)),
            ) else {
                return usage();
            };
            let Some(target) = client::Target::parse(url) else {
                eprintln!("streamload client: URL must look like http://127.0.0.1:PORT/path");
                return ExitCode::from(2);
            };
            let report = runtime.block_on(client::run(target, streams, chunks, ramp.max(1)));
            println!("{}", report.json());
            if report.all_complete() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        _ => usage(),
    }
}
