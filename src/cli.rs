//! Command line: `switchyard [serve options]` and `switchyard check-config FILE`.

use std::path::PathBuf;

pub const USAGE: &str = "\
Switchyard: a fast LLM gateway for LiteLLM config.yaml files

Usage:
  switchyard [--config FILE [--watch]] [--port N] [--host ADDR] [--workers N] [--grace-period SECS] [--instance-id ID]
  switchyard check-config FILE
  switchyard --help | --version

Options:
  --config FILE          LiteLLM-format config.yaml (default: the built-in quick-start config)
  --port N               port to listen on (default 4000)
  --host ADDR            address to bind (default 0.0.0.0)
  --workers N            HTTP worker threads (default: number of CPUs)
  --grace-period SECS    on SIGTERM, how long in-flight requests may take to finish (default 30)
  --instance-id ID       name in the x-switchyard-instance header (default HOST:PORT)
  --watch                reload the config when the file (or an include) changes; SIGHUP and
                         POST /config/reload (master key) reload it too";

pub struct ServeArgs {
    pub config: Option<PathBuf>,
    pub host: String,
    pub port: u16,
    pub workers: Option<usize>,
    pub grace_period: u64,
    pub instance_id: Option<String>,
    pub watch: bool,
}

pub enum Command {
    Serve(ServeArgs),
    CheckConfig(PathBuf),
    Help,
    Version,
}

fn number<T: std::str::FromStr>(flag: &str, value: Option<String>) -> Result<T, String> {
    let v = value.ok_or_else(|| format!("{flag} needs a value"))?;
    v.parse()
        .map_err(|_| format!("{flag}: \"{v}\" is not a valid number"))
}

pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut args = args.into_iter();
    let mut serve = ServeArgs {
        config: None,
        host: "0.0.0.0".into(),
        port: 4000,
        workers: None,
        grace_period: 30,
        instance_id: None,
        watch: false,
    };
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = || inline.clone().or_else(|| args.next());
        match flag.as_str() {
            "check-config" => {
                let file = args.next().ok_or("check-config needs a FILE")?;
                return Ok(Command::CheckConfig(PathBuf::from(file)));
            }
            "-h" | "--help" | "help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--config" | "-c" => {
                serve.config = Some(PathBuf::from(value().ok_or("--config needs a FILE")?))
            }
            "--host" => serve.host = value().ok_or("--host needs an address")?,
            "--port" | "-p" => serve.port = number("--port", value())?,
            "--workers" | "--num_workers" => {
                let n: usize = number("--workers", value())?;
                if n == 0 {
                    return Err("--workers must be at least 1".into());
                }
                serve.workers = Some(n);
            }
            "--watch" => serve.watch = true,
            "--grace-period" => serve.grace_period = number("--grace-period", value())?,
            "--instance-id" => {
                serve.instance_id = Some(value().ok_or("--instance-id needs a value")?)
            }
            other => return Err(format!("unknown argument \"{other}\"")),
        }
    }
    if serve.watch && serve.config.is_none() {
        return Err("--watch needs --config FILE".into());
    }
    Ok(Command::Serve(serve))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn serve_flags() {
        let Ok(Command::Serve(s)) = parse(args("--config c.yaml --port=4100 --workers 3")) else {
            panic!()
        };
        assert_eq!(s.port, 4100);
        assert_eq!(s.workers, Some(3));
        assert_eq!(s.config, Some(PathBuf::from("c.yaml")));
    }

    #[test]
    fn bad_flags_are_errors() {
        assert!(parse(args("--port nope")).is_err());
        assert!(parse(args("--workers 0")).is_err());
        assert!(parse(args("--frobnicate")).is_err());
        assert!(matches!(
            parse(args("check-config x.yaml")),
            Ok(Command::CheckConfig(_))
        ));
    }
}
