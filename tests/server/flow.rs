//! Bytes under pressure: slow, dead and idle peers, keep-alive, sends
//! from other threads while a client's own thread is blocked, and
//! broadcasts (encoded once, or per client when an extension transforms
//! data).

use super::*;

#[test]
fn a_slow_reader_never_stalls_the_others_and_is_closed_with_1008() {
    const FAST: usize = 20;
    const MESSAGES: usize = 400;
    let (handler, events) = recorder(false);
    let server = Server::builder()
        .config(
            Config::default()
                .max_write_buffer(256 << 10)
                .close_timeout(Duration::from_secs(1)),
        )
        .send_buffer_size(16 << 10)
        .route("/feed", handler)
        .bind("127.0.0.1:0")
        .unwrap();
    let slow = ws(&server, "/feed");
    socket2::SockRef::from(slow.get_ref().tcp())
        .set_recv_buffer_size(4 << 10)
        .unwrap();
    let slow_addr = slow.get_ref().tcp().local_addr().unwrap();
    let (progress_tx, progress) = channel::<(usize, usize)>();
    let readers: Vec<_> = (0..FAST)
        .map(|me| {
            let mut conn = connect(&server, "/feed");
            let progress = progress_tx.clone();
            thread::spawn(move || {
                for i in 0..MESSAGES {
                    let got = conn.recv().unwrap();
                    let Some(Message::Binary(data)) = got else {
                        panic!("binary expected at {i}: {got:?} {:?}", conn.close_frame());
                    };
                    assert_eq!(data.len(), 8 << 10);
                    assert_eq!(&data[..8], &(i as u64).to_be_bytes(), "in order");
                    progress.send((me, i + 1)).unwrap();
                }
                conn
            })
        })
        .collect();
    // The broadcaster never waits for the slow client; it only keeps within
    // 8 messages of the fast ones so that their queues stay small.
    let mut received = [0usize; FAST];
    let started = Instant::now();
    for i in 0..MESSAGES {
        while received.iter().min().unwrap() + 8 < i {
            let (who, count) = progress.recv_timeout(WAIT).expect("fast readers stalled");
            received[who] = count;
        }
        let mut data = vec![0u8; 8 << 10];
        data[..8].copy_from_slice(&(i as u64).to_be_bytes());
        server.broadcast(&Message::Binary(data));
    }
    let fast: Vec<_> = readers.into_iter().map(|r| r.join().unwrap()).collect();
    assert!(started.elapsed() < Duration::from_secs(30));
    let error = expect(
        &events,
        |s| matches!(s, Seen::Error(a, _) if *a == slow_addr),
    );
    assert!(
        format!("{error:?}").contains("WriteBufferFull"),
        "{error:?}"
    );
    assert_eq!(
        expect(
            &events,
            |s| matches!(s, Seen::Close(a, ..) if *a == slow_addr)
        ),
        Seen::Close(slow_addr, 1008, "outgoing queue full".into())
    );
    assert!(server
        .clients()
        .list()
        .iter()
        .all(|c| c.peer_addr() != slow_addr));
    assert_eq!(server.clients().len(), FAST);
    drop((slow, fast));
}

