//! A real `redis-server` on a free loopback port (optionally with a password), which a test can
//! kill and restart on the same port, and a minimal RESP client to look inside it.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, temp_dir};

pub struct RedisServer {
    pub port: u16,
    pub password: Option<String>,
    dir: PathBuf,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts redis-server; panics when it is not installed (no test skips for a missing server).
    pub fn start(password: Option<&str>) -> Self {
        let mut s = Self {
            port: free_port(),
            password: password.map(str::to_string),
            dir: temp_dir("redis"),
            child: None,
        };
        s.restart();
        s
    }

    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "redis-server is already running");
        let mut cmd = Command::new("redis-server");
        cmd.args([
            "--port",
            &self.port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(&self.dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        if let Some(p) = &self.password {
            cmd.args(["--requirepass", p]);
        }
        let child = cmd.spawn().expect(
            "redis-server must be installed (apt-get install redis-server; .ci/run does it)",
        );
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.command(&["PING"]).is_ok_and(|r| r == "PONG") {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server on port {} never answered PING", self.port);
    }

    /// Kills the server (SIGKILL, as a crash would).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends one command; the reply as text (bulk, simple, integer), `(nil)` for a null, or the
    /// error line.
    pub fn command(&self, args: &[&str]) -> Result<String, String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| e.to_string())?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
        let mut out = Vec::new();
        if let Some(p) = &self.password {
            encode(&mut out, &["AUTH", p]);
        }
        encode(&mut out, args);
        stream.write_all(&out).map_err(|e| e.to_string())?;
        let mut reader = BufReader::new(stream);
        if self.password.is_some() {
            read_reply(&mut reader)?;
        }
        read_reply(&mut reader)
    }

    /// Every key, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .command(&["KEYS", "*"])
            .expect("KEYS")
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        keys.sort();
        keys
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn encode(out: &mut Vec<u8>, args: &[&str]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
}

fn read_reply(r: &mut impl BufRead) -> Result<String, String> {
    let mut line = String::new();
    r.read_line(&mut line).map_err(|e| e.to_string())?;
    let line = line.trim_end_matches("\r\n");
    let (kind, rest) = line.split_at(1.min(line.len()));
    match kind {
        "+" | ":" => Ok(rest.to_string()),
        "-" => Err(rest.to_string()),
        "$" => {
            let n: i64 = rest
                .parse()
                .map_err(|_| format!("bad bulk length {rest}"))?;
            if n < 0 {
                return Ok("(nil)".into());
            }
            let mut buf = vec![0; n as usize + 2];
            std::io::Read::read_exact(r, &mut buf).map_err(|e| e.to_string())?;
            buf.truncate(n as usize);
            Ok(String::from_utf8_lossy(&buf).into_owned())
        }
        "*" => {
            let n: i64 = rest
                .parse()
                .map_err(|_| format!("bad array length {rest}"))?;
            let mut items = Vec::new();
            for _ in 0..n.max(0) {
                items.push(read_reply(r)?);
            }
            Ok(items.join("\n"))
        }
        _ => Err(format!("unexpected reply {line:?}")),
    }
}
