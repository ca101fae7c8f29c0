//! The ids and timestamps OpenAI answers carry.

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub fn random_hex(n: usize) -> String {
    (0..n)
        .map(|_| char::from_digit(fastrand::u32(..16), 16).unwrap_or('0'))
        .collect()
}

/// A `chatcmpl-` id: from the provider's own id when it has one, else random.
pub fn chat_id(provider_id: Option<&str>) -> String {
    match provider_id {
        Some(id) => format!("chatcmpl-{id}"),
        None => format!("chatcmpl-{}", random_hex(24)),
    }
}
