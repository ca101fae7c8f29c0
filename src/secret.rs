//! Secrets that cannot be logged or printed by accident: Debug and Display show a mask; and the
//! one masking step (`redact`) that every text bound for a client or a log passes through:
//! error bodies, stream error events, raw upstream event lines, log lines. Upstreams echo keys
//! back in their error messages; a URL may carry `user:password@`.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};
use memchr::memmem;

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The real value, for the one place that must send it (an upstream header).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// `sk-****abcd` for long keys, `****` for short ones: enough to tell keys apart, not to use one.
pub fn mask(value: &str) -> String {
    if value.chars().count() >= 12 {
        let head: String = value.chars().take(3).collect();
        let mut tail: Vec<char> = value.chars().rev().take(4).collect();
        tail.reverse();
        let tail: String = tail.into_iter().collect();
        format!("{head}****{tail}")
    } else {
        "****".to_string()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.masked())
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.masked())
    }
}

/// Keys shorter than this are not masked by value ("none", "fake"): masking every "none" in a
/// message would hide more than it protects.
const MIN_MASKED_LEN: usize = 8;

/// What `redact` looks for, with its searchers built once per loaded config: the known
/// secrets and the markers of key-shaped text. Log lines pass through here, so the common case
/// (nothing found) must cost a few scans, not a parse, and the same few scans with 10,000
/// deployments' keys as with one: the secrets are one automaton (a key that contains another
/// is masked whole), not one search each.
struct Redactor {
    secrets: Option<(AhoCorasick, Vec<String>)>,
    markers: [memmem::Finder<'static>; 5],
}

impl Redactor {
    fn new(mut secrets: Vec<String>) -> Self {
        secrets.sort();
        secrets.dedup();
        let masks: Vec<String> = secrets.iter().map(|s| mask(s)).collect();
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&secrets);
        let secrets = match automaton {
            Ok(a) if !secrets.is_empty() => Some((a, masks)),
            Ok(_) => None,
            // Only a pattern set too large for the automaton's ids; the markers below still
            // mask every key-shaped token.
            Err(e) => {
                tracing::warn!(error = %e, "log masking: known secrets not searchable");
                None
            }
        };
        Self {
            secrets,
            markers: ["sk-", "AIza", "://", "key=", "@"]
                .map(|m| memmem::Finder::new(m).into_owned()),
        }
    }

    fn has(&self, text: &str, marker: usize) -> bool {
        self.markers
            .get(marker)
            .is_some_and(|f| f.find(text.as_bytes()).is_some())
    }
}

/// The loaded config's redactor. Replaced when a config is loaded; read on error paths and by
/// the log writer's thread.
static REDACTOR: RwLock<Option<Arc<Redactor>>> = RwLock::new(None);

/// The config's secrets, and the short-lived ones minted since (OAuth access tokens), newest
/// last; the minted list is bounded (an hourly token per deployment would otherwise grow it
/// forever, and a token that old has long expired).
static KNOWN: Mutex<(Vec<String>, VecDeque<String>)> = Mutex::new((Vec::new(), VecDeque::new()));
const MAX_MINTED: usize = 64;

fn rebuild(known: &(Vec<String>, VecDeque<String>)) {
    let list: Vec<String> = known.0.iter().chain(known.1.iter()).cloned().collect();
    *REDACTOR.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(Redactor::new(list)));
}

/// Makes `redact` mask these values (and forget the previous config's).
pub fn register(secrets: impl IntoIterator<Item = String>) {
    let list: Vec<String> = secrets
        .into_iter()
        .filter(|s| s.len() >= MIN_MASKED_LEN)
        .collect();
    let mut known = KNOWN.lock().unwrap_or_else(|p| p.into_inner());
    known.0 = list;
    rebuild(&known);
}

/// Adds a secret minted at run time (an access token) to what `redact` masks.
pub fn register_minted(secret: String) {
    if secret.len() < MIN_MASKED_LEN {
        return;
    }
    let mut known = KNOWN.lock().unwrap_or_else(|p| p.into_inner());
    if known.1.len() >= MAX_MINTED {
        known.1.pop_front();
    }
    known.1.push_back(secret);
    rebuild(&known);
}

fn redactor() -> Arc<Redactor> {
    let current = REDACTOR.read().unwrap_or_else(|p| p.into_inner()).clone();
    current.unwrap_or_else(|| Arc::new(Redactor::new(Vec::new())))
}

/// The password in a URL's `user:password@`, if any.
pub fn url_password(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    userinfo
        .split_once(':')
        .map(|(_, p)| p)
        .filter(|p| !p.is_empty())
}

