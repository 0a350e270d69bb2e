//! Who is at the other end of a request: the connection's two addresses,
//! the client's address behind trusted reverse proxies (`--trusted-proxy`,
//! for per-client rate limits), and the base of absolute links, which takes
//! the `Host` header only when it can be trusted.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::ConnectInfo;
use axum::extract::{FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

use super::AppState;

/// Both ends of a TCP connection, recorded when it is accepted
/// (`server::serve`).
#[derive(Debug, Clone, Copy)]
pub struct Connection {
    /// The connecting address: the client, or a proxy in front of it.
    pub peer: SocketAddr,
    /// The address the connection came in on.
    pub local: Option<SocketAddr>,
}

/// The client's address as [`resolve_client`] found it.
#[derive(Debug, Clone, Copy)]
struct ClientAddr(IpAddr);

/// The client's address, for per-client rate limits: the connecting
/// address, or the one a trusted proxy forwarded.
pub(super) fn client_ip(ext: &axum::http::Extensions) -> IpAddr {
    if let Some(ClientAddr(ip)) = ext.get::<ClientAddr>() {
        return *ip;
    }
    ext.get::<ConnectInfo<Connection>>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |c| {
            c.0.peer.ip().to_canonical()
        })
}

/// The client's address ([`client_ip`]) as an extractor.
pub struct Client(pub IpAddr);

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Client(client_ip(&parts.extensions)))
    }
}

/// Middleware: records the client's address for [`client_ip`].
pub(super) async fn resolve_client(
    trusted: Arc<[IpNet]>,
    mut req: Request,
    next: Next,
) -> Response {
    if let Some(ConnectInfo(c)) = req.extensions().get::<ConnectInfo<Connection>>() {
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect::<Vec<_>>();
        let ip = client_behind(c.peer.ip(), &forwarded, &trusted);
        req.extensions_mut().insert(ClientAddr(ip));
    }
    next.run(req).await
}

/// The client's address when `peer` connected and `forwarded` lists the
/// `X-Forwarded-For` entries, first to last. Only a trusted proxy's header
/// counts, and only its rightmost entries: each proxy appends the address
/// it saw, so everything left of the first untrusted one may be made up.
fn client_behind(peer: IpAddr, forwarded: &[&str], trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(&ip));
    let mut client = peer.to_canonical();
    for entry in forwarded.iter().rev() {
        if !is_trusted(client) {
            break;
        }
        let entry = entry.trim();
        let Some(ip) = entry
            .parse::<IpAddr>()
            .ok()
            .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        else {
            // Garbage: the last proxy that spoke is the best we know.
            break;
        };
        client = ip.to_canonical();
    }
    client
}

/// The base of absolute links (TileJSON, OGC API): `--public-url`, else
/// `http://` and the `Host` header if it names this server, else the
/// address the connection came in on. Another Host is not repeated, so a
/// request cannot make the service hand out links to someone else's site.
#[derive(Debug, Clone)]
pub(super) struct LinkBase(pub String);

impl FromRequestParts<AppState> for LinkBase {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(url) = &state.settings.public_url {
            return Ok(LinkBase(url.clone()));
        }
        let local = parts
            .extensions
            .get::<ConnectInfo<Connection>>()
            .and_then(|c| c.0.local);
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| names_this_server(h, local));
        Ok(LinkBase(match (host, local) {
            (Some(host), _) => format!("http://{host}"),
            (None, Some(local)) => format!("http://{local}"),
            (None, None) => "http://localhost".into(),
        }))
    }
}

/// Whether a `Host` header names a loopback host (any port: a tunnel may
/// forward one) or exactly the address the connection came in on.
fn names_this_server(host: &str, local: Option<SocketAddr>) -> bool {
    let Ok(authority) = host.parse::<axum::http::uri::Authority>() else {
        return false;
    };
    let name = authority.host();
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let Ok(ip) = bare.parse::<IpAddr>() else {
        return false;
    };
    if ip.is_loopback() {
        return true;
    }
    local.is_some_and(|local| {
        ip.to_canonical() == local.ip().to_canonical()
            && authority.port_u16().unwrap_or(80) == local.port()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn only_a_trusted_proxy_is_believed() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let trusted = nets(&["10.0.0.0/8", "192.0.2.1/32"]);
        // An untrusted peer: the header is ignored.
        assert_eq!(
            client_behind(ip("203.0.113.9"), &["198.51.100.1"], &trusted),
            ip("203.0.113.9")
        );
        // A trusted peer: the rightmost untrusted entry, whatever the client prepended.
        assert_eq!(
            client_behind(
                ip("192.0.2.1"),
                &["1.1.1.1", " 198.51.100.7", "10.1.2.3"],
                &trusted
            ),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_behind(ip("10.0.0.5"), &["[2001:db8::1]:4711"], &trusted),
            ip("2001:db8::1")
        );
        // Nothing forwarded, or garbage: the last trusted hop.
        assert_eq!(client_behind(ip("10.0.0.5"), &[], &trusted), ip("10.0.0.5"));
        assert_eq!(
            client_behind(ip("10.0.0.5"), &["unknown", "10.0.0.6"], &trusted),
            ip("10.0.0.6")
        );
        // IPv4 peers on an IPv6 socket still match IPv4 networks.
        assert_eq!(
            client_behind(ip("::ffff:10.0.0.5"), &["198.51.100.7"], &trusted),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn only_this_servers_names_are_used_for_links() {
        let local = Some(SocketAddr::from(([192, 168, 1, 5], 8080)));
        for ok in [
            "localhost:8080",
            "LOCALHOST",
            "127.0.0.1:9",
            "[::1]:8080",
            "192.168.1.5:8080",
        ] {
            assert!(names_this_server(ok, local), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8080",
            "192.168.1.5",
            "192.168.1.6:8080",
            "localhost.evil.example",
            "a b",
            "",
        ] {
            assert!(!names_this_server(bad, local), "{bad}");
        }
    }
}
