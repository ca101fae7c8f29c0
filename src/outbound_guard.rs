//! Connections to addresses a client named (image URLs Gemini cannot fetch itself) go to public
//! addresses only: loopback, private, link-local, shared (CGNAT), multicast, unspecified and
//! documentation ranges are refused, so a client cannot make the gateway reach its metadata
//! service, Redis or the deployments behind it. The check is made on the addresses the name
//! resolves to, and the connection is made to exactly those addresses (a DNS answer cannot
//! change in between). Hosts an operator lists in `switchyard_settings.image_fetch.
//! allow_private_hosts` skip the check.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use actix_tls::connect::{
    ConnectError, ConnectInfo, Connection, Connector, ConnectorService, Resolver,
};
use actix_web::dev::Service;
use awc::http::Uri;
use futures_util::future::LocalBoxFuture;

/// Whether a client-named URL may reach this address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => public_v4(a),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => public_v4(v4),
            None => public_v6(a),
        },
    }
}

fn public_v4(a: Ipv4Addr) -> bool {
    let [o0, o1, o2, _] = a.octets();
    !(a.is_loopback()
        || a.is_private()
        || a.is_link_local()
        || a.is_multicast()
        || a.is_unspecified()
        || a.is_broadcast()
        || a.is_documentation()
        || o0 == 0
        // 100.64.0.0/10: carrier-grade NAT, often a cloud's internal network.
        || (o0 == 100 && (o1 & 0xc0) == 64)
        // 192.0.0.0/24: IETF protocol assignments; 198.18.0.0/15: benchmarking.
        || (o0 == 192 && o1 == 0 && o2 == 0)
        || (o0 == 198 && (o1 & 0xfe) == 18)
        // 240.0.0.0/4: reserved.
        || o0 >= 240)
}

fn public_v6(a: Ipv6Addr) -> bool {
    let first = a.segments().first().copied().unwrap_or(0);
    !(a.is_loopback()
        || a.is_unspecified()
        || a.is_multicast()
        // fc00::/7 unique local, fe80::/10 link-local, 2001:db8::/32 documentation.
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first == 0x2001 && a.segments().get(1) == Some(&0x0db8))
        // 64:ff9b::/96 NAT64 embeds IPv4 addresses: judged as the IPv4 address it carries.
        || (first == 0x64 && a.segments().get(1) == Some(&0xff9b) && {
            let o = a.octets();
            let v4 = Ipv4Addr::new(
                o.get(12).copied().unwrap_or(0),
                o.get(13).copied().unwrap_or(0),
                o.get(14).copied().unwrap_or(0),
                o.get(15).copied().unwrap_or(0),
            );
            !public_v4(v4)
        }))
}

/// awc's TCP connector, resolving names itself and connecting only to public addresses.
#[derive(Clone)]
pub struct PublicOnly {
    inner: ConnectorService,
    allow: Arc<[String]>,
}

impl PublicOnly {
    pub fn new(allow_private_hosts: &[String]) -> Self {
        Self {
            inner: Connector::new(Resolver::default()).service(),
            allow: allow_private_hosts.into(),
        }
    }
}

impl Service<ConnectInfo<Uri>> for PublicOnly {
    type Response = Connection<Uri, actix_web::rt::net::TcpStream>;
    type Error = ConnectError;
    type Future = LocalBoxFuture<'static, Result<Self::Response, ConnectError>>;

    actix_web::dev::always_ready!();

    fn call(&self, req: ConnectInfo<Uri>) -> Self::Future {
        let inner = self.inner.clone();
        let host = req
            .hostname()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let allowed_private = self.allow.contains(&host);
        Box::pin(async move {
            let port = req.port();
            let found: Vec<SocketAddr> = if req.addrs().len() > 0 {
                req.addrs().collect()
            } else if let Ok(ip) = host.parse::<IpAddr>() {
                vec![SocketAddr::new(ip, port)]
            } else {
                tokio::net::lookup_host((host.as_str(), port))
                    .await
                    .map_err(|e| ConnectError::Resolver(Box::new(e)))?
                    .collect()
            };
            let usable: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| allowed_private || is_public(a.ip()))
                .collect();
            if usable.is_empty() {
                return Err(ConnectError::Resolver(
                    "the address is not a public one".into(),
                ));
            }
            // Addresses set: the inner connector skips its own lookup and dials these.
            inner.call(req.set_addrs(usable)).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip} must be refused");
        }
        for ip in ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "64:ff9b::808:808"] {
            assert!(is_public(ip.parse().unwrap()), "{ip} is public");
        }
    }
}
