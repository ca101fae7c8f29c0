//! What the loader noticed about keys: ignored, accepted without effect, or behaving
//! differently from LiteLLM. Printed as warnings at start-up and by `check-config`.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoteKind {
    /// Not a key Switchyard or LiteLLM knows here: ignored.
    Unknown,
    /// A LiteLLM key Switchyard accepts but does not act on (yet).
    NotUsed,
    /// A LiteLLM key Switchyard acts on differently, on purpose.
    Differs,
}

#[derive(Clone, Debug)]
pub struct Note {
    pub path: String,
    pub kind: NoteKind,
    pub message: String,
}

#[derive(Default, Debug)]
pub struct Notes(pub Vec<Note>);

impl Notes {
    fn push(&mut self, path: &str, kind: NoteKind, message: &str) {
        self.0.push(Note {
            path: path.to_string(),
            kind,
            message: message.to_string(),
        });
    }

    pub fn unknown(&mut self, path: &str, message: &str) {
        self.push(path, NoteKind::Unknown, message)
    }

    pub fn not_used(&mut self, path: &str, message: &str) {
        self.push(path, NoteKind::NotUsed, message)
    }

    pub fn differs(&mut self, path: &str, message: &str) {
        self.push(path, NoteKind::Differs, message)
    }

    /// Notes each key of a section that is neither `used` nor `not_used`.
    pub fn check_keys(
        &mut self,
        map: &serde_json::Map<String, serde_json::Value>,
        section: &str,
        used: &[&str],
        not_used: &[&str],
    ) {
        for key in map.keys() {
            let path = format!("{section}.{key}");
            if used.contains(&key.as_str()) {
                continue;
            }
            if not_used.contains(&key.as_str()) {
                self.not_used(
                    &path,
                    "accepted, not implemented in Switchyard yet: ignored",
                );
            } else if let Some(close) = used.iter().chain(not_used).find(|k| near_miss(key, k)) {
                self.unknown(
                    &path,
                    &format!("unknown key, ignored (did you mean `{close}`?)"),
                );
            } else {
                self.unknown(&path, "unknown key, ignored");
            }
        }
    }
}

/// Catches the usual typos: a missing or extra trailing letter, or one letter changed.
fn near_miss(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > 1 || a == b {
        return false;
    }
    let (short, long) = if a.len() <= b.len() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    let i = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    let from = |v: &[char], at: usize| -> Vec<char> { v.get(at..).unwrap_or_default().to_vec() };
    if short.len() == long.len() {
        from(short, i + 1) == from(long, i + 1)
    } else {
        from(short, i) == from(long, i + 1)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn near_miss_catches_the_seed_typo() {
        assert!(super::near_miss(
            "enable_pre_call_check",
            "enable_pre_call_checks"
        ));
        assert!(!super::near_miss("timeout", "stream_timeout"));
    }
}
