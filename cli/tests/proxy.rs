//! `stdws connect --proxy`: listed in the help, and a proxy that refuses
//! ends the command with a failure that carries the proxy's status. The
//! real proxies are driven by `scripts/interop-proxy.sh`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_stdws");

#[test]
fn connect_help_lists_proxy() {
    let out = Command::new(BIN)
        .args(["connect", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--proxy <URL>"), "{help}");
    assert!(help.contains("--no-proxy"), "{help}");
}

#[test]
fn a_refusing_proxy_ends_connect_non_zero_with_its_status() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let proxy = thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8];
        while !head.ends_with(b"\r\n\r\n") && tcp.read(&mut byte).unwrap() == 1 {
            head.push(byte[0]);
        }
        tcp.write_all(
            b"HTTP/1.1 407 Proxy Authentication Required\r\n\
              Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap();
        String::from_utf8(head).unwrap()
    });
    let out = Command::new(BIN)
        .args(["connect", "ws://ws.example:9001/"])
        .args(["--proxy", &format!("http://127.0.0.1:{port}")])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("407"), "{stderr}");
    assert!(stderr.contains("Basic"), "{stderr}");
    assert!(proxy
        .join()
        .unwrap()
        .starts_with("CONNECT ws.example:9001 HTTP/1.1\r\n"));
}
