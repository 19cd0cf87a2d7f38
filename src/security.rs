//! # Security: what went wrong elsewhere, and what stops it here
//!
//! A WebSocket server meets peers that lie about lengths, send headers
//! forever, compress bombs, split messages into dust or stop reading. Each
//! entry below is a published advisory against another library: what it
//! was, the limit or rule in stdws that stops it, and the test that proves
//! it. Tests marked *planned* belong to work still under way (the
//! hostile-input suite against a running server, the compression and
//! authentication work) and are named here so that they can be found.
//!
//! Every defence is on by default: [`Config::default()`](crate::Config) is
//! meant for a public server. Beyond the entries below, the fuzz targets in
//! `fuzz/` (`make fuzz`) feed the header parser, both handshake parsers, the
//! extension parser, the URL parser and whole connections with arbitrary
//! bytes, built with overflow checks, under a memory cap; what they found
//! is kept in `tests/security.rs` and `url::tests`.
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
//! [`max_headers`](crate::Config::max_headers) as the bytes arrive (HTTP
//! 431), and [`handshake_timeout`](crate::Config::handshake_timeout) bounds
//! the whole handshake, not each read (HTTP 408).
//!
//! *Proof.* `tests/security.rs`:
//! `header_line_sent_byte_by_byte_stops_being_read_at_the_cap`;
//! `tests/handshake.rs`: `header_caps_get_431`,
//! `slow_handshake_gets_408_at_the_deadline_not_per_read`; unit tests
//! `handshake::tests::scanner_enforces_each_cap` and
//! `handshake::server::tests::every_split_point_parses_the_same`; fuzz
//! targets `handshake_request` and `handshake_response` (the answer is the
//! same whole, in three pieces, or one byte at a time). *Planned*
//! (`tests/hostile.rs`): `header_flood_gets_431_in_linear_time` (1 MiB of
//! headers, 10,000 headers, a 100 KiB line) and
//! `request_line_byte_by_byte_gets_408_at_the_deadline`.
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
//! the payload buffer grows with the bytes that have arrived, never with
//! the length declared, so a peer that declares 16 MiB and sends ten bytes
//! costs ten bytes.
//!
//! *Proof.* `tests/security.rs`:
//! `frame_declaring_2_pow_63_minus_1_bytes_gets_1009_before_any_payload`;
//! `tests/violations.rs`: `frame_over_max_frame_size_gets_1009_before_its_payload`,
//! `message_over_max_message_size_gets_1009`; unit tests
//! `frame::tests::rejects_frames_over_max_frame_size_before_the_payload`,
//! `frame::tests::rejects_64_bit_length_with_top_bit_as_soon_as_it_is_seen`,
//! `protocol::tests::message_size_is_checked_on_the_declared_length`; fuzz
//! targets `frame_header` and `connection` (a 512 MiB memory cap, truncated
//! frames declaring large payloads in the seeds). *Planned*
//! (`tests/hostile.rs`): `declared_2_pow_63_minus_1_bytes_gets_1009_rss_flat`
//! and `frame_just_over_max_frame_size_gets_1009_rss_flat`.
//!
//! ### ws-rs RUSTSEC-2020-0043 (CVE-2020-35896): unbounded outgoing buffer
//!
//! *What.* The `ws` crate up to 0.9.1 did not cap its outgoing buffer: a
//! peer could make one connection's buffer grow until the process ran out
//! of memory (fixed in the `parity-ws` fork by disconnecting the client
//! when the buffer is full).
//!
//! *Here.* Nothing is queued without bound. A sent message, and the pong
//! that answers a ping, is written before the call returns, under
//! [`write_timeout`](crate::Config::write_timeout) (30 s): a peer that stops
//! reading stalls only its own connection, which then fails with
//! [`Timeout::Write`](crate::Timeout::Write). The explicit batching of
//! [`Connection::feed`](crate::Connection::feed) is capped by
//! [`max_write_buffer`](crate::Config::max_write_buffer) (16 MiB), past
//! which `feed` answers [`CapacityError::WriteBufferFull`](crate::CapacityError::WriteBufferFull).
//!
//! *Proof.* `tests/security.rs`: `feed_past_max_write_buffer_is_refused`.
//! *Planned* (`tests/hostile.rs`):
//! `ping_flood_from_a_peer_that_never_reads_is_closed_rss_flat` and
//! `peer_that_never_reads_is_dropped_at_the_write_timeout` (closed with
//! 1008, the other clients still served).
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
//! *Proof.* Unit tests
//! `frame::tests::rejects_64_bit_length_with_top_bit_as_soon_as_it_is_seen`,
//! `frame::tests::rejects_non_minimal_lengths`; fuzz targets `frame_header`
//! (every complete header re-encodes to the bytes it came from) and
//! `connection` (reads in pieces and whole give the same events), both
//! built with overflow checks, so a wrapping length would be a crash.
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
//! *Proof.* `tests/security.rs`: `client_masks_each_frame_with_a_fresh_key`;
//! unit test `mask::tests::keys_differ`.
//!
//! ### Python websockets CVE-2018-1000518: decompression bomb
//!
//! *What.* websockets 4.0 did not apply `max_size` while decompressing
//! permessage-deflate messages: a small compressed frame could inflate
//! until memory ran out (fixed in 5.0).
//!
//! *Here.* An extension's [`FrameDecoder::decode`](crate::extension::FrameDecoder::decode)
//! is given what is left of [`max_message_size`](crate::Config::max_message_size)
//! and must fail with 1009 while producing output, never after; the
//! receiver checks the result again, so even a decoder that ignores its
//! limit cannot grow a message past the maximum.
//!
//! *Proof.* `tests/security.rs`: `extension_that_overruns_its_limit_still_gets_1009`;
//! compression work: the permessage-deflate unit test
//! `a_small_frame_that_inflates_past_the_limit_is_too_big` and the deflate
//! codec's `output_is_cut_at_the_limit_in_bounded_chunks`. *Planned*:
//! `tests/hostile.rs`: `deflate_bomb_of_10_kib_to_1_gib_gets_1009_rss_flat`;
//! the fuzz target `inflate` (permessage-deflate decoding arbitrary bytes
//! under arbitrary limits).
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
//! *Proof.* As above. *Planned* (`tests/hostile.rs`):
//! `message_compressed_below_max_frame_size_inflating_past_max_message_size_gets_1009`.
//!
//! ### Python websockets CVE-2021-33880: timing attack on Basic auth
//!
//! *What.* websockets 8.0 to 9.0.2 checked HTTP Basic credentials in a
//! time that depended on the password guessed (an ordinary string
//! comparison), so an attacker could guess a password by timing (fixed in
//! 9.1 with a constant-time comparison).
//!
//! *Here.* The authentication work compares secrets in constant time (as
//! digests of both sides, so neither the position of a difference nor the
//! length shows), and checks an unknown user the same way as a known one.
//!
//! *Proof.* Authentication work: `basic_accepts_the_right_password_only`.
//! *Planned* (authentication work): `secret_comparison_time_does_not_depend_on_the_guess`.
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
//! *Proof.* `tests/security.rs`:
//! `protocol_list_of_spaces_is_refused_with_400_in_linear_time`; fuzz
//! target `handshake_request`.
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
//! *Proof.* `tests/security.rs`: `key_in_the_last_allowed_header_field_is_found`;
//! `tests/handshake.rs`: `header_caps_get_431`, `bad_requests_get_400_with_a_reason`.
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
//! *Proof.* `tests/security.rs`: `empty_continuation_frames_count_toward_max_fragments`;
//! `tests/violations.rs`: `too_many_fragments_get_1009`; unit test
//! `protocol::tests::fragment_cap`. *Planned* (`tests/hostile.rs`):
//! `million_empty_continuation_frames_get_1009` and
//! `hundred_thousand_one_byte_fragments_get_1009`.
//!
//! ## Every limit and its default
//!
//! | limit | default | when exceeded |
//! |---|---|---|
//! | [`max_frame_size`](crate::Config::max_frame_size) | 16 MiB | close 1009, from the header, before the payload |
//! | [`max_message_size`](crate::Config::max_message_size) | 16 MiB | close 1009; counts decompressed bytes; checked on declared lengths |
//! | [`max_fragments`](crate::Config::max_fragments) | 65,537 | close 1009; empty frames count |
//! | [`max_header_bytes`](crate::Config::max_header_bytes) | 16 KiB | HTTP 431 |
//! | [`max_header_line`](crate::Config::max_header_line) | 8 KiB | HTTP 431 |
//! | [`max_headers`](crate::Config::max_headers) | 64 | HTTP 431 |
//! | [`handshake_timeout`](crate::Config::handshake_timeout) | 10 s for the whole handshake | HTTP 408 |
//! | [`close_timeout`](crate::Config::close_timeout) | 5 s | connection dropped ([`Timeout::Close`](crate::Timeout::Close)) |
//! | [`read_timeout`](crate::Config::read_timeout) | none | [`Timeout::Read`](crate::Timeout::Read); the connection stays usable |
//! | [`write_timeout`](crate::Config::write_timeout) | 30 s | [`Timeout::Write`](crate::Timeout::Write); the connection fails |
//! | [`max_write_buffer`](crate::Config::max_write_buffer) | 16 MiB | [`CapacityError::WriteBufferFull`](crate::CapacityError::WriteBufferFull) on `feed` |
//! | control frame payload | 125 bytes (RFC 6455 §5.5) | close 1002 |
//! | close reason we send | 123 bytes, cut at a character boundary | cut, never refused |
//! | pings awaiting a pong | 16 (the oldest is forgotten) | no error |
//! | read buffer | 8 KiB per connection; larger payloads bypass it | — |
//!
//! <!-- Server limits (connections, handshake workers, per-client stacks,
//! keep-alive ping and pong timeouts) go here, from the server work. -->
//! *To be completed:* the server's limits (maximum connections and what the
//! next one is answered, keep-alive ping interval and pong timeout) and the
//! compression limits (window bits, decompression chunking), from the
//! server and compression work.
