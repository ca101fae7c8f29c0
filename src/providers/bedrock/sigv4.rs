//! AWS Signature Version 4 for one request shape: a POST with a JSON body and no query, the
//! headers `content-type`, `host`, `x-amz-date` (and `x-amz-security-token`) signed. HMAC and
//! SHA-256 come from ring; only the canonical strings are ours, pinned by AWS's own test
//! vectors and a botocore-computed Bedrock vector below.

use ring::{digest, hmac};

use crate::providers::http_date::civil_from_days;
use crate::secret::Secret;

#[derive(Clone, Debug)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
}

/// `YYYYMMDD'T'HHMMSS'Z'` for unix seconds.
pub fn amz_date(unix: u64) -> String {
    let secs = i64::try_from(unix).unwrap_or(0);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        t / 3600,
        t % 3600 / 60,
        t % 60
    )
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            out.push(char::from(
                *DIGITS.get(usize::from(nibble)).unwrap_or(&b'0'),
            ));
        }
    }
    out
}

fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

fn hmac(key: &[u8], data: &str) -> hmac::Tag {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
}

/// RFC 3986 percent-encoding of everything but the unreserved characters (upper-case hex), as
/// AWS wants for a path segment.
pub fn uri_encode(s: &str) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len() + 8);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            for nibble in [b >> 4, b & 0x0f] {
                out.push(char::from(
                    *DIGITS.get(usize::from(nibble)).unwrap_or(&b'0'),
                ));
            }
        }
    }
    out
}

/// What is signed: the request as it goes on the wire.
pub struct Signable<'a> {
    /// Host as sent (with `:port` when not the scheme's default).
    pub host: &'a str,
    /// The path as sent (already percent-encoded once).
    pub path: &'a str,
    pub body: &'a [u8],
    pub region: &'a str,
    pub service: &'a str,
    pub unix_time: u64,
}

thread_local! {
    /// Each worker's signing keys of the day (four HMACs each), by access key, region and
    /// date: no lock shared by the workers, a handful of entries.
    static SIGNING_KEYS: std::cell::RefCell<Vec<(String, hmac::Key)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

fn signing_key(date: &str, region: &str, service: &str, creds: &Credentials) -> hmac::Key {
    let id = format!("{}/{date}/{region}/{service}", creds.access_key_id);
    let cached = SIGNING_KEYS.with(|keys| {
        keys.borrow()
            .iter()
            .find(|(k, _)| *k == id)
            .map(|(_, key)| key.clone())
    });
    if let Some(key) = cached {
        return key;
    }
    let k_date = hmac(
        format!("AWS4{}", creds.secret_access_key.expose()).as_bytes(),
        date,
    );
    let k_region = hmac(k_date.as_ref(), region);
    let k_service = hmac(k_region.as_ref(), service);
    let k_signing = hmac(k_service.as_ref(), "aws4_request");
    let key = hmac::Key::new(hmac::HMAC_SHA256, k_signing.as_ref());
    SIGNING_KEYS.with(|keys| {
        let mut keys = keys.borrow_mut();
        if keys.len() >= 16 {
            keys.clear();
        }
        keys.push((id, key.clone()));
    });
    key
}

/// The headers to add: `x-amz-date`, `x-amz-security-token` (temporary credentials) and
/// `authorization`.
pub fn sign(req: &Signable<'_>, creds: &Credentials) -> Vec<(String, String)> {
    let date_time = amz_date(req.unix_time);
    let date = date_time.get(..8).unwrap_or_default();
    let token = creds.session_token.as_ref().map(Secret::expose);
    let signed_headers = if token.is_some() {
        "content-type;host;x-amz-date;x-amz-security-token"
    } else {
        "content-type;host;x-amz-date"
    };
    // One buffer, no intermediate strings: this runs for every Bedrock request.
    let mut canonical = String::with_capacity(256 + req.path.len() + req.host.len());
    canonical.push_str("POST\n");
    // Non-S3 services sign the path encoded a second time; the path is already encoded (only
    // unreserved characters, `/` and `%XX`), so that second pass only turns `%` into `%25`.
    for c in req.path.chars() {
        if c == '%' {
            canonical.push_str("%25");
        } else {
            canonical.push(c);
        }
    }
    canonical.push_str("\n\ncontent-type:application/json\nhost:");
    canonical.push_str(req.host.trim());
    canonical.push_str("\nx-amz-date:");
    canonical.push_str(&date_time);
    canonical.push('\n');
    if let Some(t) = token {
        canonical.push_str("x-amz-security-token:");
        canonical.push_str(t.trim());
        canonical.push('\n');
    }
    canonical.push('\n');
    canonical.push_str(signed_headers);
    canonical.push('\n');
    canonical.push_str(&sha256_hex(req.body));
    let scope = format!("{date}/{}/{}/aws4_request", req.region, req.service);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{date_time}\n{scope}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let key = signing_key(date, req.region, req.service, creds);
    let signature = hex(hmac::sign(&key, string_to_sign.as_bytes()).as_ref());
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
        creds.access_key_id
    );
    let mut out = Vec::with_capacity(3);
    out.push(("x-amz-date".to_string(), date_time));
    if let Some(t) = token {
        out.push(("x-amz-security-token".into(), t.to_string()));
    }
    out.push(("authorization".into(), authorization));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2015-08-30T12:36:00Z, the time of AWS's SigV4 test suite.
    const SUITE_TIME: u64 = 1_440_938_160;

    fn creds(token: Option<&str>) -> Credentials {
        Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into()),
            session_token: token.map(|t| Secret::new(t.into())),
        }
    }

    fn signature(headers: &[(String, String)]) -> String {
        let auth = &headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .unwrap()
            .1;
        auth.rsplit("Signature=").next().unwrap().to_string()
    }

    #[test]
    fn dates_are_amz_dates() {
        assert_eq!(amz_date(SUITE_TIME), "20150830T123600Z");
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(1_709_251_199), "20240229T235959Z");
    }

    /// A Bedrock Converse call signed by botocore 1.43.11 (`SigV4Auth(creds, "bedrock",
    /// "us-east-1")`) at the suite's time: this signer must agree byte for byte.
    #[test]
    fn a_bedrock_request_is_signed_as_botocore_signs_it() {
        let body = br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#;
        let path = format!(
            "/model/{}/converse",
            uri_encode("anthropic.claude-3-haiku-20240307-v1:0")
        );
        assert_eq!(
            path,
            "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
        );
        let req = Signable {
            host: "bedrock-runtime.us-east-1.amazonaws.com",
            path: &path,
            body,
            region: "us-east-1",
            service: "bedrock",
            unix_time: SUITE_TIME,
        };
        let headers = sign(&req, &creds(None));
        assert_eq!(
            signature(&headers),
            "b2d89376425920647b8197be6560da5f53c4d9cc5ac66b56efafa43ba66c9022"
        );
        assert!(headers.iter().any(|(k, v)| k == "authorization"
            && v.contains("Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request")
            && v.contains("SignedHeaders=content-type;host;x-amz-date,")));
        let token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
        let headers = sign(&req, &creds(Some(token)));
        assert_eq!(
            signature(&headers),
            "175b8c2814136947b9d51f7ddcf69462591823766e6bacc6fea1a753f8ee4c76"
        );
        assert!(headers
            .iter()
            .any(|(k, v)| k == "x-amz-security-token" && v == token));
    }
}
