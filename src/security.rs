//! # Security: what went wrong elsewhere, and what stops it here
//!
//! A WebSocket server meets peers that lie about lengths, send headers
//! forever, compress bombs, split messages into dust or stop reading. Each
//! entry below is a published advisory against another library (or, where
//! said, a well-known class of attack): what it was, the limit or rule in
//! stdws that stops it, and the tests that prove it.
//!
//! Every defence is on by default: [`Config::default()`](crate::Config) is
//! meant for a public server. The limits and their defaults are tabled at
//! the end of this chapter.
//!
//! **How to read the proofs.** A test is named `file::test_name`, the file
//! from the root of the repository; a fuzz target by its file. The test
//! `chapter_cites_only_tests_that_exist` in `tests/security.rs` checks that
//! every such name exists, so a renamed test cannot leave this chapter
//! behind. The hostile-input suite, `tests/hostile.rs` (Linux), attacks a
//! running [`Server`](crate::Server) over real sockets; besides the exact
//! answer (HTTP status, close code, and the error the handler saw), each
//! case checks that the process's peak resident memory grew by no more than
//! a bound stated in the case (2 to 96 MiB, far below what the attack would
//! cost without the limit), and that a well-behaved client connected
//! beside the attacker kept getting its echoes, none later than 750 ms.
//!
//! The fuzz targets in `fuzz/` (`make fuzz`) feed the frame header parser,
//! both handshake parsers, the extension parser and negotiation,
//! permessage-deflate decoding, the URL parser, the hixie-76 handshake and
//! frames, proxy replies (SOCKS5 and CONNECT), and whole connections with arbitrary bytes, built with overflow
//! checks and run under a memory cap (512 MiB by default). What they found is kept as tests:
//! `tests/security.rs::send_after_the_peer_vanished_is_closed_without_writing`,
//! `tests/security.rs::server_accepts_an_extension_offered_in_two_cases_once`
//! and `src/url.rs::join_refuses_a_location_that_would_break_the_request_line`.
//!
//! ## The advisories
//!
//! ### tungstenite CVE-2023-43669 (RUSTSEC-2023-0065): quadratic handshake
//!
//! *What.* Tungstenite up to 0.20.0 parsed the buffered HTTP request again
//! each time more bytes arrived, so a long header sent in small pieces cost
//! thousands of parses of up to megabytes each: minutes of CPU per
//! connection.
//!
//! *Here.* [`HeadScanner`](crate::handshake::HeadScanner) looks at each byte
//! once, resuming where it stopped, and the head is parsed once, when it is
//! complete. It enforces [`max_header_bytes`](crate::Config::max_header_bytes),
//! [`max_header_line`](crate::Config::max_header_line) and
//! [`max_headers`](crate::Config::max_headers) as the bytes arrive: the
//! server stops reading at the first cap broken and answers 431.
//! [`handshake_timeout`](crate::Config::handshake_timeout) bounds the whole
//! handshake, not each read (HTTP 408).
//!
//! *Proof.*
//! - `tests/hostile.rs::header_scanning_time_is_linear_in_the_bytes_received`:
//!   with the caps raised, a 4 MiB head arriving in at least 2,048 reads is
//!   answered 101 in under 2 s in a debug build (parsing everything
//!   received again on each read would scan some 4 GiB).
//! - `tests/hostile.rs::a_megabyte_of_headers_gets_431_once_the_head_cap_is_reached`:
//!   1 MiB of header fields is answered 431 within 1 s, without waiting
//!   for the rest (with lines of about 100 bytes, the field cap is the one
//!   reached first, about 6.5 KB in).
//! - `tests/hostile.rs::ten_thousand_headers_get_431` and
//!   `tests/hostile.rs::a_100_kib_header_line_gets_431` (the byte cap
//!   raised to 1 MiB so that the field and line caps act): 431 within 1 s.
//! - `tests/hostile.rs::a_request_sent_byte_by_byte_gets_408_at_the_handshake_deadline`:
//!   a byte every 10 ms, each within every cap, gets 408 at the 1 s
//!   deadline (measured from the first byte: no earlier than 50 ms before
//!   it, less than 0.5 s after it), then the connection is closed.
//! - `tests/security.rs::header_line_sent_byte_by_byte_stops_being_read_at_the_cap`:
//!   read one byte at a time, a 100 KiB line is read up to the byte that
//!   breaks `max_header_line`, not one byte more.
//! - `tests/handshake.rs::header_caps_get_431` (each cap alone),
//!   `tests/handshake.rs::slow_handshake_gets_408_at_the_deadline_not_per_read`,
//!   `src/handshake/mod.rs::scanner_enforces_each_cap`,
//!   `src/handshake/server.rs::every_split_point_parses_the_same`.
//! - Fuzz targets `fuzz/fuzz_targets/handshake_request.rs` and
//!   `fuzz/fuzz_targets/handshake_response.rs`: the scanner answers the
//!   same whether a head comes whole or in pieces.
//!
//! ### rust-websocket CVE-2022-35922 (RUSTSEC-2022-0035): allocation from a declared length
//!
//! *What.* The `websocket` crate before 0.26.5 (sync API) reserved a
//! buffer of the length a frame header declared; a header claiming a huge
//! payload made the allocation fail and abort the process.
//!
//! *Here.* [`frame::parse_header`](crate::frame::parse_header) refuses a
//! length over [`max_frame_size`](crate::Config::max_frame_size) (16 MiB)
//! from the header alone, before a payload byte is read (close 1009), and
//! a 64-bit length with its top bit set as soon as its first byte arrives
//! (1002). The message being assembled is checked against
//! [`max_message_size`](crate::Config::max_message_size) on each frame's
//! declared length, before its payload is read (1009). Within the limits,
//! the payload buffer grows with the bytes that arrive, at most 64 KiB
//! ahead of them (`GROW_STEP` in `src/read.rs`), never to the length
//! declared: a peer that declares 16 MiB and sends ten bytes costs one
//! 64 KiB step.
//!
//! *Proof.*
//! - `tests/hostile.rs::a_frame_declaring_2_63_bytes_gets_1009_without_allocation`
//!   and `tests/hostile.rs::a_frame_just_over_max_frame_size_gets_1009_before_its_payload`:
//!   the header alone (2^63 − 1 bytes, 16 MiB + 1) gets 1009, the handler
//!   sees `FrameTooBig` with the declared size, memory grows by at most
//!   2 MiB.
//! - `tests/security.rs::frame_declaring_2_pow_63_minus_1_bytes_gets_1009_before_any_payload`,
//!   `tests/violations.rs::frame_over_max_frame_size_gets_1009_before_its_payload`,
//!   `tests/violations.rs::message_over_max_message_size_gets_1009`.
//! - `src/frame.rs::rejects_frames_over_max_frame_size_before_the_payload`,
//!   `src/frame.rs::rejects_64_bit_length_with_top_bit_as_soon_as_it_is_seen`,
//!   `src/protocol.rs::message_size_is_checked_on_the_declared_length`.
//! - Fuzz targets `fuzz/fuzz_targets/frame_header.rs` and
//!   `fuzz/fuzz_targets/connection.rs` (truncated frames declaring large
//!   payloads among the seeds).
//!
//! ### ws-rs RUSTSEC-2020-0043 (CVE-2020-35896): unbounded outgoing buffer
//!
//! *What.* The `ws` crate up to 0.9.1 did not cap its outgoing buffer: a
//! peer could make one connection's buffer grow until the process ran out
//! of memory (fixed in the `parity-ws` fork by disconnecting the client
//! when the buffer is full).
//!
//! *Here.* Nothing is queued without bound.
//! - A [`Connection`](crate::Connection) writes a message, and the pong
//!   that answers a ping, before the call returns, under
//!   [`write_timeout`](crate::Config::write_timeout) (30 s): a peer that
//!   stops reading stalls only its own connection, which then fails with
//!   [`Timeout::Write`](crate::Timeout::Write). The explicit batching of
//!   [`Connection::feed`](crate::Connection::feed) is capped by
//!   [`max_write_buffer`](crate::Config::max_write_buffer) (16 MiB), past
//!   which `feed` answers [`CapacityError::WriteBufferFull`](crate::CapacityError::WriteBufferFull).
//! - In a [`Server`](crate::Server), a client's own thread (an echo from
//!   `on_message`) blocks on a full socket, as a plain blocking write
//!   would, under `write_timeout`; past it the client is closed with 1008
//!   (the connection is cut when even the close frame cannot get through).
//!   Everything else (broadcasts, sends from other threads, pongs,
//!   keep-alive pings) never blocks: what the socket does not take is
//!   queued, each chunk's bookkeeping counted besides its bytes, and a
//!   queue over `max_write_buffer` closes that client with 1008 ("outgoing
//!   queue full"). A slow client stalls nobody else.
//!
//! *Proof.*
//! - `tests/hostile.rs::a_ping_flood_from_a_peer_that_never_reads_its_pongs_is_closed_with_1008`:
//!   empty pings from a peer that never reads: closed with 1008 "outgoing
//!   queue full" at a 1 MiB cap, the handler sees `WriteBufferFull`,
//!   memory grows by at most 8 MiB.
//! - `tests/hostile.rs::a_peer_that_never_reads_its_echoes_is_closed_with_1008_at_the_write_timeout`:
//!   64 KiB messages whose echoes are never read: the handler sees
//!   `Timeout(Write)` and 1008 "write timed out" within 3 s of the first
//!   message (the write timeout is 1 s), the connection is cut, and the canary never waits more than
//!   750 ms meanwhile.
//! - `tests/server/flow.rs::a_slow_reader_never_stalls_the_others_and_is_closed_with_1008`,
//!   `tests/server/flow.rs::a_client_that_stops_reading_is_closed_with_1008_at_the_write_timeout`,
//!   `src/transport/link_tests.rs::a_queue_over_its_cap_fails_the_client_with_1008`,
//!   `src/transport/link_tests.rs::tiny_queued_frames_share_chunks_and_count_their_overhead`,
//!   `tests/security.rs::feed_past_max_write_buffer_is_refused`.
//!
//! ### gorilla/websocket CVE-2020-27813 (GHSA-3xh2-74w9-5vxm): length overflow
//!
//! *What.* Before 1.4.1, crafted frames made the integer that tracks the
//! bytes remaining in a frame overflow, and the reader could get stuck
//! reading frames in a loop: a denial of service.
//!
//! *Here.* Lengths are `u64` and a 64-bit length with the top bit set is
//! refused (RFC 6455 §5.2), so every length is below 2^63; it is checked
//! against `max_frame_size` before use, the bytes still due are the
//! declared length minus those received (never more than declared), and a
//! message's size is summed in `u64` from terms below 2^63, so nothing can
//! wrap. Lengths must also be minimally encoded (1002).
//!
//! *Proof.*
//! - `tests/hostile.rs::malformed_payload_lengths_get_1002`: a 64-bit
//!   length with the top bit set, and 5 written in the 64-bit form, each
//!   get 1002 (`LengthTopBitSet`, `NonMinimalLength`).
//! - `tests/violations.rs::non_minimal_length_gets_1002`,
//!   `src/frame.rs::rejects_64_bit_length_with_top_bit_as_soon_as_it_is_seen`,
//!   `src/frame.rs::rejects_non_minimal_lengths`.
//! - Fuzz targets `fuzz/fuzz_targets/frame_header.rs` (every complete
//!   header re-encodes to the bytes it came from) and
//!   `fuzz/fuzz_targets/connection.rs` (the same input read whole and in
//!   pieces gives the same events), both built with overflow checks, so a
//!   wrapping length would be a crash.
//!
//! ### gorilla/websocket GHSA-w67g-5rqw-f597: predictable mask keys
//!
//! *What.* gorilla/websocket before 1.5.3 drew client masking keys from
//! `math/rand`, a generator that is not cryptographically strong, while
//! RFC 6455 §5.3 and §10.3 require keys a script cannot predict (masking
//! exists so that a browser script cannot make its frames look like
//! another protocol to an intermediary).
//!
//! *Here.* [`frame::random_mask_key`](crate::frame::random_mask_key) draws
//! each key from the thread-local CSPRNG of the `rand` crate (ChaCha,
//! seeded from the operating system), and the client masks every frame
//! with a fresh key.
//!
//! *Proof.* `tests/security.rs::client_masks_each_frame_with_a_fresh_key`
//! (256 frames on the wire, at least 250 distinct keys),
//! `src/mask.rs::keys_differ`. No test can show that keys are
//! unpredictable; that rests on the generator.
//!
//! ### Python websockets CVE-2018-1000518: decompression bomb
//!
//! *What.* websockets 4.0 did not apply `max_size` while decompressing
//! permessage-deflate messages: a small compressed frame could inflate
//! until memory ran out (fixed in 5.0).
//!
//! *Here.* An extension's [`FrameDecoder::decode`](crate::extension::FrameDecoder::decode)
//! is given what is left of [`max_message_size`](crate::Config::max_message_size)
//! and must fail with 1009 while producing output, never after.
//! permessage-deflate inflates in steps of at most 32 KiB and fails before
//! copying out the step that crosses the limit: a message never holds more
//! than the limit, whatever the stream would inflate to. The receiver
//! checks the result again, so even a decoder that ignores its
//! limit cannot grow a message past the maximum.
//!
//! *Proof.*
//! - `tests/hostile.rs::a_one_gib_deflate_bomb_in_one_frame_gets_1009_with_memory_bounded`
//!   (about 1 MiB of DEFLATE that inflates to 1 GiB, in one frame) and
//!   `tests/hostile.rs::a_one_gib_deflate_bomb_in_10_kib_frames_gets_1009_with_memory_bounded`
//!   (the same stream in 10 KiB frames): 1009, the handler sees
//!   `MessageTooBig { max: 16777216 }`, memory grows by at most 48 MiB
//!   (the message may reach 16 MiB, not 1 GiB).
//! - `tests/deflate.rs::a_one_kib_frame_that_inflates_past_the_limit_closes_with_1009`,
//!   `src/extension/permessage_deflate_tests.rs::a_small_frame_that_inflates_past_the_limit_is_too_big`,
//!   `src/extension/deflate.rs::output_is_cut_at_the_limit_in_bounded_chunks`,
//!   `tests/security.rs::extension_that_overruns_its_limit_still_gets_1009`.
//! - Fuzz target `fuzz/fuzz_targets/inflate.rs`: hostile bytes decoded
//!   under arbitrary limits never produce more than the limit, and going
//!   past it is `MessageTooBig`.
//!
//! ### uws CVE-2016-10544: size checked before inflating, not after
//!
//! *What.* uws 0.10.0 to 0.10.8 checked its 16 MB limit against the
//! compressed payload: a 256 MB message that compressed below 16 MB passed
//! the check, inflated back to 256 MB and crashed the Node.js process (past
//! V8's largest string).
//!
//! *Here.* The same rule as above: `max_message_size` counts decompressed
//! bytes, checked while inflating; `max_frame_size` separately bounds the
//! compressed frame.
//!
//! *Proof.* `tests/hostile.rs::a_one_gib_deflate_bomb_in_one_frame_gets_1009_with_memory_bounded`
//! is this attack: a frame of about 1 MiB, well within `max_frame_size`,
//! inflating to 1 GiB, far past `max_message_size`, gets 1009. The other
//! proofs of the previous entry apply.
//!
//! ### Python websockets CVE-2021-33880: timing attack on Basic auth
//!
//! *What.* websockets 8.0 to 9.0.2 checked HTTP Basic credentials in a
//! time that depended on the password guessed (an ordinary string
//! comparison), so an attacker could guess a password by timing (fixed in
//! 9.1 with a constant-time comparison).
//!
//! *Here.* [`Authenticator`](crate::handshake::auth::Authenticator)
//! compares secrets (the Basic password, the Digest response) with
//! `src/handshake/auth/digest.rs::ct_eq`: it hashes both sides with SHA-256 and
//! ORs together the XOR of all 32 byte pairs, with no early exit, so
//! neither the position of a difference nor the lengths show in the
//! timing. An unknown user is compared the same way, against an empty
//! password, and gets the same answer as a wrong password. For Digest the
//! response is checked before the nonce, so a forged or expired nonce does
//! not tell a known user from an unknown one either.
//!
//! *Proof.* No test measures the timing: on a shared machine such a test
//! would measure the noise. The property rests on `ct_eq` and on every
//! comparison going through it (`check_basic` and `check_digest` in the
//! same file). The tests prove the answers:
//! - `tests/security.rs::unknown_user_is_refused_like_a_wrong_password`
//!   (Basic and Digest: same status, reason and challenge).
//! - `src/handshake/auth/server.rs::basic_accepts_the_right_password_only`,
//!   `src/handshake/auth/server.rs::digest_wrong_password_uri_or_opaque_is_401_not_stale`,
//!   `src/handshake/auth/server.rs::digest_round_trip_then_replay_is_refused`,
//!   `tests/auth.rs::basic_wrong_password_ends_with_the_401`,
//!   `src/server/auth_tests.rs::basic_guards_upgrades_files_and_the_console_alike`.
//!
//! ### ws (Node.js) CVE-2021-32640: slow `Sec-WebSocket-Protocol` parsing
//!
//! *What.* ws 5.0.0 to 7.4.5 split the `Sec-WebSocket-Protocol` value with
//! a regular expression that took quadratic time on a value such as `b`,
//! thousands of spaces, `x`: one request could stall the server.
//!
//! *Here.* Header lists are split on commas in one pass and each element
//! checked as an RFC 7230 token (400 otherwise); no regular expression, and
//! no value is longer than `max_header_line`.
//!
//! *Proof.* `tests/security.rs::protocol_list_of_spaces_is_refused_with_400_in_linear_time`
//! (8,000 spaces: 400 within 1 s); fuzz target
//! `fuzz/fuzz_targets/handshake_request.rs`.
//!
//! ### ws (Node.js) CVE-2024-37890: crash on too many headers
//!
//! *What.* Before 8.17.1 (and the backports), a request with more header
//! fields than Node's `server.maxHeadersCount` lost the fields past the
//! limit; a missing `Sec-WebSocket-Key` then crashed the server.
//!
//! *Here.* A head over [`max_headers`](crate::Config::max_headers) is
//! refused whole with 431 before it is parsed; one within the limit is
//! parsed whole, into an array sized from the scanner's count, so no field
//! is dropped. A missing key is a 400, never a crash.
//!
//! *Proof.* `tests/security.rs::key_in_the_last_allowed_header_field_is_found`
//! (the key as the 64th field: 101; one field more: 431),
//! `tests/hostile.rs::ten_thousand_headers_get_431`,
//! `tests/handshake.rs::header_caps_get_431`,
//! `tests/handshake.rs::bad_requests_get_400_with_a_reason`.
//!
//! ### ws (Node.js) tiny-fragment flood (GHSA-96hv-2xvq-fx4p, CVE-2026-48779; CVE-2026-62389)
//!
//! *What.* ws before 8.21.0 kept each fragment of a message (and each
//! small chunk of data) as its own buffer object, so a flood of tiny
//! fragments, with modest traffic, pinned far more memory than the message
//! size limit suggests, and the message never had to complete. 8.21.0 added
//! a fragment count limit; 8.21.1 closed a gap in it (CVE-2026-62389).
//!
//! *Here.* Fragments are appended to one buffer, so an unfinished message
//! holds at most `max_message_size` bytes whatever its shape, and every
//! frame of a message, empty or not, counts toward
//! [`max_fragments`](crate::Config::max_fragments) (65,537: what a 4 MiB
//! message in 64-byte frames takes), past which the connection is closed
//! with 1009.
//!
//! *Proof.*
//! - `tests/hostile.rs::a_million_empty_continuation_frames_are_cut_at_the_fragment_cap_with_1009`
//!   and `tests/hostile.rs::a_hundred_thousand_one_byte_fragments_are_cut_at_the_fragment_cap_with_1009`:
//!   1009, the handler sees `TooManyFragments { max: 65537 }`, memory
//!   grows by at most 4 MiB.
//! - `tests/security.rs::empty_continuation_frames_count_toward_max_fragments`
//!   (the 101st frame of a 100-frame cap fails, not a frame later),
//!   `tests/violations.rs::too_many_fragments_get_1009`,
//!   `src/protocol.rs::fragment_cap`.
//!
//! ### Credentials leaked by a redirect (curl CVE-2018-1000007, follow-redirects CVE-2022-0155)
//!
//! *What.* Not a WebSocket library's advisory, but the same client path:
//! curl before 7.58.0 sent a custom `Authorization` header on to the host
//! a redirect named, and follow-redirects before 1.14.7 did the same with
//! `Cookie`. ws dropped both headers on cross-host redirects in 2022
//! (websockets/ws#2013), without an advisory since its redirects are off
//! by default.
//!
//! *Here.* [`Connector::max_redirects`](crate::Connector::max_redirects)
//! is 0 by default: a redirect is an error, not followed. When it is
//! raised, `Authorization`, `Cookie` and the credentials of the URL or of
//! [`Connector::credentials`](crate::Connector::credentials) are
//! dropped when a redirect leaves the origin (another host or port) or
//! goes from `wss` to `ws`; a loop, or one redirect too many, fails with
//! [`HandshakeError::Redirect`](crate::HandshakeError::Redirect).
//!
//! `Proxy-Authorization` never reaches a server at all, on any hop (next
//! section).
//!
//! *Not covered.* Other header fields added with
//! [`Connector::header`](crate::Connector::header) follow every
//! redirect: a secret in such a field (an `X-API-Key`) would reach the new
//! origin, as in follow-redirects before 1.16.0 (CVE-2026-40895). Follow
//! redirects only toward servers you trust, or carry secrets in
//! `Authorization`.
//!
//! *Proof.* `tests/redirect.rs::redirects_are_not_followed_by_default`,
//! `tests/redirect.rs::cross_origin_redirect_drops_authorization_proxy_authorization_and_cookie`,
//! `tests/redirect.rs::userinfo_credentials_do_not_follow_a_cross_origin_redirect`,
//! `tests/redirect.rs::wss_to_ws_downgrade_drops_authorization_and_cookie`,
//! `tests/redirect.rs::same_origin_redirect_keeps_authorization_and_cookie`,
//! `tests/redirect.rs::a_loop_is_detected`,
//! `tests/redirect.rs::the_maximum_is_enforced`,
//! `src/client.rs::credentials_stay_within_host_port_and_security`; fuzz
//! target `fuzz/fuzz_targets/url.rs` (a `Location` is hostile input).
//!
//! ### Proxy credentials sent through the tunnel (follow-redirects CVE-2024-28849, httpoxy CVE-2016-5385)
//!
//! *What.* follow-redirects before 1.15.6 kept `Proxy-Authorization` on a
//! redirect to another host; a client that puts the proxy's credentials
//! among the request's fields sends them, through a CONNECT tunnel, to the
//! server at its end. httpoxy: CGI programs got `HTTP_PROXY` from a
//! request's `Proxy:` header, and HTTP clients that read the variable sent
//! their traffic to the attacker's proxy.
//!
//! *Here.* `Proxy-Authorization` goes to the proxy only: the proxy URL's
//! `user:pass@` becomes the CONNECT request's field (or RFC 1929 for
//! SOCKS5), and a `Proxy-Authorization` given with
//! [`Connector::header`](crate::Connector::header) is moved into
//! the CONNECT request; neither is ever among the fields of the WebSocket
//! request, with a proxy or without one, on the first hop or after a
//! redirect. The proxy is decided again at each redirect hop (`no_proxy`
//! may send the next hop direct). TLS to a `wss://` server runs through the
//! tunnel and checks the server's own name, so a proxy cannot read or
//! change the traffic. A proxy's reply is hostile input: its head has the
//! caps of any response head, a SOCKS5 reply is read to at most 262 bytes,
//! bytes sent after the reply are an error rather than the server's, and
//! the whole exchange runs within the handshake deadline
//! ([`Timeout::Proxy`](crate::Timeout::Proxy)).
//!
//! *Not covered.* `HTTP_PROXY` is read as well as `http_proxy` (curl
//! ignores the upper-case form for httpoxy's sake): a client run as a CGI
//! program, where request headers become `HTTP_*` variables, should call
//! [`Connector::no_proxy`](crate::Connector::no_proxy) or set its
//! proxy with [`Connector::proxy`](crate::Connector::proxy).
//! `wss://` through an `https://` proxy (TLS inside TLS) is refused with
//! [`ProxyError::TlsInTls`](crate::ProxyError::TlsInTls).
//!
//! *Proof.* `tests/proxy.rs::connect_names_the_host_as_written_and_credentials_stay_with_the_proxy`,
//! `tests/proxy.rs::a_proxy_authorization_header_goes_to_the_proxy_never_to_the_server`,
//! `tests/proxy.rs::environment_picks_the_proxy_per_redirect_hop_and_no_proxy_bypasses`,
//! `tests/proxy.rs::wss_through_a_tunnel_checks_the_servers_name_not_the_proxys`,
//! `tests/proxy.rs::a_server_certificate_for_another_name_fails_through_the_tunnel`,
//! `tests/proxy.rs::a_huge_connect_reply_head_is_an_invalid_reply`,
//! `tests/proxy.rs::data_after_the_connect_reply_is_an_invalid_reply`,
//! `tests/proxy.rs::a_garbage_socks_reply_is_an_invalid_reply`,
//! `tests/proxy.rs::a_proxy_that_never_answers_times_out_within_the_deadline`,
//! `src/proxy/socks5.rs::garbage_replies_are_invalid`,
//! `src/proxy/env.rs::a_bad_variable_is_an_error_that_names_it_not_its_password`;
//! fuzz target `fuzz/fuzz_targets/proxy.rs` (the proxy's replies are
//! hostile input).
//!
//! ### Connection floods: silent, slow and dead peers
//!
//! *What.* Not one library's advisory but the oldest attack on a server
//! with a thread or a slot per connection (slowloris): open connections
//! and send nothing, or a byte now and then, until no slot is left; or
//! vanish without a word and hold a slot forever.
//!
//! *Here.* The accept thread never reads a request: each connection gets
//! its own thread (256 KiB of stack by default). `handshake_timeout`
//! (10 s) covers the whole handshake from the TCP accept, TLS included; a
//! client still sending its request at the deadline gets 408, and half a
//! second later its socket is shut down whatever its thread is waiting
//! on. [`max_connections`](crate::Config::max_connections) (10,000,
//! handshakes included) caps the threads; past it, a new connection is
//! answered 503 with `Retry-After: 1` at once, without its request being
//! read. Past the handshake, a keep-alive ping every
//! [`ping_interval`](crate::Config::ping_interval) (30 s) left unanswered
//! for [`pong_timeout`](crate::Config::pong_timeout) (30 s) closes the
//! client with 1011.
//!
//! *Proof.*
//! - `tests/hostile.rs::two_thousand_silent_connections_are_reaped_at_the_handshake_timeout`:
//!   2,000 connections that send nothing each get 408 (the last within
//!   three times the 2 s deadline), a 2,001st client is served before the
//!   deadline, and afterwards no connection thread is left but the
//!   canary's.
//! - `tests/hostile.rs::silent_connections_over_max_connections_get_503_and_the_slots_come_back`:
//!   with `max_connections` 64, the 63 silent connections that got a slot
//!   get 408 and the other 1,937 get 503; a good client is refused 503
//!   while the server is full and served once the slots are free.
//! - `tests/hostile.rs::a_request_sent_byte_by_byte_gets_408_at_the_handshake_deadline`,
//!   `tests/server/handshake.rs::a_silent_connection_gets_408_at_the_handshake_deadline`,
//!   `tests/server/handshake.rs::connections_over_max_connections_get_503`,
//!   `tests/server/flow.rs::a_dead_peer_is_closed_with_1011_when_its_pong_does_not_come`,
//!   `tests/server/flow.rs::an_idle_client_is_closed_with_1001_after_the_read_timeout`,
//!   `tests/server/main.rs::a_panicking_handler_ends_its_client_and_frees_its_slot`.
//!
//! ### Protocol violations and invalid UTF-8
//!
//! Not an advisory either, but strictness is a defence: RFC 6455 §5.1 to
//! §5.5 and §8.1 require an endpoint to fail the connection on each of
//! these, and every rule skipped is a state a parser must then survive.
//! Reserved opcodes, RSV bits no extension owns, unmasked client frames,
//! fragmented or oversized control frames and malformed lengths are
//! refused from the header (1002); text is validated as it arrives, so
//! invalid UTF-8 fails at the frame that carries it, before the message
//! ends (1007).
//!
//! *Proof.* `tests/hostile.rs::reserved_opcodes_get_1002`,
//! `tests/hostile.rs::rsv_bits_without_an_extension_get_1002`,
//! `tests/hostile.rs::rsv1_on_a_control_frame_gets_1002_with_deflate_negotiated`,
//! `tests/hostile.rs::unmasked_client_frames_get_1002`,
//! `tests/hostile.rs::fragmented_control_frames_get_1002`,
//! `tests/hostile.rs::oversized_control_frames_get_1002`,
//! `tests/hostile.rs::a_malformed_head_gets_400`,
//! `tests/hostile.rs::invalid_utf8_in_the_first_fragment_gets_1007_at_once`,
//! `tests/hostile.rs::invalid_utf8_in_a_close_reason_gets_1007`,
//! `tests/hostile.rs::overlong_encodings_get_1007_at_once`,
//! `tests/hostile.rs::surrogates_get_1007_at_once` (each 1007 within 1 s
//! of a message left unfinished); Autobahn TestSuite cases 1 to 10 in
//! both roles (`make autobahn`).
//!
//! ### Hixie-76 clients: no masking (opt-in, off by default)
//!
//! *What.* In 2010 Huang, Chen, Barth, Rescorla and Jackson ("Talking to
//! Yourself for Fun and Profit", cited by RFC 6455 §10.3) showed that a
//! script speaking the WebSocket drafts of the time could poison the cache
//! of a transparent proxy on its network: a proxy that does not understand
//! the `Upgrade` reads the bytes after the handshake as more HTTP, and
//! draft-hixie-thewebsocketprotocol-76 puts a script's text on the wire
//! byte for byte (`0x00`, the text, `0xFF`). The script writes a request
//! for another site's script, its own server answers it, and the proxy
//! serves that answer to everyone behind it. Browsers turned WebSocket off
//! until RFC 6455 made clients mask every frame with a fresh random key
//! (§5.3), so that a script no longer chooses the bytes on the wire.
//! Hixie-76 has no masking, no close codes and no pings, and its MD5
//! challenge proves only that the server read the request.
//!
//! *Here.* A hixie-76 request is answered 426 with
//! `Sec-WebSocket-Version: 13` unless the server opts in with
//! [`ServerBuilder::hixie76`](crate::ServerBuilder::hixie76) (`stdws serve
//! --hixie76`), for a deployment that must keep old devices alive. A server
//! cannot mask on its clients' behalf: the risk is to the proxies between
//! such clients and it, so turn it on for clients you know, preferably
//! over `wss://` (a TLS tunnel is opaque to a transparent proxy). The rest
//! is strict and bounded like everything else: keys whose digits are not
//! a multiple of their spaces, keys without spaces or above 32 bits (a key
//! of thousands of digits is refused at the eleventh) and a missing 8-byte
//! body are answered 400, the body is read under
//! [`handshake_timeout`](crate::Config::handshake_timeout) (408); a text
//! frame has no length, so one without its end byte is cut off at
//! [`max_message_size`](crate::Config::max_message_size); the
//! length-prefixed frames of the draft (which a server was to skip by
//! their declared length) and every type byte but text and close close
//! the connection, as does invalid UTF-8, at the byte that makes it so.
//! Without pings, an idle timeout is what lets a dead hixie-76 client go:
//! [`read_timeout`](crate::Config::read_timeout) if set, else
//! `ping_interval` + `pong_timeout` (60 s by default), the time a silent
//! RFC 6455 client is given.
//!
//! *Proof.*
//! - `tests/hixie76.rs::without_the_option_a_hixie76_request_gets_426_with_version_13`,
//!   `tests/hixie76.rs::the_drafts_handshake_is_answered_byte_for_byte`,
//!   `tests/hixie76.rs::the_8_byte_body_is_required_within_the_handshake_deadline`
//!   (400 when the stream ends, 408 at the deadline),
//!   `tests/hixie76.rs::no_pings_reach_a_hixie76_client_and_the_idle_timeout_lets_it_go`,
//!   `tests/hixie76.rs::without_a_read_timeout_a_silent_hixie76_client_goes_when_a_dead_one_would`.
//! - `tests/hostile_hixie76.rs::a_hixie76_key_flood_gets_400_at_once`
//!   (7,000 digits in a key, 30 keys: 400 within 1 s),
//!   `tests/hostile_hixie76.rs::a_hixie76_frame_without_its_end_byte_is_closed_at_max_message_size`
//!   (64 MiB offered, closed at 64 KiB, memory within 4 MiB),
//!   `tests/hostile_hixie76.rs::hixie76_frames_of_other_types_close_the_connection`
//!   (a length-prefixed frame declaring 2^35 bytes among them),
//!   `tests/hostile_hixie76.rs::invalid_utf8_from_a_hixie76_client_closes_it_at_once`.
//! - `src/handshake/hixie76.rs::keys_that_no_client_sends_are_refused`,
//!   `src/hixie76/frame.rs::text_without_its_end_byte_is_cut_off_at_the_limit`,
//!   `src/hixie76/frame.rs::invalid_utf8_fails_as_soon_as_it_arrives`,
//!   `src/hixie76/read.rs::a_frame_without_its_end_is_refused_at_the_limit_with_bounded_memory`;
//!   fuzz target `fuzz/fuzz_targets/hixie76.rs` (keys against a reference
//!   computation, frames the same whole and in pieces).
//!
//! ## Every limit and its default
//!
//! ### [`Config`](crate::Config): every connection, both roles
//!
//! | limit | default | when exceeded |
//! |---|---|---|
//! | [`max_frame_size`](crate::Config::max_frame_size) | 16 MiB | close 1009 from the header alone, before the payload ([`CapacityError::FrameTooBig`](crate::CapacityError::FrameTooBig)); a compressed frame counts its compressed bytes |
//! | [`max_message_size`](crate::Config::max_message_size) | 16 MiB | close 1009 ([`CapacityError::MessageTooBig`](crate::CapacityError::MessageTooBig)), checked on each frame's declared length and on inflated bytes as they are produced |
//! | [`max_fragments`](crate::Config::max_fragments) | 65,537 frames per message | close 1009 ([`CapacityError::TooManyFragments`](crate::CapacityError::TooManyFragments)); empty frames count |
//! | [`max_header_bytes`](crate::Config::max_header_bytes) | 16 KiB | server: HTTP 431 ([`HandshakeError::Rejected`](crate::HandshakeError::Rejected)), the head read no further; client: the handshake fails |
//! | [`max_header_line`](crate::Config::max_header_line) | 8 KiB | as `max_header_bytes` |
//! | [`max_headers`](crate::Config::max_headers) | 64 fields | as `max_header_bytes` |
//! | [`handshake_timeout`](crate::Config::handshake_timeout) | 10 s for the whole handshake (TLS included in a server) | server: HTTP 408, and a [`Server`](crate::Server) shuts the socket down 0.5 s later; client: [`Timeout::Handshake`](crate::Timeout::Handshake) |
//! | [`close_timeout`](crate::Config::close_timeout) | 5 s | connection dropped ([`Timeout::Close`](crate::Timeout::Close)) |
//! | [`read_timeout`](crate::Config::read_timeout) | none | [`Connection`](crate::Connection): [`Timeout::Read`](crate::Timeout::Read), the connection stays usable; [`Server`](crate::Server): close 1001 "idle timeout" |
//! | [`write_timeout`](crate::Config::write_timeout) | 30 s | `Connection`: [`Timeout::Write`](crate::Timeout::Write), the connection fails; `Server`: close 1008 "write timed out", the connection cut if the close frame cannot get through |
//! | [`max_write_buffer`](crate::Config::max_write_buffer) | 16 MiB | `Connection`: [`CapacityError::WriteBufferFull`](crate::CapacityError::WriteBufferFull) on `feed`; `Server`: caps a client's outgoing queue (bytes plus each chunk's bookkeeping), close 1008 "outgoing queue full" |
//! | [`max_connections`](crate::Config::max_connections) | 10,000 | `Server` only: HTTP 503 with `Retry-After: 1`, before the request is read; handshakes count |
//! | [`ping_interval`](crate::Config::ping_interval) | 30 s | `Server` only: a keep-alive ping to each client this often |
//! | [`pong_timeout`](crate::Config::pong_timeout) | 30 s | `Server` only: close 1011 "no pong" ([`Timeout::Pong`](crate::Timeout::Pong)) |
//!
//! The other fields of `Config` are options rather than limits; their
//! defaults matter here too:
//!
//! | option | default | why it matters |
//! |---|---|---|
//! | [`auto_pong`](crate::Config::auto_pong) | on | pongs go out as pings come in; a server queues those the peer does not read under `max_write_buffer` |
//! | [`idle_release`](crate::Config::idle_release) | 1 s | `Server` only: a client silent this long gives its read buffer back and waits without one (`tests/idle.rs`), so 10,000 quiet clients hold no read buffers |
//! | [`fragment_size`](crate::Config::fragment_size) | none | messages we send go in one frame |
//! | [`nodelay`](crate::Config::nodelay) | on | `TCP_NODELAY` on sockets stdws opens or accepts |
//! | [`extensions`](crate::Config::extensions) | none | compression is off until [`Config::deflate`](crate::Config::deflate) turns it on |
//!
//! ### [`ServerBuilder`](crate::ServerBuilder)
//!
//! | limit | default | what it bounds |
//! |---|---|---|
//! | [`stack_size`](crate::ServerBuilder::stack_size) | 256 KiB per client thread (1 MiB in debug builds with an extension configured) | memory per connection; a handler that needs more stack must ask for it |
//! | [`shutdown_timeout`](crate::ServerBuilder::shutdown_timeout) | 5 s | [`Server::shutdown`](crate::Server::shutdown) sends 1001 to every client, then cuts off those that have not answered |
//! | [`backlog`](crate::ServerBuilder::backlog) | 1,024 | connections waiting for `accept`; past it the kernel drops them and clients retry |
//! | [`send_buffer_size`](crate::ServerBuilder::send_buffer_size) | the system's | kernel memory per client; smaller notices a slow reader sooner |
//!
//! ### [`PerMessageDeflate`](crate::PerMessageDeflate) (off by default)
//!
//! | limit | default | what it bounds |
//! |---|---|---|
//! | inflated bytes | `max_message_size` | close 1009 once a message inflates past it, checked on every step of at most 32 KiB, before the step is copied out |
//! | decompression history | 32 KiB | serves every window a peer may use (8 to 15 bits); about 43 KB per connection, allocated at the first compressed message |
//! | [`server_max_window_bits`](crate::PerMessageDeflate::server_max_window_bits), [`client_max_window_bits`](crate::PerMessageDeflate::client_max_window_bits) | 15 bits (32 KiB) | our compressor keeps to the negotiated window; it takes about 300 KB per connection, allocated at the first compressed send |
//! | [`min_size`](crate::PerMessageDeflate::min_size) | 64 bytes | smaller messages are sent as they are |
//!
//! ### Authentication and redirects
//!
//! | limit | default | when exceeded |
//! |---|---|---|
//! | [`MAX_NONCES`](crate::handshake::auth::MAX_NONCES) | 4,096 Digest nonces remembered | the oldest is forgotten; an answer to it is treated as expired |
//! | [`nonce_lifetime`](crate::handshake::auth::Authenticator::nonce_lifetime) | 300 s | 401 with `stale=true`: the client retries with a fresh nonce |
//! | [`max_redirects`](crate::Connector::max_redirects) | 0 | at 0 a redirect is returned as [`HandshakeError::UnexpectedStatus`](crate::HandshakeError::UnexpectedStatus); past a raised maximum, or on a loop, [`HandshakeError::Redirect`](crate::HandshakeError::Redirect) |
//!
//! ### Fixed in the code
//!
//! | limit | value | when exceeded |
//! |---|---|---|
//! | control frame payload | 125 bytes (RFC 6455 §5.5) | close 1002 (`ControlFrameTooLong`), from the header |
//! | close reason we send | 123 bytes, cut at a character boundary | cut, never refused |
//! | our pings remembered for matching pongs | 16 | the oldest is forgotten; no error |
//! | read buffer | 8 KiB per connection, allocated at first use | payload remainders of 4 KiB or more are read straight into the message |
//! | payload growth | 64 KiB ahead of the bytes received | memory follows what arrives, not what a header declares |
//! | HTTP head reads | 2 KiB per read | the head buffer grows one read at a time, and reading stops at the first cap broken |
//! | refused connections kept while their 503 drains | 256 at once, 1 s each | further ones are closed at once after the 503 is sent |
//! | socket shut down after the handshake deadline | 0.5 s | whatever the client's thread waits on |