#[test]
fn a_dead_peer_is_closed_with_1011_when_its_pong_does_not_come() {
    let (handler, events) = recorder(false);
    let server = Server::builder()
        .config(
            Config::default()
                .ping_interval(Some(Duration::from_millis(200)))
                .pong_timeout(Duration::from_millis(300)),
        )
        .route("/feed", handler)
        .bind("127.0.0.1:0")
        .unwrap();
    // Frame level: nothing answers pings unless we do.
    let mut mute = ws(&server, "/feed");
    let me = mute.get_ref().tcp().local_addr().unwrap();
    let started = Instant::now();
    let error = expect(&events, |s| matches!(s, Seen::Error(..)));
    assert_eq!(error, Seen::Error(me, "Timeout(Pong)".into()));
    assert_eq!(
        expect(&events, |s| matches!(s, Seen::Close(..))),
        Seen::Close(me, 1011, "no pong".into())
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    // On the wire: the ping, then the close frame with 1011.
    let ping = mute.recv().unwrap();
    assert_eq!(ping.opcode, OpCode::Ping);
    let close = mute.recv().unwrap();
    assert_eq!(close.opcode, OpCode::Close);
    assert_eq!(close.payload, b"\x03\xf3no pong");
}

#[test]
fn a_live_peer_answers_pings_and_stays() {
    let (handler, events) = recorder(true);
    let server = Server::builder()
        .config(
            Config::default()
                .ping_interval(Some(Duration::from_millis(50)))
                .pong_timeout(Duration::from_millis(200)),
        )
        .route("/echo", handler)
        .bind("127.0.0.1:0")
        .unwrap();
    let mut conn = connect(&server, "/echo");
    let mut pings = 0;
    let deadline = Instant::now() + Duration::from_millis(600);
    while Instant::now() < deadline {
        conn.send(Message::Text("x".into())).unwrap();
        assert_eq!(conn.recv().unwrap(), Some(Message::Text("x".into())));
        thread::sleep(Duration::from_millis(20));
        pings += 1;
    }
    assert!(pings > 5);
    assert!(!events.try_iter().any(|s| matches!(s, Seen::Close(..))));
}

#[test]
fn a_broadcast_sent_after_the_handshake_always_arrives() {
    let (handler, _events) = recorder(false);
    let server = Arc::new(
        Server::builder()
            .route("/feed", handler)
            .bind("127.0.0.1:0")
            .unwrap(),
    );
    let started = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicUsize::new(0));
    let broadcaster = {
        let (server, started, stop) = (server.clone(), started.clone(), stop.clone());
        thread::spawn(move || {
            let mut i = 0u64;
            while stop.load(Ordering::SeqCst) == 0 {
                // Counted before it starts: a broadcast numbered n or more
                // started after a client saw `started == n`.
                started.store(i as usize + 1, Ordering::SeqCst);
                server.broadcast(&Message::Binary(i.to_be_bytes().to_vec()));
                i += 1;
                thread::sleep(Duration::from_micros(200));
            }
        })
    };
    for _ in 0..20 {
        let mut conn = connect(&server, "/feed");
        let first_due = started.load(Ordering::SeqCst) as u64;
        let mut expected = None;
        while expected.map_or(true, |e| e < first_due + 20) {
            let Some(Message::Binary(b)) = conn.recv().unwrap() else {
                panic!("binary expected")
            };
            let n = u64::from_be_bytes(b.try_into().unwrap());
            if let Some(e) = expected {
                assert_eq!(n, e, "a gap in the broadcasts");
            } else {
                assert!(n <= first_due, "missed broadcast {first_due} (got {n})");
            }
            expected = Some(n + 1);
        }
    }
    stop.store(1, Ordering::SeqCst);
    broadcaster.join().unwrap();
}

#[test]
fn clients_send_from_other_threads_while_their_thread_is_blocked() {
    let (handler, events) = recorder(false);
    let server = Server::builder()
        .route("/feed", handler)
        .bind("127.0.0.1:0")
        .unwrap();
    let mut conn = connect(&server, "/feed");
    expect(&events, |s| matches!(s, Seen::Open(_)));
    let client = server.clients().list().pop().unwrap();
    assert!(client.is_open());
    // The client's thread is blocked reading; these come from this thread.
    client.send(Message::Text("one".into())).unwrap();
    client.ping(b"p").unwrap();
    client.send_binary(b"two").unwrap();
    client.close(CloseCode(4001), "later").unwrap();
    assert!(!client.is_open());
    assert_eq!(conn.recv().unwrap(), Some(Message::Text("one".into())));
    assert_eq!(conn.recv().unwrap(), Some(Message::Binary(b"two".to_vec())));
    assert_eq!(conn.recv().unwrap(), None);
    assert_eq!(
        conn.close_frame(),
        Some(CloseFrame::new(CloseCode(4001), "later"))
    );
    assert!(matches!(
        expect(&events, |s| matches!(s, Seen::Close(..))),
        Seen::Close(_, 4001, _)
    ));
    assert!(matches!(
        client.send(Message::Text("gone".into())),
        Err(Error::Closed)
    ));
}

/// A toy data-transforming extension: payloads inverted, RSV1 set.
struct Flip;

struct FlipCoder;

impl stdws::extension::FrameEncoder for FlipCoder {
    fn encode(
        &mut self,
        header: &mut stdws::FrameHeader,
        payload: &[u8],
        out: &mut Vec<u8>,
        _: &stdws::SendOptions,
    ) -> Result<bool, Error> {
        header.rsv = stdws::Rsv::RSV1;
        out.extend(payload.iter().map(|b| !b));
        Ok(true)
    }
}

impl stdws::extension::FrameDecoder for FlipCoder {
    fn accepts(&mut self, header: &stdws::FrameHeader) -> Result<bool, stdws::ProtocolError> {
        Ok(header.rsv.contains(stdws::Rsv::RSV1))
    }
    fn decode(
        &mut self,
        header: &mut stdws::FrameHeader,
        payload: &[u8],
        out: &mut Vec<u8>,
        _: usize,
    ) -> Result<(), Error> {
        header.rsv = stdws::Rsv::NONE;
        out.extend(payload.iter().map(|b| !b));
        Ok(())
    }
}

