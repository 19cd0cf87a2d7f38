//! Quiet clients give their read buffer back (`Config::idle_release`) and
//! lose nothing by it: a message cut by a quiet spell arrives whole, a
//! client quiet past the release keeps echoing, and the read timeout still
//! decides when an idle client is let go.

mod support;

use std::io::{Read, Write};
use std::thread::sleep;
use std::time::{Duration, Instant};

use stdws::{Client, Config, Error, Handler, Message, Server};
use support::{close_code_of, masked, raw_handshake, read_to_end, upgrade_request};

const RELEASE: Duration = Duration::from_millis(50);

struct Echo;

impl Handler for Echo {
    fn on_message(&self, client: &Client, message: Message) -> Result<(), Error> {
        client.send(message)
    }
}

fn server(config: Config) -> Server {
    Server::builder()
        .config(config.idle_release(Some(RELEASE)))
        .fallback(Echo)
        .bind("127.0.0.1:0")
        .unwrap()
}

/// The unmasked server frame of a final text message.
fn text_frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x81];
    match payload.len() {
        n @ 0..=125 => frame.push(n as u8),
        n => {
            frame.push(126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    frame.extend_from_slice(payload);
    frame
}

fn read_exactly(s: &mut std::net::TcpStream, n: usize) -> Vec<u8> {
    let mut got = vec![0; n];
    s.read_exact(&mut got).unwrap();
    got
}

#[test]
fn a_client_quiet_past_the_release_keeps_echoing() {
    let server = server(Config::default());
    let (mut s, head) = raw_handshake(
        server.local_addr(),
        &upgrade_request(server.local_addr(), "/"),
    );
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    // Small and large messages, each after a pause longer than the release.
    for (pause, len) in [(0, 10), (150, 70), (150, 5000), (150, 3), (0, 5000)] {
        sleep(Duration::from_millis(pause));
        let payload: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
        s.write_all(&masked(0x81, &payload)).unwrap();
        let want = text_frame(&payload);
        assert_eq!(
            read_exactly(&mut s, want.len()),
            want,
            "{len} bytes after {pause} ms"
        );
    }
}

#[test]
fn a_frame_cut_by_a_quiet_spell_arrives_whole() {
    let server = server(Config::default());
    let (mut s, _) = raw_handshake(
        server.local_addr(),
        &upgrade_request(server.local_addr(), "/"),
    );
    let payload: Vec<u8> = (0..3000).map(|i| b'A' + (i % 26) as u8).collect();
    let wire = masked(0x81, &payload);
    // Cut inside the header, then inside the payload, each followed by a
    // pause long enough for the release to fire.
    for piece in [&wire[..3], &wire[3..1500], &wire[1500..]] {
        s.write_all(piece).unwrap();
        sleep(Duration::from_millis(150));
    }
    let want = text_frame(&payload);
    assert_eq!(read_exactly(&mut s, want.len()), want);
}

#[test]
fn the_read_timeout_not_the_release_lets_an_idle_client_go() {
    let read_timeout = Duration::from_millis(600);
    let server = server(Config::default().read_timeout(Some(read_timeout)));
    let (mut s, _) = raw_handshake(
        server.local_addr(),
        &upgrade_request(server.local_addr(), "/"),
    );
    s.write_all(&masked(0x81, b"hi")).unwrap();
    assert_eq!(read_exactly(&mut s, 4), text_frame(b"hi"));
    let quiet = Instant::now();
    let rest = read_to_end(&mut s);
    let waited = quiet.elapsed();
    // 1001 "idle timeout" (RFC 6455 §7.4.1), after the read timeout and
    // not at the release.
    assert_eq!(close_code_of(&rest), Some(1001), "{rest:?}");
    assert!(
        waited >= read_timeout - Duration::from_millis(50),
        "let go after {waited:?}"
    );
    assert!(waited < read_timeout * 4, "let go only after {waited:?}");
}

/// Works with 96 KiB on its thread's stack, answers with a checksum, and
/// tells where on that stack it worked.
#[cfg(target_os = "linux")]
struct Deep(std::sync::Arc<std::sync::atomic::AtomicUsize>);

#[cfg(target_os = "linux")]
impl Handler for Deep {
    fn on_message(&self, client: &Client, message: Message) -> Result<(), Error> {
        let seed = message.as_bytes().first().copied().unwrap_or(0);
        let mut deep = [0u8; 96 << 10];
        std::hint::black_box(&mut deep);
        for (i, b) in deep.iter_mut().enumerate() {
            *b = (i as u8) ^ seed;
        }
        std::hint::black_box(&mut deep);
        let sum: u64 = deep.iter().map(|&b| u64::from(b)).sum();
        self.0
            .store(deep.as_ptr() as usize, std::sync::atomic::Ordering::SeqCst);
        client.send(Message::Text(sum.to_string()))
    }
}

/// The resident size of the mapping holding `addr`, from /proc/self/smaps.
#[cfg(target_os = "linux")]
fn resident_kib_of_mapping_at(addr: usize) -> u64 {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
    let mut inside = false;
    for line in smaps.lines() {
        let range = line.split_whitespace().next().unwrap_or("");
        if let Some((a, b)) = range.split_once('-') {
            if let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) {
                inside = a <= addr && addr < b;
                continue;
            }
        }
        if inside {
            if let Some(kib) = line.strip_prefix("Rss:") {
                return kib.trim().trim_end_matches("kB").trim().parse().unwrap();
            }
        }
    }
    panic!("no mapping holds {addr:#x}")
}

/// A server whose clients run [`Deep`], the address it reports, and a
/// client connected to it.
#[cfg(target_os = "linux")]
fn deep_server(
    release: Duration,
) -> (
    Server,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
    std::net::TcpStream,
) {
    let at = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let server = Server::builder()
        .config(Config::default().idle_release(Some(release)))
        .fallback(Deep(std::sync::Arc::clone(&at)))
        .bind("127.0.0.1:0")
        .unwrap();
    let (s, _) = raw_handshake(
        server.local_addr(),
        &upgrade_request(server.local_addr(), "/"),
    );
    (server, at, s)
}

/// The frame a [`Deep`] client answers `seed` with.
#[cfg(target_os = "linux")]
fn deep_answer(seed: u8) -> Vec<u8> {
    let sum: u64 = (0..96usize << 10)
        .map(|i| u64::from((i as u8) ^ seed))
        .sum();
    text_frame(sum.to_string().as_bytes())
}

/// Sends `seed` to a [`Deep`] client and checks its answer.
#[cfg(target_os = "linux")]
fn deep_round(s: &mut std::net::TcpStream, seed: u8, want: &[u8]) {
    s.write_all(&masked(0x81, &[seed])).unwrap();
    assert_eq!(read_exactly(s, want.len()), want, "seed {seed}");
}

/// Polls the resident size at `addr` until it is at least 64 KiB below
/// `busy`, for up to `patience`; returns the last figure.
#[cfg(target_os = "linux")]
fn resident_after_release(addr: usize, busy: u64, patience: Duration) -> u64 {
    let start = Instant::now();
    loop {
        let now = resident_kib_of_mapping_at(addr);
        if now + 64 <= busy || start.elapsed() > patience {
            return now;
        }
        sleep(Duration::from_millis(20));
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_quiet_client_gives_back_the_stack_its_handler_used_and_works_on() {
    let (_server, at, mut s) = deep_server(RELEASE);
    deep_round(&mut s, 7, &deep_answer(7));
    let stack = at.load(std::sync::atomic::Ordering::SeqCst);
    let busy = resident_kib_of_mapping_at(stack);
    assert!(busy >= 96, "the handler's array is resident: {busy} KiB");
    // Quiet past the release: the pages below the idle read go back.
    let quiet = resident_after_release(stack, busy, Duration::from_secs(4));
    assert!(
        quiet + 64 <= busy,
        "still {quiet} KiB resident after quiet spells, {busy} KiB busy"
    );
    // The thread goes as deep again, on zeroed pages, and gets it right.
    deep_round(&mut s, 42, &deep_answer(42));
}

#[cfg(target_os = "linux")]
#[test]
fn a_busy_client_waits_without_the_alarm_until_a_pause_sets_it_again() {
    // Events count as close together within a sixteenth of the release:
    // 50 ms here, far more than a round takes (answers worked out first).
    let release = Duration::from_millis(800);
    let answers: Vec<Vec<u8>> = (0..=20).map(deep_answer).collect();
    let (_server, at, mut s) = deep_server(release);
    for seed in 0..20 {
        deep_round(&mut s, seed, &answers[usize::from(seed)]);
    }
    let stack = at.load(std::sync::atomic::Ordering::SeqCst);
    let busy = resident_kib_of_mapping_at(stack);
    assert!(busy >= 96, "the handler's array is resident: {busy} KiB");
    // Busy: no alarm, so three releases of silence change nothing.
    sleep(release * 3);
    let still = resident_kib_of_mapping_at(stack);
    assert!(
        still + 16 > busy,
        "released while busy: {still} of {busy} KiB"
    );
    // One event after the pause sets the alarm again; silence then gives
    // the pages back.
    deep_round(&mut s, 20, &answers[20]);
    let quiet = resident_after_release(stack, busy, Duration::from_secs(8));
    assert!(
        quiet + 64 <= busy,
        "still {quiet} KiB resident after the pause, {busy} KiB busy"
    );
}
