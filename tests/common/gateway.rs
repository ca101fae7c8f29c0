//! The real gateway binary as a child process on a free loopback port, and a small blocking
//! HTTP client for it.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, temp_dir};

pub struct Gateway {
    pub base: String,
    pub port: u16,
    child: Child,
    log: PathBuf,
    agent: ureq::Agent,
    /// What `restart` needs to start the same instance again.
    launch: Launch,
}

#[derive(Clone)]
struct Launch {
    config: PathBuf,
    env: Vec<(String, String)>,
    extra_args: Vec<String>,
}

fn spawn(launch: &Launch, port: u16, log: &PathBuf) -> Child {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("log file");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchyard"));
    cmd.arg("--config")
        .arg(&launch.config)
        .args([
            "--port",
            &port.to_string(),
            "--host",
            "127.0.0.1",
            "--workers",
            "2",
        ])
        .args(&launch.extra_args)
        .env_remove("LITELLM_MASTER_KEY")
        .env_remove("RUST_LOG")
        .env_remove("SWITCHYARD_LOG")
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(out));
    for (k, v) in &launch.env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn switchyard")
}

pub struct Resp {
    pub status: u16,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

pub struct StreamResp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    reader: Option<BufReader<Box<dyn Read + Send + Sync>>>,
}

impl StreamResp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The next SSE `data:` payload and when it was read; `None` at the end of the body.
    pub fn next_event(&mut self) -> Option<(String, Instant)> {
        let reader = self.reader.as_mut()?;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => {
                    self.reader = None;
                    return None;
                }
                Ok(_) => {
                    if let Some(data) = line.trim_end().strip_prefix("data:") {
                        return Some((data.trim_start().to_string(), Instant::now()));
                    }
                }
            }
        }
    }

    pub fn collect_all(mut self) -> Vec<String> {
        let mut out = Vec::new();
        while let Some((data, _)) = self.next_event() {
            out.push(data);
        }
        out
    }
}

fn headers_of(r: &ureq::Response) -> Vec<(String, String)> {
    r.headers_names()
        .into_iter()
        .map(|k| {
            let v = r.header(&k).unwrap_or("").to_string();
            (k.to_ascii_lowercase(), v)
        })
        .collect()
}

fn finish(result: Result<ureq::Response, ureq::Error>) -> ureq::Response {
    match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("request failed: {e}"),
    }
}

fn to_resp(r: ureq::Response) -> Resp {
    let status = r.status();
    let headers = headers_of(&r);
    let text = r.into_string().unwrap_or_default();
    Resp {
        status,
        headers,
        text,
    }
}

impl Gateway {
    pub fn start(config_yaml: &str) -> Self {
        Self::start_with(config_yaml, &[], &[])
    }

    pub fn start_with(config_yaml: &str, env: &[(&str, &str)], extra_args: &[&str]) -> Self {
        Self::try_start(config_yaml, env, extra_args)
            .unwrap_or_else(|log| panic!("gateway did not start:\n{log}"))
    }

    pub fn try_start(
        config_yaml: &str,
        env: &[(&str, &str)],
        extra_args: &[&str],
    ) -> Result<Self, String> {
        let dir = temp_dir("gw");
        let config = dir.join("config.yaml");
        std::fs::write(&config, config_yaml).expect("write config");
        let log = dir.join("gateway.log");
        let port = free_port();
        let launch = Launch {
            config,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            extra_args: extra_args.iter().map(|a| a.to_string()).collect(),
        };
        let child = spawn(&launch, port, &log);
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(30))
            .build();
        let mut gw = Gateway {
            base: format!("http://127.0.0.1:{port}"),
            port,
            child,
            log,
            agent,
            launch,
        };
        gw.wait_ready()?;
        Ok(gw)
    }

    /// Kills the process outright (SIGKILL, as a crash or an OOM kill would).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the same instance again, on the same port, after `kill` or an exit.
    pub fn restart(&mut self) {
        self.kill();
        self.child = spawn(&self.launch, self.port, &self.log);
        if let Err(log) = self.wait_ready() {
            panic!("gateway did not restart:\n{log}");
        }
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let gw = self;
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(_)) = gw.child.try_wait() {
                return Err(gw.logs());
            }
            if let Ok(r) = gw
                .agent
                .get(&format!("{}/health/liveliness", gw.base))
                .timeout(Duration::from_millis(500))
                .call()
            {
                if r.status() == 200 {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(format!("not answering after 15 s\n{}", gw.logs()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> ureq::Request {
        let mut req = self.agent.request(method, &format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.set(k, v);
        }
        req
    }

    pub fn post(&self, path: &str, body: &serde_json::Value) -> Resp {
        self.post_with(path, body, &[])
    }

    pub fn post_with(
        &self,
        path: &str,
        body: &serde_json::Value,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        self.post_raw(path, body.to_string().as_bytes(), &all)
    }

    pub fn post_raw(&self, path: &str, body: &[u8], headers: &[(&str, &str)]) -> Resp {
        to_resp(finish(self.request("POST", path, headers).send_bytes(body)))
    }

    pub fn get(&self, path: &str) -> Resp {
        self.get_with(path, &[])
    }

    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        to_resp(finish(self.request("GET", path, headers).call()))
    }

    pub fn post_stream(
        &self,
        path: &str,
        body: &serde_json::Value,
        headers: &[(&str, &str)],
    ) -> StreamResp {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        let r = finish(
            self.request("POST", path, &all)
                .send_bytes(body.to_string().as_bytes()),
        );
        let status = r.status();
        let headers = headers_of(&r);
        let reader: Box<dyn Read + Send + Sync> = Box::new(r.into_reader());
        StreamResp {
            status,
            headers,
            reader: Some(BufReader::new(reader)),
        }
    }

    /// Replaces the config file the instance was started with (a reload reads it).
    pub fn write_config(&self, config_yaml: &str) {
        std::fs::write(&self.launch.config, config_yaml).expect("write config");
    }

    /// Sends SIGHUP (reload the config).
    pub fn sighup(&self) {
        self.signal("-HUP");
    }

    fn signal(&self, which: &str) {
        let status = Command::new("kill")
            .args([which, &self.pid().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn sigterm(&self) {
        self.signal("-TERM");
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// The log so far. The gateway writes log lines in batches a few milliseconds apart, so
    /// this first gives the last batch time to land.
    pub fn logs(&self) -> String {
        std::thread::sleep(Duration::from_millis(50));
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
