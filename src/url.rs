//! `ws://` and `wss://` URLs (RFC 6455 §3).

use std::fmt;

use crate::error::UrlError;

/// A parsed WebSocket URL.
#[derive(Clone, PartialEq, Eq)]
pub struct Url {
    /// True for `wss://` (and `https://`, accepted for redirects).
    pub secure: bool,
    /// The host name or IP address (IPv6 without brackets).
    pub host: String,
    /// The port (80 or 443 when not given).
    pub port: u16,
    /// The resource name: path and query, at least `/`.
    pub resource: String,
    /// User name and password from `user:pass@`, percent-decoded.
    pub userinfo: Option<(String, String)>,
}

impl Url {
    /// Parses `ws://host[:port][/path][?query]` or the `wss` form. `http`
    /// and `https` are read as `ws` and `wss` (redirect targets may use
    /// them). A fragment is an error (§3).
    ///
    /// ```
    /// let url = stdws::Url::parse("ws://example.com:9001/chat?room=1").unwrap();
    /// assert_eq!((url.host.as_str(), url.port, url.resource.as_str()), ("example.com", 9001, "/chat?room=1"));
    /// ```
    pub fn parse(text: &str) -> Result<Url, UrlError> {
        check_chars(text)?;
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| UrlError::Malformed("missing scheme".into()))?;
        let secure = match scheme.to_ascii_lowercase().as_str() {
            "ws" | "http" => false,
            "wss" | "https" => true,
            other => return Err(UrlError::UnsupportedScheme(other.to_owned())),
        };
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(split);
        let resource = match tail.as_bytes().first() {
            None => "/".to_owned(),
            Some(b'?') => format!("/{tail}"),
            _ => tail.to_owned(),
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((info, hp)) => {
                let (user, pass) = info.split_once(':').unwrap_or((info, ""));
                (Some((percent_decode(user)?, percent_decode(pass)?)), hp)
            }
            None => (None, authority),
        };
        let default_port = if secure { 443 } else { 80 };
        let (host, port) = split_host_port(hostport, default_port)?;
        Ok(Url {
            secure,
            host,
            port,
            resource,
            userinfo,
        })
    }

    /// The `Host` header value: the port is left out when it is the
    /// scheme's default; IPv6 addresses get their brackets back.
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default_port = if self.secure { 443 } else { 80 };
        if self.port == default_port {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// `scheme://host:port` with `ws`/`wss`, for comparing origins.
    pub fn origin(&self) -> String {
        format!(
            "{}://{}",
            if self.secure { "wss" } else { "ws" },
            self.host_header().to_ascii_lowercase()
        )
    }

    /// Resolves a `Location` value against this URL: absolute URLs as they
    /// are, `/path` against this host. Either is checked as [`Url::parse`]
    /// checks a URL: the server that sent it is not trusted.
    pub fn join(&self, location: &str) -> Result<Url, UrlError> {
        if location.starts_with('/') && !location.starts_with("//") {
            check_chars(location)?;
            let mut next = self.clone();
            next.resource = location.to_owned();
            return Ok(next);
        }
        Url::parse(location)
    }
}

impl fmt::Display for Url {
    /// The URL without its password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.secure { "wss" } else { "ws" };
        let user = match &self.userinfo {
            Some((u, _)) => format!("{u}@"),
            None => String::new(),
        };
        write!(
            f,
            "{scheme}://{user}{}{}",
            self.host_header(),
            self.resource
        )
    }
}

impl fmt::Debug for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Url({self})")
    }
}

/// Whitespace and control bytes would break the request line or the
/// `Host` field a URL is copied into; a fragment is never sent (RFC 6455 §3).
pub(crate) fn check_chars(text: &str) -> Result<(), UrlError> {
    if text.bytes().any(|b| b <= b' ' || b == 0x7F) {
        return Err(UrlError::Malformed(
            "URL contains whitespace or control characters".into(),
        ));
    }
    if text.contains('#') {
        return Err(UrlError::Malformed(
            "fragments are not allowed in WebSocket URLs".into(),
        ));
    }
    Ok(())
}

pub(crate) fn split_host_port(
    hostport: &str,
    default_port: u16,
) -> Result<(String, u16), UrlError> {
    let bad = || UrlError::InvalidHost(hostport.to_owned());
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        host.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
        match after {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty()
        || host.contains(['[', ']', '/', '\\', '%', ':']) && !hostport.starts_with('[')
    {
        return Err(bad());
    }
    let port = match port {
        None => default_port,
        Some(p) => p.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(bad)?,
    };
    Ok((host.to_owned(), port))
}

pub(crate) fn percent_decode(s: &str) -> Result<String, UrlError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .ok_or_else(|| UrlError::Malformed("bad percent escape".into()))?;
            out.push(
                u8::from_str_radix(hex, 16)
                    .map_err(|_| UrlError::Malformed("bad percent escape".into()))?,
            );
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| UrlError::Malformed("userinfo is not UTF-8".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_forms() {
        let u = Url::parse("ws://example.com").unwrap();
        assert_eq!(
            (u.secure, u.host.as_str(), u.port, u.resource.as_str()),
            (false, "example.com", 80, "/")
        );
        let u = Url::parse("wss://example.com/a/b?c=d").unwrap();
        assert_eq!(
            (u.secure, u.port, u.resource.as_str()),
            (true, 443, "/a/b?c=d")
        );
        let u = Url::parse("ws://127.0.0.1:9001?case=1").unwrap();
        assert_eq!((u.port, u.resource.as_str()), (9001, "/?case=1"));
        let u = Url::parse("ws://[::1]:8000/x").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.host_header()),
            ("::1", 8000, "[::1]:8000".to_owned())
        );
    }

    #[test]
    fn userinfo_is_decoded_and_hidden_in_display() {
        let u = Url::parse("ws://al%20ice:p%40ss@host/").unwrap();
        assert_eq!(u.userinfo, Some(("al ice".into(), "p@ss".into())));
        assert_eq!(u.to_string(), "ws://al ice@host/");
    }

    #[test]
    fn rejects_bad_urls() {
        assert_eq!(
            Url::parse("ftp://x/"),
            Err(UrlError::UnsupportedScheme("ftp".into()))
        );
        for bad in [
            "ws://",
            "ws://host:0/",
            "ws://host:99999/",
            "ws://host/#frag",
            "ws://ho st/",
            "host/path",
            "ws://[::1/",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn host_header_omits_default_ports() {
        assert_eq!(Url::parse("ws://h:80/").unwrap().host_header(), "h");
        assert_eq!(Url::parse("wss://h:443/").unwrap().host_header(), "h");
        assert_eq!(Url::parse("wss://h:80/").unwrap().host_header(), "h:80");
    }

    #[test]
    fn join_resolves_locations() {
        let base = Url::parse("wss://a.example:8443/x").unwrap();
        assert_eq!(
            base.join("/y?z").unwrap().to_string(),
            "wss://a.example:8443/y?z"
        );
        assert_eq!(base.join("ws://b/").unwrap().to_string(), "ws://b/");
    }

    #[test]
    fn join_refuses_a_location_that_would_break_the_request_line() {
        // Found by fuzz/url: a relative Location was copied unchecked.
        let base = Url::parse("wss://a.example/x").unwrap();
        for bad in ["/.\0", "/a b", "/a\tb", "/a#frag", "/\x7f"] {
            assert!(
                matches!(base.join(bad), Err(UrlError::Malformed(_))),
                "{bad:?}"
            );
        }
    }
}
