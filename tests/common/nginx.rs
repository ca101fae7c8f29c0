//! The repository's `nginx/nginx.conf`, run for real on a free loopback port in front of
//! gateway instances (its `upstreams.conf` written for them), with a private prefix.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use super::{free_port, temp_dir};

pub struct Nginx {
    pub port: u16,
    dir: PathBuf,
}

impl Nginx {
    /// Starts nginx in front of gateway instances on these loopback ports; panics when nginx is
    /// not installed (no test skips for a missing server).
    pub fn start(instances: &[u16]) -> Self {
        Self::start_with_read_timeout(instances, None)
    }

    /// As `start`, with every `proxy_read_timeout` lowered to `seconds` (an idle timeout a
    /// cloud load balancer might have).
    pub fn start_with_read_timeout(instances: &[u16], seconds: Option<u32>) -> Self {
        let dir = temp_dir("nginx");
        let port = free_port();
        let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let conf =
            std::fs::read_to_string(repo.join("nginx/nginx.conf")).expect("nginx/nginx.conf");
        let listen = "listen 80 default_server;";
        assert!(conf.contains(listen), "nginx.conf listens on 80");
        let conf = conf
            .replace(listen, &format!("listen 127.0.0.1:{port} default_server;"))
            .replace(
                "/var/log/nginx/access.log",
                &dir.join("access.log").display().to_string(),
            );
        let conf = match seconds {
            Some(s) => conf
                .replace(
                    "proxy_read_timeout 900s;",
                    &format!("proxy_read_timeout {s}s;"),
                )
                .replace(
                    "proxy_read_timeout 120s;",
                    &format!("proxy_read_timeout {s}s;"),
                ),
            None => conf,
        };
        let temp = |name: &str| dir.join(name).display().to_string();
        let conf = conf.replacen(
            "http {",
            &format!(
                "http {{\n    client_body_temp_path {};\n    proxy_temp_path {};\n    fastcgi_temp_path {};\n    uwsgi_temp_path {};\n    scgi_temp_path {};\n",
                temp("body"), temp("proxy"), temp("fastcgi"), temp("uwsgi"), temp("scgi")
            ),
            1,
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let servers: String = instances
            .iter()
            .map(|p| format!("server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;\n"))
            .collect();
        std::fs::write(dir.join("upstreams.conf"), servers).unwrap();
        let n = Self { port, dir };
        let status = n
            .command()
            .status()
            .expect("nginx must be installed (apt-get install nginx; .ci/run does it)");
        assert!(status.success(), "nginx did not start: {}", n.error_log());
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx never listened: {}",
                n.error_log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        n
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new("nginx");
        cmd.arg("-p")
            .arg(&self.dir)
            .arg("-c")
            .arg(self.dir.join("nginx.conf"))
            .arg("-e")
            .arg(self.dir.join("error.log"))
            .arg("-g")
            .arg(format!("pid {};", self.dir.join("nginx.pid").display()));
        cmd
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.command().args(["-s", "stop"]).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
