//! Smoke test of the `stdws` command over TLS with Digest authentication:
//! `stdws serve --tls-cert --tls-key --digest-auth --digest-auth-file` and
//! `stdws connect wss://… --ca --user-file` echo a line through each other.
#![cfg(all(unix, feature = "tls"))]

// The library's test certificates (made at test time).
#[path = "../../tests/tls_support/mod.rs"]
mod tls_support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use tls_support::certs::TestCa;
use tls_support::LIMIT;

/// Kills the process when dropped (also when the test fails).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Lines of a child's output, each waited for at most [`LIMIT`].
fn lines(out: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

#[test]
fn serve_over_tls_with_digest_and_connect_echo_a_line() {
    let dir = std::env::temp_dir().join(format!("stdws-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = TestCa::new("cli test CA");
    let leaf = ca.server(&["localhost"]);
    let (ca_file, cert, key) = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    std::fs::write(&ca_file, &ca.cert_pem).unwrap();
    std::fs::write(&cert, &leaf.chain_pem).unwrap();
    std::fs::write(&key, &leaf.key_pem).unwrap();
    let users = dir.join("users");
    std::fs::write(&users, "# test users\nalice:wonder land\n").unwrap();

    let bin = env!("CARGO_BIN_EXE_stdws");
    let mut serve = Command::new(bin)
        .args(["serve", "--addr", "127.0.0.1:0", "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .args(["--digest-auth", "bob:wonder bob"])
        .arg("--digest-auth-file")
        .arg(&users)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = lines(serve.stderr.take().unwrap());
    let _serve = Running(serve);
    let mut said = Vec::new();
    let port = loop {
        let line = log.recv_timeout(LIMIT).expect("serve prints its address");
        assert!(!line.contains("wonder"), "a password in the log: {line}");
        said.push(line.clone());
        if let Some(rest) = line.split("console https://127.0.0.1:").nth(1) {
            break rest.split('/').next().unwrap().to_owned();
        }
    };
    assert!(
        said.contains(&r#"stdws: Digest auth, realm "stdws", 2 users"#.to_owned()),
        "{said:?}"
    );

    let mut connect = Command::new(bin)
        .arg("connect")
        .arg(format!("wss://localhost:{port}/echo"))
        .arg("--ca")
        .arg(&ca_file)
        .arg("--user-file")
        .arg(&users)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = connect.stdin.take().unwrap();
    let echoed = lines(connect.stdout.take().unwrap());
    let said = lines(connect.stderr.take().unwrap());
    let mut connect = Running(connect);
    stdin.write_all("héllo over wss\n".as_bytes()).unwrap();
    assert_eq!(echoed.recv_timeout(LIMIT).unwrap(), "héllo over wss");
    // End of input closes with 1000; the command then exits 0.
    drop(stdin);
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(status) = connect.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "connect did not exit");
        thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
    // Everything it wrote to stderr, up to the end of the pipe.
    let mut all = Vec::new();
    while let Ok(line) = said.recv_timeout(LIMIT) {
        all.push(line);
    }
    let said = all;
    assert!(
        said.iter()
            .any(|l| l == &format!("stdws: connected to wss://localhost:{port}/echo")),
        "{said:?}"
    );
    assert!(said.iter().any(|l| l == "stdws: closed: 1000"), "{said:?}");
    assert!(!said.iter().any(|l| l.contains("wonder")), "{said:?}");
    // The server logged the connection, its close code and duration.
    let closed = loop {
        let line = log.recv_timeout(LIMIT).expect("serve logs the close");
        assert!(!line.contains("wonder"), "a password in the log: {line}");
        if line.contains(" /echo: closed ") {
            break line;
        }
    };
    assert!(closed.contains("INFO"), "{closed}");
    assert!(closed.contains("stdws::server"), "{closed}");
    assert!(closed.contains(": closed 1000 \"\" after "), "{closed}");
    let _ = std::fs::remove_dir_all(&dir);
}