impl stdws::extension::ExtensionFactory for Flip {
    fn name(&self) -> &str {
        "x-flip"
    }
    fn rsv(&self) -> stdws::Rsv {
        stdws::Rsv::RSV1
    }
    fn offers(&self) -> Vec<Vec<stdws::extension::Param>> {
        vec![Vec::new()]
    }
    fn accept_offers(
        &self,
        _: &[&[stdws::extension::Param]],
    ) -> Option<(Vec<stdws::extension::Param>, stdws::extension::Negotiated)> {
        Some((Vec::new(), negotiated()))
    }
    fn accept_response(
        &self,
        _: &[stdws::extension::Param],
    ) -> Result<stdws::extension::Negotiated, String> {
        Ok(negotiated())
    }
}

fn negotiated() -> stdws::extension::Negotiated {
    stdws::extension::Negotiated {
        encoder: Box::new(FlipCoder),
        decoder: Box::new(FlipCoder),
    }
}

#[test]
fn a_broadcast_goes_through_the_encoder_of_clients_whose_extension_transforms_data() {
    let (handler, _events) = recorder(false);
    let server = Server::builder()
        .config(Config::default().extension(Flip))
        .route("/feed", handler)
        .bind("127.0.0.1:0")
        .unwrap();
    let url = format!("ws://{}/feed", server.local_addr());
    let mut plain = ws(&server, "/feed");
    let mut flipped = WebSocket::builder(&url)
        .config(client_config().extension(Flip))
        .connect()
        .unwrap();
    assert_eq!(flipped.extensions()[0].name, "x-flip");
    assert_eq!(server.broadcast(&Message::Binary(vec![0x0F, 0xF0])), 2);
    // The shared frame for the client without the extension...
    let frame = plain.recv().unwrap();
    assert!(frame.rsv.is_empty());
    assert_eq!(frame.payload, [0x0F, 0xF0]);
    // ...and the extension's own encoding for the other.
    let frame = flipped.recv().unwrap();
    assert_eq!(frame.rsv, stdws::Rsv::RSV1);
    assert_eq!(frame.payload, [0xF0, 0x0F]);
}

#[test]
fn a_client_that_stops_reading_is_closed_with_1008_at_the_write_timeout() {
    let (handler, events) = recorder(false);
    let server = Server::builder()
        .config(
            Config::default()
                .write_timeout(Some(Duration::from_millis(300)))
                .max_write_buffer(64 << 20),
        )
        .send_buffer_size(16 << 10)
        .route("/feed", handler)
        .bind("127.0.0.1:0")
        .unwrap();
    let stuck = ws(&server, "/feed");
    socket2::SockRef::from(stuck.get_ref().tcp())
        .set_recv_buffer_size(4 << 10)
        .unwrap();
    let me = stuck.get_ref().tcp().local_addr().unwrap();
    let started = Instant::now();
    for _ in 0..256 {
        // Never blocks, though nobody reads: the backlog waits in the queue.
        server.broadcast(&Message::Binary(vec![0; 8 << 10]));
    }
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(
        expect(&events, |s| matches!(s, Seen::Error(..))),
        Seen::Error(me, "Timeout(Write)".into())
    );
    assert_eq!(
        expect(&events, |s| matches!(s, Seen::Close(..))),
        Seen::Close(me, 1008, "write timed out".into())
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(stuck);
}

#[test]
fn an_idle_client_is_closed_with_1001_after_the_read_timeout() {
    let (handler, events) = recorder(false);
    let server = Server::builder()
        .config(Config::default().read_timeout(Some(Duration::from_millis(200))))
        .route("/feed", handler)
        .bind("127.0.0.1:0")
        .unwrap();
    let mut idle = connect(&server, "/feed");
    let me = idle.get_ref().tcp().local_addr().unwrap();
    assert_eq!(idle.recv().unwrap(), None);
    assert_eq!(
        idle.close_frame(),
        Some(CloseFrame::new(CloseCode::GOING_AWAY, "idle timeout"))
    );
    assert_eq!(
        expect(&events, |s| matches!(s, Seen::Error(..))),
        Seen::Error(me, "Timeout(Read)".into())
    );
    assert_eq!(
        expect(&events, |s| matches!(s, Seen::Close(..))),
        Seen::Close(me, 1001, "idle timeout".into())
    );
}
