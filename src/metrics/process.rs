//! The standard `process_*` families `prometheus_client` adds to LiteLLM's `/metrics` (memory,
//! CPU, start time, file descriptors), read from `/proc` at scrape time, and Switchyard's own
//! `switchyard_open_connections`. On a system without `/proc` the process families are left out.

use super::exposition::{header, sample};

/// Linux reports CPU times in clock ticks of 1/100 s (`sysconf(_SC_CLK_TCK)`, fixed on Linux).
const TICKS_PER_SECOND: f64 = 100.0;
const PAGE_BYTES: f64 = 4096.0;

/// What `/proc` says of this process.
#[derive(Debug, Default, Clone, Copy)]
pub struct ProcessFacts {
    pub resident_bytes: Option<f64>,
    pub virtual_bytes: Option<f64>,
    pub cpu_seconds: Option<f64>,
    pub start_time_seconds: Option<f64>,
    pub open_fds: Option<f64>,
    pub max_fds: Option<f64>,
}

fn parse_f64(s: Option<&str>) -> Option<f64> {
    s?.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// `/proc/self/stat`: the fields after the command name (which may hold spaces and parens).
fn stat_fields(stat: &str) -> Vec<&str> {
    stat.rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default()
}

impl ProcessFacts {
    pub fn read() -> Self {
        let mut f = Self::default();
        if let Ok(statm) = std::fs::read_to_string("/proc/self/statm") {
            let mut it = statm.split_whitespace();
            f.virtual_bytes = parse_f64(it.next()).map(|p| p * PAGE_BYTES);
            f.resident_bytes = parse_f64(it.next()).map(|p| p * PAGE_BYTES);
        }
        if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
            // After the command: state is field 3, utime 14, stime 15, starttime 22 (1-based),
            // so 0-based in `fields` (which starts at state): 0, 11, 12, 19.
            let fields = stat_fields(&stat);
            let at = |i: usize| parse_f64(fields.get(i).copied());
            if let (Some(u), Some(s)) = (at(11), at(12)) {
                f.cpu_seconds = Some((u + s) / TICKS_PER_SECOND);
            }
            let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("btime "))
                    .and_then(|v| parse_f64(Some(v.trim())))
            });
            if let (Some(boot), Some(start)) = (boot, at(19)) {
                f.start_time_seconds = Some(boot + start / TICKS_PER_SECOND);
            }
        }
        if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
            let n = dir.count();
            f.open_fds = u32::try_from(n).ok().map(f64::from);
        }
        if let Ok(limits) = std::fs::read_to_string("/proc/self/limits") {
            f.max_fds = limits
                .lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| parse_f64(l.split_whitespace().nth(3)));
        }
        f
    }
}

/// The `process_*` families and the open client connections.
pub fn render(out: &mut String, open_connections: u64) {
    let facts = ProcessFacts::read();
    let families: [(&str, &str, &str, Option<f64>); 6] = [
        (
            "process_virtual_memory_bytes",
            "gauge",
            "Virtual memory size in bytes.",
            facts.virtual_bytes,
        ),
        (
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            facts.resident_bytes,
        ),
        (
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
            facts.start_time_seconds,
        ),
        (
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
            facts.cpu_seconds,
        ),
        (
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            facts.open_fds,
        ),
        (
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors.",
            facts.max_fds,
        ),
    ];
    for (name, kind, help, value) in families {
        if let Some(v) = value {
            header(out, name, kind, help);
            sample(out, name, "", None, v);
        }
    }
    header(
        out,
        "switchyard_open_connections",
        "gauge",
        "Client connections open right now",
    );
    sample(
        out,
        "switchyard_open_connections",
        "",
        None,
        super::u64_f(open_connections),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_skip_a_command_with_spaces_and_parens() {
        let stat = "42 (my (odd) cmd) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0 1234 0 0";
        let f = stat_fields(stat);
        assert_eq!(f.first(), Some(&"S"));
        assert_eq!(f.get(11), Some(&"250"));
        assert_eq!(f.get(12), Some(&"50"));
        assert_eq!(f.get(19), Some(&"1234"));
    }

    #[test]
    fn this_process_has_memory_and_descriptors() {
        let f = ProcessFacts::read();
        assert!(f.resident_bytes.is_some_and(|b| b > 0.0));
        assert!(f.open_fds.is_some_and(|n| n >= 1.0));
    }
}
