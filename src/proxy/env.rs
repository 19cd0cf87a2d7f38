//! The proxy for a URL from the environment, as curl reads it.
//!
//! `wss://` uses `https_proxy`, `ws://` uses `http_proxy`, and either falls
//! back to `all_proxy`; `no_proxy` lists the hosts reached directly. Each
//! variable is read in lower case first, then upper case (`HTTPS_PROXY`,
//! ...); an empty value counts as unset.
//!
//! [`NoProxy`] follows curl's `lib/noproxy.c`: entries separated by commas
//! or blanks; `*` matches every host; a host name matches itself and every
//! name below it (`example.com` and `.example.com` both match
//! `example.com` and `ws.example.com`, never `notexample.com`), ignoring
//! case and a trailing dot; an IP address matches an entry that is the same
//! address or a CIDR range containing it (`10.0.0.0/8`, `fd00::/8`), and
//! host names never match IP entries (no name is resolved). Two additions
//! to curl, as Go's `httpproxy` and Python's `urllib` have them: an entry
//! may end in a port (`example.com:8080`, `[::1]:9001`, `10.0.0.1:80`) and
//! then matches that port only, and `*.example.com` reads as
//! `.example.com`.

use std::net::IpAddr;

use super::Proxy;
use crate::error::ProxyError;
use crate::url::Url;

/// A parsed `no_proxy` list.
///
/// ```
/// use stdws::proxy::env::NoProxy;
/// let list = NoProxy::parse("localhost, .internal.example, 10.0.0.0/8, example.org:8080");
/// assert!(list.matches("ws.internal.example", 443));
/// assert!(list.matches("10.1.2.3", 80));
/// assert!(list.matches("example.org", 8080));
/// assert!(!list.matches("example.org", 443));
/// assert!(!list.matches("internal.example.com", 443));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoProxy {
    all: bool,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// A host name (lower case, without leading or trailing dots).
    Name(String, Option<u16>),
    /// An address and the number of leading bits that must match; `None`
    /// bits: an out-of-range prefix length, which matches nothing.
    Net(IpAddr, Option<u8>, Option<u16>),
}

impl NoProxy {
    /// Parses a `no_proxy` value. Entries that cannot be read are skipped
    /// (they match nothing, as in curl).
    pub fn parse(list: &str) -> NoProxy {
        let mut out = NoProxy::default();
        for token in list.split([',', ' ', '\t']).filter(|t| !t.is_empty()) {
            if token == "*" {
                out.all = true;
            } else if let Some(entry) = parse_entry(token) {
                out.entries.push(entry);
            }
        }
        out
    }

    /// True when `host` (as in a URL, IPv6 without brackets) on `port` is
    /// to be reached directly.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        if self.all {
            return true;
        }
        let port_ok = |p: &Option<u16>| p.map_or(true, |p| p == port);
        match host.parse::<IpAddr>() {
            Ok(ip) => self.entries.iter().any(|e| match e {
                Entry::Net(net, bits, p) => port_ok(p) && in_net(ip, *net, *bits),
                Entry::Name(..) => false,
            }),
            Err(_) => {
                let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
                self.entries.iter().any(|e| match e {
                    Entry::Name(name, p) => {
                        port_ok(p)
                            && (host == *name
                                || host
                                    .strip_suffix(name.as_str())
                                    .is_some_and(|rest| rest.ends_with('.')))
                    }
                    Entry::Net(..) => false,
                })
            }
        }
    }
}

/// One entry: `[v6]:port`, `[v6]`, `v6[/bits]`, `v4[/bits][:port]`,
/// `name[:port]`.
fn parse_entry(token: &str) -> Option<Entry> {
    let (body, port) = split_port(token)?;
    let (addr, bits) = match body.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (body, None),
    };
    if let Ok(ip) = addr.parse::<IpAddr>() {
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            None => Some(max),
            Some(b) => b.parse::<u8>().ok().filter(|&b| b <= max),
        };
        return Some(Entry::Net(ip, bits, port));
    }
    if bits.is_some() {
        return None;
    }
    let name = body.strip_prefix('*').unwrap_or(body);
    let name = name.trim_matches('.').to_ascii_lowercase();
    (!name.is_empty()).then_some(Entry::Name(name, port))
}