/// `text` with every known secret, every key-shaped token (`sk-...`, Google `AIza...`), every
/// URL userinfo and every `key=` query value masked. Borrowed when there was nothing to mask.
pub fn redact(text: &str) -> Cow<'_, str> {
    let r = redactor();
    let mut out = Cow::Borrowed(text);
    if let Some((automaton, masks)) = &r.secrets {
        if automaton.is_match(text) {
            out = Cow::Owned(automaton.replace_all(text, masks));
        }
    }
    if r.has(&out, 0) || r.has(&out, 1) {
        out = Cow::Owned(mask_key_tokens(&out));
    }
    if r.has(&out, 2) && r.has(&out, 4) {
        out = Cow::Owned(mask_userinfo(&out));
    }
    if r.has(&out, 3) {
        out = Cow::Owned(mask_key_params(&out));
    }
    out
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Tokens that look like provider keys even when we do not know them.
fn mask_key_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(|c: char| is_token_char(c)) {
        let Some((before, from)) = rest.split_at_checked(at) else {
            break;
        };
        out.push_str(before);
        let end = from.find(|c: char| !is_token_char(c)).unwrap_or(from.len());
        let Some((token, after)) = from.split_at_checked(end) else {
            rest = from;
            break;
        };
        let looks_like_key = (token.starts_with("sk-") && token.len() >= 20)
            || (token.starts_with("AIza") && token.len() >= 30);
        if looks_like_key {
            out.push_str(&mask(token));
        } else {
            out.push_str(token);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// `text` with the span after every `marker`, up to the first character `stop` accepts,
/// replaced by what `mask` makes of it.
fn mask_after(
    text: &str,
    marker: &str,
    stop: impl Fn(char) -> bool,
    mask: impl Fn(&str) -> String,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        let Some((before, from)) = rest.split_at_checked(at + marker.len()) else {
            break;
        };
        out.push_str(before);
        let Some((span, after)) = from.split_at_checked(from.find(&stop).unwrap_or(from.len()))
        else {
            rest = from;
            break;
        };
        out.push_str(&mask(span));
        rest = after;
    }
    out.push_str(rest);
    out
}

/// `scheme://user:pass@host` becomes `scheme://****@host`.
fn mask_userinfo(text: &str) -> String {
    let stop = |c: char| matches!(c, '/' | '?' | '#' | '"') || c.is_whitespace();
    mask_after(text, "://", stop, |authority| {
        match authority.rsplit_once('@') {
            Some((_, host)) => format!("****@{host}"),
            None => authority.to_string(),
        }
    })
}

/// `?key=AIza...` / `&api_key=...` query values (Gemini takes its key in the URL).
fn mask_key_params(text: &str) -> String {
    let stop = |c: char| matches!(c, '&' | '#' | '"' | '\'') || c.is_whitespace();
    mask_after(text, "key=", stop, |value| {
        if value.is_empty() {
            String::new()
        } else {
            "****".to_string()
        }
    })
}

/// Constant-time comparison, so the master key cannot be guessed byte by byte from timings.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let s = Secret::new("sk-live-0123456789abcdef".into());
        assert_eq!(format!("{s:?}"), "sk-****cdef");
        assert_eq!(format!("{s}"), "sk-****cdef");
        assert_eq!(mask("short"), "****");
    }

    #[test]
    fn redact_masks_known_and_key_shaped_secrets() {
        register(["my-very-own-upstream-key".to_string(), "short".to_string()]);
        let text = "bad key my-very-own-upstream-key; also sk-proj-ABCDEFGHIJKLMNOPQRSTU and \
                    https://user:hunter22@host:8080/v1?key=AIzaSyABCDEFGHIJKLMNOPQRSTUVWXYZ012345&x=1 short";
        let out = redact(text);
        for leaked in [
            "my-very-own-upstream-key",
            "sk-proj-ABCDEFGHIJKLMNOPQRSTU",
            "hunter22",
            "AIzaSyABCDEFGHIJKLMNOPQRSTUVWXYZ012345",
        ] {
            assert!(!out.contains(leaked), "{leaked} in {out}");
        }
        assert!(out.contains("host:8080/v1"), "{out}");
        assert!(
            out.contains("short"),
            "short values are not masked by value"
        );
        assert!(matches!(redact("nothing to see"), Cow::Borrowed(_)));
        assert_eq!(
            url_password("redis://:pw12345678@h:6379"),
            Some("pw12345678")
        );
        assert_eq!(url_password("http://host/a@b"), None);

        // One pass over many keys; a key that contains another is masked whole, not in part.
        let mut keys: Vec<String> = (0..10_000)
            .map(|i| format!("upstream-key-{i:05}"))
            .collect();
        keys.push("upstream-key-00042-longer".into());
        register(keys);
        let out = redact("a upstream-key-09999 b upstream-key-00042-longer c");
        assert!(!out.contains("upstream-key-09999"), "{out}");
        assert!(
            !out.contains("longer"),
            "the longer key is masked whole: {out}"
        );
    }

    #[test]
    fn compares_whole_keys() {
        assert!(same_secret("sk-abc", "sk-abc"));
        assert!(!same_secret("sk-abc", "sk-abd"));
        assert!(!same_secret("sk-abc", "sk-abcd"));
    }
}
