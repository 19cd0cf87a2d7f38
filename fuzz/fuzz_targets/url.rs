//! `Url::parse` and `Url::join`: a client parses the URL it is given and,
//! following a redirect, the `Location` a server sends (hostile input).
//!
//! Input: one URL or `Location` value.
//!
//! Checks: no panic; a parsed or joined URL has a host without
//! whitespace, control bytes or URL delimiters, a port other than 0, and a
//! resource that starts with `/` and holds no whitespace, control byte or
//! fragment, so the request line and `Host` field built from it are well
//! formed; a URL without user information prints back to text that parses
//! to the same URL.

#![no_main]

use libfuzzer_sys::fuzz_target;
use stdws::Url;

fn check(url: &Url) {
    let clean = |s: &str| !s.bytes().any(|b| b <= b' ' || b == 0x7F);
    assert!(!url.host.is_empty() && clean(&url.host), "{url:?}");
    assert!(!url.host.contains(['/', '?', '#', '@']), "{url:?}");
    assert_ne!(url.port, 0);
    assert!(url.resource.starts_with('/'), "{url:?}");
    assert!(
        clean(&url.resource) && !url.resource.contains('#'),
        "{:?}",
        url.resource
    );
    assert!(clean(&url.host_header()));
    if url.userinfo.is_none() {
        assert_eq!(Url::parse(&url.to_string()).as_ref(), Ok(url));
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(url) = Url::parse(&text) {
        check(&url);
    }
    let base = Url::parse("wss://a.example:8443/dir/x?q").expect("valid base");
    if let Ok(url) = base.join(&text) {
        check(&url);
    }
});