/// Splits a trailing `:port` off an entry; a bare IPv6 address (more than
/// one `:`) has none. `None`: a port that is not a number.
fn split_port(token: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = token.strip_prefix('[') {
        let (addr, after) = rest.split_once(']')?;
        return match after {
            "" => Some((addr, None)),
            p => Some((addr, Some(p.strip_prefix(':')?.parse().ok()?))),
        };
    }
    match token.rsplit_once(':') {
        Some((body, p)) if !body.contains(':') => Some((body, Some(p.parse().ok()?))),
        _ => Some((token, None)),
    }
}

fn in_net(ip: IpAddr, net: IpAddr, bits: Option<u8>) -> bool {
    let Some(bits) = bits else { return false };
    let (a, b, len) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b)), 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    let shift = len - u32::from(bits);
    shift >= len || (a >> shift) == (b >> shift)
}

/// The proxy the environment gives for `url`, or `None` for a direct
/// connection.
pub fn from_env(url: &Url) -> Result<Option<Proxy>, ProxyError> {
    select(url, |name| std::env::var(name).ok())
}

/// [`from_env`] with the variables read through `var`.
pub fn select(
    url: &Url,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Option<Proxy>, ProxyError> {
    let lookup = |names: &[&'static str]| {
        names
            .iter()
            .find_map(|&n| var(n).filter(|v| !v.trim().is_empty()).map(|v| (n, v)))
    };
    let scheme_vars: &[&str] = if url.secure {
        &["https_proxy", "HTTPS_PROXY"]
    } else {
        &["http_proxy", "HTTP_PROXY"]
    };
    let Some((name, value)) = lookup(scheme_vars).or_else(|| lookup(&["all_proxy", "ALL_PROXY"]))
    else {
        return Ok(None);
    };
    if let Some((_, list)) = lookup(&["no_proxy", "NO_PROXY"]) {
        if NoProxy::parse(&list).matches(&url.host, url.port) {
            return Ok(None);
        }
    }
    // The value is not repeated: it may hold a password.
    Proxy::parse(value.trim())
        .map(Some)
        .map_err(|e| ProxyError::InvalidUrl(format!("${name}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::ProxyKind;

    #[test]
    fn no_proxy_matches_like_curl() {
        // (list, host, port, expected)
        let table: &[(&str, &str, u16, bool)] = &[
            ("*", "anything.example", 443, true),
            ("", "example.com", 80, false),
            ("example.com", "example.com", 80, true),
            ("example.com", "EXAMPLE.com.", 80, true),
            ("example.com", "ws.example.com", 80, true),
            ("example.com", "notexample.com", 80, false),
            ("example.com", "example.com.evil", 80, false),
            (".example.com", "example.com", 80, true),
            (".example.com", "a.b.example.com", 80, true),
            ("*.example.com", "a.example.com", 80, true),
            ("example.com.", "ws.example.com", 80, true),
            ("a.example.com", "example.com", 80, false),
            ("localhost , other", "other", 80, true),
            ("localhost,,other", "localhost", 80, true),
            ("localhost other", "other", 80, true),
            ("example.com:8080", "example.com", 8080, true),
            ("example.com:8080", "example.com", 8081, false),
            ("example.com:x", "example.com", 80, false),
            ("127.0.0.1", "127.0.0.1", 9001, true),
            ("127.0.0.1", "127.0.0.2", 9001, false),
            ("127.0.0.1:9001", "127.0.0.1", 9001, true),
            ("127.0.0.1:9001", "127.0.0.1", 9002, false),
            ("10.0.0.0/8", "10.200.3.4", 80, true),
            ("10.0.0.0/8", "11.0.0.1", 80, false),
            ("192.168.1.0/24", "192.168.1.77", 80, true),
            ("192.168.1.0/24", "192.168.2.1", 80, false),
            ("0.0.0.0/0", "8.8.8.8", 80, true),
            ("10.0.0.0/33", "10.0.0.0", 80, false),
            ("::1", "::1", 80, true),
            ("[::1]", "::1", 80, true),
            ("[::1]:9001", "::1", 9001, true),
            ("[::1]:9001", "::1", 9002, false),
            ("fd00::/8", "fd12:3456::1", 80, true),
            ("fd00::/8", "fe80::1", 80, false),
            ("127.0.0.1", "::1", 80, false),
            // Host names never match addresses, nor addresses names.
            ("localhost", "127.0.0.1", 80, false),
            ("127.0.0.1", "localhost", 80, false),
            ("127.0.0.0/8", "localhost", 80, false),
            // curl: a lone `*` only as the whole value; Go: any entry.
            ("example.com, *", "other.org", 80, true),
        ];
        for &(list, host, port, expected) in table {
            assert_eq!(
                NoProxy::parse(list).matches(host, port),
                expected,
                "no_proxy={list:?} host={host:?} port={port}"
            );
        }
    }

    fn vars<'a>(pairs: &'a [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    fn chosen(url: &str, pairs: &[(&'static str, &'static str)]) -> Option<String> {
        let url = Url::parse(url).unwrap();
        select(&url, vars(pairs)).unwrap().map(|p| p.to_string())
    }

    #[test]
    fn the_scheme_picks_the_variable_then_all_proxy() {
        let env = [
            ("HTTPS_PROXY", "http://tls-proxy:1"),
            ("HTTP_PROXY", "http://plain-proxy:2"),
            ("ALL_PROXY", "socks5h://all:3"),
        ];
        assert_eq!(
            chosen("wss://s/", &env).as_deref(),
            Some("http://tls-proxy:1")
        );
        assert_eq!(
            chosen("ws://s/", &env).as_deref(),
            Some("http://plain-proxy:2")
        );
        let only_all = [("ALL_PROXY", "socks5h://all:3")];
        assert_eq!(
            chosen("wss://s/", &only_all).as_deref(),
            Some("socks5h://all:3")
        );
        assert_eq!(chosen("ws://s/", &[]), None);
    }

    #[test]
    fn lower_case_comes_first_and_empty_is_unset() {
        let env = [
            ("http_proxy", "http://lower:1"),
            ("HTTP_PROXY", "http://upper:2"),
        ];
        assert_eq!(chosen("ws://s/", &env).as_deref(), Some("http://lower:1"));
        let env = [("http_proxy", ""), ("HTTP_PROXY", "http://upper:2")];
        assert_eq!(chosen("ws://s/", &env).as_deref(), Some("http://upper:2"));
        let env = [
            ("all_proxy", "socks5://lower:1"),
            ("ALL_PROXY", "socks5://upper:2"),
        ];
        assert_eq!(
            chosen("wss://s/", &env).as_deref(),
            Some("socks5://lower:1")
        );
    }

    #[test]
    fn no_proxy_bypasses_in_either_case() {
        let env = [("HTTP_PROXY", "http://p:1"), ("no_proxy", "s.example")];
        assert_eq!(chosen("ws://ws.s.example/", &env), None);
        assert!(chosen("ws://other.example/", &env).is_some());
        let env = [("HTTP_PROXY", "http://p:1"), ("NO_PROXY", "127.0.0.0/8")];
        assert_eq!(chosen("ws://127.0.0.1:9001/", &env), None);
        // Lower case first: an upper-case list is not merged in.
        let env = [
            ("HTTP_PROXY", "http://p:1"),
            ("no_proxy", "a.example"),
            ("NO_PROXY", "b.example"),
        ];
        assert!(chosen("ws://b.example/", &env).is_some());
    }

    #[test]
    fn a_bad_variable_is_an_error_that_names_it_not_its_password() {
        let url = Url::parse("ws://s/").unwrap();
        let err = select(&url, vars(&[("http_proxy", "gopher://u:hunter2@p")])).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("$http_proxy"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        let p = select(&url, vars(&[("http_proxy", " socks5://p ")]))
            .unwrap()
            .unwrap();
        assert_eq!(p.kind, ProxyKind::Socks5);
    }
}
