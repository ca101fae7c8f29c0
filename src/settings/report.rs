//! `switchyard check-config`: what the config resolved to, keys masked, and what was ignored.

use std::fmt::Write;

use super::cache::CacheBackend;
use super::notes::NoteKind;
use super::GatewayConfig;

fn seconds(x: Option<switchyard_actors::seconds::Seconds>) -> String {
    x.map_or_else(|| "-".into(), |s| format!("{s}s"))
}

pub fn render(cfg: &GatewayConfig) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "config: {} (valid)", cfg.source);
    let _ = writeln!(out, "\nmodel groups ({}):", cfg.groups.len());
    for g in &cfg.groups {
        let _ = writeln!(
            out,
            "  {} ({} deployment{})",
            g.name,
            g.deployments.len(),
            if g.deployments.len() == 1 { "" } else { "s" }
        );
        for d in &g.deployments {
            let d = cfg.deployment(*d);
            let s = &d.spec;
            let key = d
                .upstream
                .api_key
                .as_ref()
                .map_or_else(|| "none".to_string(), |k| k.masked());
            let _ = write!(
                out,
                "    - id={} model={} provider={} api_base={} api_key={}",
                d.id,
                d.model,
                d.kind.name(),
                if d.public_api_base().is_empty() {
                    "-"
                } else {
                    d.public_api_base()
                },
                key
            );
            let _ = write!(
                out,
                " timeout={} stream_timeout={}",
                seconds(d.timeout),
                seconds(d.stream_timeout)
            );
            for (name, v) in [
                ("weight", s.weight),
                ("rpm", s.rpm.map(|x| x as f64)),
                ("tpm", s.tpm.map(|x| x as f64)),
                ("order", s.order.map(|x| x as f64)),
            ] {
                if let Some(v) = v {
                    let _ = write!(out, " {name}={v}");
                }
            }
            if let Some(n) = s.num_retries.or(s.max_retries) {
                let _ = write!(out, " retries={n}");
            }
            if d.mock_response.is_some() {
                let _ = write!(out, " mock_response");
            }
            out.push('\n');
        }
    }
    if !cfg.aliases.is_empty() {
        let _ = writeln!(out, "\naliases:");
        for a in &cfg.aliases {
            let _ = writeln!(
                out,
                "  {} -> {}{}",
                a.name,
                cfg.group_name(a.group),
                if a.hidden { " (hidden)" } else { "" }
            );
        }
    }
    let r = &cfg.router;
    let _ = writeln!(out, "\nrouter: strategy={:?} num_retries={} retry_after={}s cooldown_time={}s allowed_fails={} max_fallbacks={}",
        r.strategy, r.num_retries, r.retry_after, r.cooldown_time,
        r.allowed_fails.map_or_else(|| "default".into(), |n| n.to_string()), r.max_fallbacks);
    let tables = [
        ("fallbacks", Some(&r.fallbacks)),
        (
            "context_window_fallbacks",
            r.context_window_fallbacks.as_ref(),
        ),
        (
            "content_policy_fallbacks",
            r.content_policy_fallbacks.as_ref(),
        ),
    ];
    for (name, table) in tables {
        let Some(t) = table else { continue };
        let mut entries: Vec<_> = t.by_group.iter().collect();
        entries.sort_by_key(|(g, _)| **g);
        for (g, targets) in entries {
            let names: Vec<&str> = targets.iter().map(|t| cfg.group_name(*t)).collect();
            let _ = writeln!(
                out,
                "  {name}: {} -> {}",
                cfg.group_name(*g),
                names.join(", ")
            );
        }
        if !t.wildcard.is_empty() {
            let names: Vec<&str> = t.wildcard.iter().map(|t| cfg.group_name(*t)).collect();
            let _ = writeln!(out, "  {name}: * -> {}", names.join(", "));
        }
    }
    let _ = writeln!(
        out,
        "auth: {}",
        cfg.master_key.as_ref().map_or_else(
            || "none (open gateway)".to_string(),
            |k| format!("master_key {}", k.masked())
        )
    );
    let _ = writeln!(out, "cache: {}", cache_line(cfg));
    let _ = writeln!(
        out,
        "shared router state: {}",
        cfg.shared_state.as_ref().map_or_else(
            || "none (each instance keeps its own cooldowns and rpm/tpm counts)".to_string(),
            |s| format!("redis {} (from {})", s.target.display, s.source)
        )
    );
    for (kind, title) in [
        (NoteKind::Unknown, "ignored keys"),
        (NoteKind::NotUsed, "accepted without effect"),
        (
            NoteKind::Differs,
            "behaves differently from LiteLLM, on purpose",
        ),
    ] {
        let notes: Vec<_> = cfg.notes.iter().filter(|n| n.kind == kind).collect();
        if notes.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{title}:");
        for n in notes {
            let _ = writeln!(out, "  {}: {}", n.path, n.message);
        }
    }
    out
}

fn cache_line(cfg: &GatewayConfig) -> String {
    let Some(c) = &cfg.cache else {
        return "off".into();
    };
    let backend = match &c.backend {
        CacheBackend::Local { max_items, .. } => format!("local (in-process, {max_items} entries)"),
        CacheBackend::Redis(t) => format!("redis {}", t.display),
    };
    let calls: Vec<&str> = [("chat", c.chat), ("embeddings", c.embeddings)]
        .iter()
        .filter(|(_, on)| *on)
        .map(|(n, _)| *n)
        .collect();
    format!(
        "{backend}, ttl {}s, namespace {}, {}, {}",
        c.ttl,
        c.namespace.as_deref().unwrap_or("none"),
        if calls.is_empty() {
            "no call types".to_string()
        } else {
            calls.join("+")
        },
        if c.default_on {
            "default_on"
        } else {
            "default_off (requests opt in)"
        }
    )
}
