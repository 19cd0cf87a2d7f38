//! Tests of the link: the write side shared by a connection's threads.

use super::*;
use crate::frame::Role;
use crate::message::Message;
use crate::prepared::Batch;
use crate::protocol::Sender;
use crate::session::Framing;
use crate::transport::duplex::tests::{pair, Xor};
use crate::transport::duplex::DuplexReader;
use crate::transport::queue::{CHUNK_COST, OWNED_JOIN};
use crate::write::FrameWriter;
use std::io::Read;
use std::net::TcpStream;

fn link(ours: TcpStream, cap: usize, tls: bool) -> Arc<Link> {
    link_in(ours, cap, tls, false)
}

fn link_in(ours: TcpStream, cap: usize, tls: bool, handshaking: bool) -> Arc<Link> {
    let duplex = Arc::new(Duplex::new(ours));
    if tls {
        duplex.install_tls(Box::new(Xor(0x33)));
    }
    let out = Outgoing::new(
        FrameWriter::default(),
        Sender::new(Role::Server, Vec::new(), None),
        cap,
    );
    let options = LinkOptions {
        cap,
        transforms: false,
        close_timeout: Duration::from_secs(5),
        timers: None,
        name: FlusherName {
            prefix: "test",
            number: None,
        },
    };
    Link::new(duplex, out, options, handshaking)
}

/// A socket pair whose kernel buffers are small: our send buffer holds
/// `send` bytes, the peer's receive buffer `recv` (None: the default), so
/// a backlog soon builds in the link's queue while the peer does not read.
fn squeezed_pair(send: usize, recv: Option<usize>) -> (TcpStream, TcpStream) {
    let (ours, peer) = pair();
    socket2::SockRef::from(&ours)
        .set_send_buffer_size(send)
        .unwrap();
    if let Some(recv) = recv {
        socket2::SockRef::from(&peer)
            .set_recv_buffer_size(recv)
            .unwrap();
    }
    (ours, peer)
}

fn read_n(peer: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    peer.read_exact(&mut buf).unwrap();
    buf
}

#[test]
fn frames_queued_during_the_handshake_do_not_hold_up_the_reader() {
    // A broadcast of 8 MiB reaches a client registered before its 101;
    // the client uploads before it reads. The connection's own thread
    // must not write that backlog itself: it has to go on to reading.
    let (ours, mut peer) = pair();
    let link = link_in(ours, 16 << 20, false, true);
    let other = Arc::clone(&link);
    thread::spawn(move || other.send(OpCode::Binary, &vec![1u8; 8 << 20]).unwrap())
        .join()
        .unwrap();
    let start = std::time::Instant::now();
    link.handshake_written().unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "the own thread wrote the backlog"
    );
    // The backlog still arrives, whole and in order, once the peer reads.
    let header = read_n(&mut peer, 10);
    assert_eq!(header, [0x82, 127, 0, 0, 0, 0, 0, 0x80, 0, 0]);
    assert!(read_n(&mut peer, 8 << 20).iter().all(|&b| b == 1));
}

#[test]
fn send_from_another_thread_arrives_while_the_reader_is_blocked_over_tls() {
    let (ours, mut peer) = pair();
    let link = link(ours, 1 << 20, true);
    // The connection's reader, blocked in a read with nothing to read.
    let mut reader = DuplexReader::new(Arc::clone(link.duplex()), Vec::new());
    let blocked = thread::spawn(move || {
        let mut buf = [0u8; 16];
        let n = reader.read(&mut buf).unwrap();
        buf[..n].to_vec()
    });
    let sender = Arc::clone(&link);
    thread::spawn(move || sender.send(OpCode::Text, b"hi").unwrap())
        .join()
        .unwrap();
    // The frame came through while the reader still waits.
    let wire: Vec<u8> = read_n(&mut peer, 4).iter().map(|b| b ^ 0x33).collect();
    assert_eq!(wire, [0x81, 2, b'h', b'i']);
    assert!(!blocked.is_finished());
    // Data for the reader is decrypted.
    peer.write_all(&[b'o' ^ 0x33, b'k' ^ 0x33]).unwrap();
    assert_eq!(blocked.join().unwrap(), b"ok");
}

#[test]
fn a_client_that_does_not_read_gets_a_flusher_and_frames_stay_in_order() {
    // A small send buffer: the backlog builds in our queue, not in the
    // kernel, while the peer does not read.
    let (ours, mut peer) = squeezed_pair(8 << 10, None);
    let link = link(ours, 64 << 20, false);
    let frame: Arc<[u8]> = vec![0x82, 126, 0x10, 0x00]
        .into_iter()
        .chain((0..4096u32).map(|i| i as u8))
        .collect::<Vec<u8>>()
        .into();
    let message = Message::Binary(frame[4..].to_vec());
    let sender = Arc::clone(&link);
    let started = Instant::now();
    // 1,000 broadcasts of 4 KiB to a peer that is not reading: none blocks.
    thread::spawn(move || {
        let prepared = Prepared::new(&message, None);
        assert_eq!(prepared.frames(Framing::Rfc6455), Some(&frame));
        for _ in 0..1000 {
            sender.send_prepared(&prepared).unwrap();
        }
    })
    .join()
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(link.lock().queue.busy, "a flusher owns the backlog");
    let all = read_n(&mut peer, 1000 * 4100);
    for (i, f) in all.chunks(4100).enumerate() {
        assert_eq!(&f[..4], &[0x82, 126, 0x10, 0x00], "frame {i}");
        assert!(f[4..].iter().enumerate().all(|(j, b)| *b == j as u8));
    }
}

