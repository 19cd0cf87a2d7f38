//! Bytes on the wire: RFC 6455 examples, frame encoding for seeds, and a
//! strict decoder for what stdws wrote.

use stdws::frame::{apply_mask, parse_header, HeaderRules, Status};
use stdws::handshake::accept_key;
use stdws::{Frame, Role, Rsv};

/// The opening request of RFC 6455 §1.2.
pub const RFC_REQUEST: &str = "GET /chat HTTP/1.1\r\n\
    Host: server.example.com\r\n\
    Upgrade: websocket\r\n\
    Connection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Origin: http://example.com\r\n\
    Sec-WebSocket-Protocol: chat, superchat\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

/// The key of [`RFC_REQUEST`].
pub const RFC_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// The `Sec-WebSocket-Accept` answering [`RFC_KEY`].
pub const RFC_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// The answer of RFC 6455 §1.2.
pub const RFC_RESPONSE: &str = "HTTP/1.1 101 Switching Protocols\r\n\
    Upgrade: websocket\r\n\
    Connection: Upgrade\r\n\
    Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
    Sec-WebSocket-Protocol: chat\r\n\r\n";

/// The subprotocols [`RFC_REQUEST`] offers.
pub fn rfc_protocols() -> Vec<String> {
    vec!["chat".to_owned(), "superchat".to_owned()]
}

/// The masking key of the RFC 6455 §5.7 examples.
pub const RFC_MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// The `Sec-WebSocket-Key` value in a request we wrote.
pub fn request_key(request: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(request);
    text.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("Sec-WebSocket-Key")
            .then(|| value.trim().to_owned())
    })
}

/// `response` with every [`RFC_ACCEPT`] replaced by the accept value for
/// the key of `request` (same length), so a response written for the RFC
/// key answers a client's random key.
pub fn with_real_accept(response: &[u8], request: &[u8]) -> Vec<u8> {
    let Some(key) = request_key(request) else {
        return response.to_vec();
    };
    let real = accept_key(&key);
    let needle = RFC_ACCEPT.as_bytes();
    let mut out = Vec::with_capacity(response.len());
    let mut i = 0;
    while i < response.len() {
        if response[i..].starts_with(needle) {
            out.extend_from_slice(real.as_bytes());
            i += needle.len();
        } else {
            out.push(response[i]);
            i += 1;
        }
    }
    out
}

/// The wire bytes of `frames` as `sender` sends them: a client masks
/// (with the RFC example key), a server does not.
pub fn frames(sender: Role, frames: &[Frame]) -> Vec<u8> {
    let mut out = Vec::new();
    for frame in frames {
        let mut frame = frame.clone();
        if sender == Role::Client && frame.mask.is_none() {
            frame.mask = Some(RFC_MASK);
        }
        frame.encode_into(&mut out);
    }
    out
}

/// Decodes every frame that `sender` wrote, strictly: the header rules of
/// the receiving role (any RSV bits allowed), the whole payload present,
/// no bytes left over. The payloads come back unmasked.
pub fn decode(sender: Role, mut bytes: &[u8]) -> Result<Vec<Frame>, String> {
    let receiver = match sender {
        Role::Client => Role::Server,
        Role::Server => Role::Client,
    };
    let rules = HeaderRules {
        role: receiver,
        allowed_rsv: Rsv::from_bits(0x70),
        max_frame_size: u64::MAX,
    };
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (n, header) = match parse_header(bytes, &rules) {
            Ok(Status::Complete(done)) => done,
            Ok(Status::Partial) => return Err(format!("truncated header {bytes:x?}")),
            Err(e) => return Err(format!("invalid header: {e}")),
        };
        let len = usize::try_from(header.payload_len).map_err(|e| e.to_string())?;
        let end = n
            .checked_add(len)
            .filter(|&end| end <= bytes.len())
            .ok_or("truncated payload")?;
        let mut payload = bytes[n..end].to_vec();
        if let Some(key) = header.mask {
            apply_mask(&mut payload, key);
        }
        out.push(Frame {
            fin: header.fin,
            rsv: header.rsv,
            opcode: header.opcode,
            mask: header.mask,
            payload,
        });
        bytes = &bytes[end..];
    }
    Ok(out)
}
