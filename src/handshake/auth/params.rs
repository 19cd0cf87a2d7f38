//! The auth-param grammar of RFC 9110 §11 that both sides parse:
//! challenges (`WWW-Authenticate`) and credentials (`Authorization`).

/// A quoted-string (RFC 9110 §5.6.4).
pub(super) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

pub(super) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A scheme and its `name=value` parameters (values unquoted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub(crate) scheme: String,
    pub(crate) params: Vec<(String, String)>,
}

/// A cursor over an auth header value (RFC 9110 §11: challenges,
/// credentials, auth-params).
struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn skip(&mut self, chars: &[u8]) {
        while self.pos < self.s.len() && chars.contains(&self.s[self.pos]) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn token(&mut self) -> Option<&'a str> {
        let start = self.pos;
        while self.peek().is_some_and(crate::handshake::is_tchar) {
            self.pos += 1;
        }
        (self.pos > start).then(|| std::str::from_utf8(&self.s[start..self.pos]).ok())?
    }

    fn quoted(&mut self) -> Option<String> {
        self.pos += 1; // the opening quote
        let mut out = Vec::new();
        loop {
            match self.peek()? {
                b'"' => {
                    self.pos += 1;
                    return String::from_utf8(out).ok();
                }
                b'\\' => {
                    out.push(*self.s.get(self.pos + 1)?);
                    self.pos += 2;
                }
                c => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// `name = value` pairs separated by commas, until something that is
    /// not one (the next challenge's scheme) or the end.
    fn params(&mut self) -> Option<Vec<(String, String)>> {
        let mut params = Vec::new();
        loop {
            self.skip(b" \t,");
            let save = self.pos;
            let Some(name) = self.token() else {
                return Some(params);
            };
            self.skip(b" \t");
            if self.peek() != Some(b'=') {
                self.pos = save;
                return Some(params);
            }
            self.pos += 1;
            self.skip(b" \t");
            let value = match self.peek() {
                Some(b'"') => self.quoted()?,
                _ => self.token().unwrap_or("").to_owned(),
            };
            params.push((name.to_ascii_lowercase(), value));
            self.skip(b" \t");
            match self.peek() {
                None | Some(b',') => {}
                // Something else after a value: malformed.
                _ => return None,
            }
        }
    }
}

/// Parses `name=value, name="value"` (Digest credentials).
pub(super) fn parse_params(s: &str) -> Option<Vec<(String, String)>> {
    let mut c = Cursor {
        s: s.as_bytes(),
        pos: 0,
    };
    let params = c.params()?;
    c.skip(b" \t,");
    (c.pos == c.s.len()).then_some(params)
}

/// Parses every challenge in these `WWW-Authenticate` values. Malformed
/// values are skipped.
pub(crate) fn parse_challenges<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<Challenge> {
    let mut out = Vec::new();
    for value in values {
        let mut c = Cursor {
            s: value.as_bytes(),
            pos: 0,
        };
        let mut found = Vec::new();
        loop {
            c.skip(b" \t,");
            if c.peek().is_none() {
                out.append(&mut found);
                break;
            }
            let Some(scheme) = c.token() else { break };
            let Some(params) = c.params() else { break };
            found.push(Challenge {
                scheme: scheme.to_owned(),
                params,
            });
        }
    }
    out
}