#[test]
fn own_thread_blocks_instead_of_queueing_and_sends_the_whole_message() {
    let (ours, mut peer) = squeezed_pair(8 << 10, None);
    // A cap smaller than the message: the own thread's payload is never
    // copied into the queue, so the cap does not apply to it.
    let link = link(ours, 1024, false);
    let payload: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let reader = thread::spawn(move || read_n(&mut peer, 1_000_000 + 10));
    link.send(OpCode::Binary, &payload).unwrap();
    let wire = reader.join().unwrap();
    assert_eq!(&wire[..10], &[0x82, 127, 0, 0, 0, 0, 0, 0x0F, 0x42, 0x40]);
    assert!(wire[10..] == payload[..]);
    assert!(!link.has_failed());
}

#[test]
fn a_queue_over_its_cap_fails_the_client_with_1008() {
    let (ours, mut peer) = squeezed_pair(4 << 10, Some(4 << 10));
    let link = link(ours, 64 << 10, false);
    let sender = Arc::clone(&link);
    let result = thread::spawn(move || {
        let payload = vec![7u8; 1000];
        for i in 0..10_000 {
            if let Err(e) = sender.send(OpCode::Binary, &payload) {
                return (i, e);
            }
        }
        panic!("never overflowed");
    })
    .join()
    .unwrap();
    assert!(matches!(
        result.1,
        Error::Capacity(CapacityError::WriteBufferFull { max: 65536 })
    ));
    let end = link.take_end().unwrap();
    assert_eq!(end.frame.code, CloseCode::POLICY_VIOLATION);
    // Everything queued, then the close frame, then FIN.
    let mut all = Vec::new();
    peer.read_to_end(&mut all).unwrap();
    let close = [0x88, 21, 0x03, 0xF0];
    assert_eq!(&all[all.len() - 23..all.len() - 19], &close);
    assert_eq!(&all[all.len() - 19..], b"outgoing queue full");
    assert_eq!(all.len() - 23, result.0 * 1004 + 1004);
}

#[test]
fn tiny_queued_frames_share_chunks_and_count_their_overhead() {
    // A peer that sends empty pings and never reads: each pong is 2
    // bytes, and cost some 30 times that as a chunk of its own.
    let (ours, _peer) = squeezed_pair(4 << 10, Some(4 << 10));
    let link = link(ours, 64 << 20, false);
    let other = Arc::clone(&link);
    thread::spawn(move || {
        for _ in 0..100_000 {
            other.control(OpCode::Pong, b"").unwrap();
        }
    })
    .join()
    .unwrap();
    let (chunks, accounted) = {
        let g = link.lock();
        (g.queue.chunks.len(), g.queue.queued + g.queue.in_flight)
    };
    // Most of the 200,000 bytes wait in the queue (the kernel took a
    // little), in a handful of chunks.
    assert!(chunks <= 200_000 / OWNED_JOIN + 2, "{chunks} chunks");
    assert!(accounted >= 100_000, "{accounted}");
    // Shared frames cannot be merged: each is charged its overhead.
    let message = Message::Binary(Vec::new());
    let prepared = Prepared::new(&message, None);
    let before = link.lock().queue.queued;
    for _ in 0..1000 {
        link.send_prepared(&prepared).unwrap();
    }
    assert_eq!(link.lock().queue.queued - before, 1000 * (2 + CHUNK_COST));
}

#[test]
fn a_batch_reaches_a_subscriber_as_one_write_of_exactly_its_frames_in_order() {
    let (ours, mut peer) = squeezed_pair(8 << 10, None);
    let link = link(ours, 64 << 20, false);
    // The peer does not read yet: once the kernel's buffer is full, each
    // write becomes one chunk of the link's queue, so writes can be counted.
    let filler = Message::Binary(vec![7; 4096]);
    let filler = Prepared::new(&filler, None);
    let mut fillers = 0;
    while !link.lock().queue.busy {
        assert!(fillers < 10_000, "the socket never filled");
        link.send_prepared(&filler).unwrap();
        fillers += 1;
    }
    let messages: Vec<Message> = (0..5).map(|i| Message::Text(format!("m{i}"))).collect();
    let batch = Batch::new(&messages, None);
    let (chunks, queued) = {
        let g = link.lock();
        (g.queue.chunks.len(), g.queue.queued)
    };
    assert_eq!(link.send_batch(&batch, None), 5);
    // A subscriber the second message excludes (its sender).
    let skip = |i: usize| i == 1;
    assert_eq!(link.send_batch(&batch, Some(&skip)), 4);
    {
        let g = link.lock();
        assert_eq!(g.queue.chunks.len(), chunks + 2, "one write per batch");
        assert_eq!(g.queue.queued - queued, 5 * 4 + 4 * 4 + 2 * CHUNK_COST);
    }
    let head = read_n(&mut peer, fillers * 4100);
    assert!(head.chunks(4100).all(|f| f[..4] == [0x82, 126, 0x10, 0x00]));
    assert_eq!(
        read_n(&mut peer, 36),
        b"\x81\x02m0\x81\x02m1\x81\x02m2\x81\x02m3\x81\x02m4\
          \x81\x02m0\x81\x02m2\x81\x02m3\x81\x02m4"
    );
    // Nothing else follows.
    peer.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut more = [0u8; 1];
    assert!(peer.read(&mut more).is_err());
}
