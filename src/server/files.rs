//! Plain HTTP on the WebSocket port: static files from a document root and
//! the built-in echo console page.
//!
//! A request path maps to a file only through checked steps: percent
//! escapes are decoded per segment, and a segment that decodes to a
//! separator (`%2f`, `%5c`), a NUL, or that starts with a dot (`.`, `..`,
//! `%2e%2e`, hidden files) is refused with 404, so nothing climbs out of
//! the root by name. The file found is then resolved through symlinks and
//! must still lie under the (resolved) root, else 403. Directories serve
//! their `index.html`, never a listing.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::handshake::server::{push_header, Reject};
use crate::stream::Stream;
use crate::transport::duplex::DuplexStream;
use crate::upgrade::ServerHandshake;

/// The echo console page served at `/` (see `assets/console.html`).
pub(crate) const CONSOLE_HTML: &str = include_str!("../../assets/console.html");

/// A directory whose files are served.
#[derive(Debug, Clone)]
pub(crate) struct DocumentRoot {
    /// The root with symlinks resolved.
    root: PathBuf,
}

/// A file to serve.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) path: PathBuf,
    pub(crate) content_type: &'static str,
}

impl DocumentRoot {
    /// The root must be an existing directory.
    pub(crate) fn new(dir: &Path) -> io::Result<DocumentRoot> {
        let root = dir.canonicalize()?;
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a directory", dir.display()),
            ));
        }
        Ok(DocumentRoot { root })
    }

    /// The file for a request path, or the HTTP status that refuses it.
    pub(crate) fn resolve(&self, url_path: &str) -> Result<Found, u16> {
        let mut path = self.root.clone();
        for segment in segments(url_path)? {
            path.push(segment);
        }
        let mut real = self.inside(&path)?;
        if real.is_dir() {
            real = self.inside(&real.join("index.html"))?;
        }
        if !real.is_file() {
            return Err(404);
        }
        Ok(Found {
            content_type: content_type(&real),
            path: real,
        })
    }

    /// `path` with symlinks resolved, if it exists and stays in the root.
    fn inside(&self, path: &Path) -> Result<PathBuf, u16> {
        let real = path.canonicalize().map_err(|e| match e.kind() {
            io::ErrorKind::PermissionDenied => 403u16,
            _ => 404,
        })?;
        if real.starts_with(&self.root) {
            Ok(real)
        } else {
            Err(403)
        }
    }
}

/// The decoded segments of an absolute request path.
fn segments(url_path: &str) -> Result<Vec<String>, u16> {
    let Some(rest) = url_path.strip_prefix('/') else {
        return Err(400);
    };
    let mut out = Vec::new();
    for raw in rest.split('/').filter(|s| !s.is_empty()) {
        let bytes = percent_decode(raw).ok_or(400u16)?;
        let segment = String::from_utf8(bytes).map_err(|_| 404u16)?;
        if segment.starts_with('.') || segment.contains(['/', '\\', '\0']) {
            return Err(404);
        }
        out.push(segment);
    }
    Ok(out)
}

/// Decodes `%XX` escapes; `None` for a malformed escape.
fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The `Content-Type` for a file name.
pub(crate) fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("txt" | "md") => "text/plain; charset=utf-8",
        Some("xml") => "application/xml",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("ico") => "image/x-icon",
        Some("wasm") => "application/wasm",
        Some("pdf") => "application/pdf",
        Some("woff") => "font/woff",
        Some("woff2") => "font/woff2",
        Some("mp3") => "audio/mpeg",
        Some("mp4") => "video/mp4",
        Some("webm") => "video/webm",
        _ => "application/octet-stream",
    }
}

/// What the server offers over plain HTTP.
pub(crate) struct Site<'a> {
    pub(crate) console: bool,
    pub(crate) root: Option<&'a DocumentRoot>,
    /// The path is a WebSocket resource (answered 426 to plain HTTP).
    pub(crate) is_route: bool,
    pub(crate) write_timeout: Option<Duration>,
}

/// Answers a plain HTTP request (not an upgrade), then ends the stream.
pub(crate) fn respond(site: &Site<'_>, pending: ServerHandshake<DuplexStream>) {
    let request = pending.request();
    let head = request.method == "HEAD";
    if request.method != "GET" && !head {
        let reject = Reject::new(405, format!("method {} not allowed", request.method))
            .header("Allow", "GET, HEAD");
        let _ = pending.reject(reject);
        return;
    }
    let path = request.path().to_owned();
    if site.console && path == "/" {
        let bytes = CONSOLE_HTML.as_bytes();
        let response = ok_head("text/html; charset=utf-8", bytes.len() as u64);
        if let Ok(mut stream) = pending.respond(&response) {
            if !head {
                let _ = stream.write_all(bytes);
            }
            let _ = stream.shutdown_write();
        }
        return;
    }
    let found = match site.root {
        Some(root) => root.resolve(&path),
        None => Err(404),
    };
    let found = match found {
        Ok(found) => found,
        Err(404) if site.is_route => {
            let _ = pending.reject(Reject::new(426, "this is a WebSocket resource"));
            return;
        }
        Err(status) => {
            let _ = pending.reject(Reject::new(status, status_reason(status)));
            return;
        }
    };
    let file = File::open(&found.path).and_then(|f| Ok((f.metadata()?.len(), f)));
    let Ok((len, mut file)) = file else {
        let _ = pending.reject(Reject::new(404, status_reason(404)));
        return;
    };
    let response = ok_head(found.content_type, len);
    if let Ok(mut stream) = pending.respond(&response) {
        if !head {
            // The body may take longer than the handshake deadline: each
            // write gets the write timeout instead.
            let _ = stream.set_write_timeout(site.write_timeout);
            if let Err(e) = io::copy(&mut file, &mut stream) {
                log::debug!("sending {}: {e}", found.path.display());
            }
        }
        let _ = stream.shutdown_write();
    }
}

fn status_reason(status: u16) -> &'static str {
    match status {
        400 => "malformed path",
        403 => "outside the document root",
        _ => "no such file",
    }
}

fn ok_head(content_type: &str, len: u64) -> Vec<u8> {
    let mut out = String::from("HTTP/1.1 200 OK\r\n");
    push_header(&mut out, "Content-Type", content_type);
    push_header(&mut out, "Content-Length", &len.to_string());
    push_header(&mut out, "Cache-Control", "no-cache");
    push_header(&mut out, "X-Content-Type-Options", "nosniff");
    push_header(&mut out, "Connection", "close");
    out.push_str("\r\n");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (PathBuf, DocumentRoot) {
        let base = std::env::temp_dir().join(format!(
            "stdws-files-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("www/sub")).unwrap();
        std::fs::write(base.join("www/a.txt"), "a").unwrap();
        std::fs::write(base.join("www/sub/index.html"), "<p>").unwrap();
        std::fs::write(base.join("www/.secret"), "s").unwrap();
        std::fs::write(base.join("outside.txt"), "o").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(base.join("outside.txt"), base.join("www/link.txt"))
                .unwrap();
            std::os::unix::fs::symlink(base.join("www/a.txt"), base.join("www/in.txt")).unwrap();
        }
        let root = DocumentRoot::new(&base.join("www")).unwrap();
        (base, root)
    }

    #[test]
    fn files_and_index_pages_are_found_with_their_types() {
        let (base, root) = tree();
        let found = root.resolve("/a.txt").unwrap();
        assert_eq!(found.content_type, "text/plain; charset=utf-8");
        assert_eq!(found.path, base.join("www/a.txt").canonicalize().unwrap());
        let index = root.resolve("/sub/").unwrap();
        assert_eq!(index.content_type, "text/html; charset=utf-8");
        assert_eq!(root.resolve("/%61.txt").unwrap().path, found.path);
        #[cfg(unix)]
        assert_eq!(root.resolve("/in.txt").unwrap().path, found.path);
        assert_eq!(root.resolve("/missing"), Err(404));
        assert_eq!(root.resolve("/"), Err(404), "no listing, no index");
    }

    #[test]
    fn traversal_attempts_are_refused() {
        let (_base, root) = tree();
        for path in [
            "/../outside.txt",
            "/sub/../../outside.txt",
            "/%2e%2e/outside.txt",
            "/%2E%2E/outside.txt",
            "/.%2e/outside.txt",
            "/sub%2f..%2f..%2foutside.txt",
            "/..%5coutside.txt",
            "/a.txt%00.html",
            "/.secret",
        ] {
            assert_eq!(root.resolve(path), Err(404), "{path}");
        }
        assert_eq!(root.resolve("/%zz"), Err(400));
        assert_eq!(root.resolve("relative"), Err(400));
        #[cfg(unix)]
        assert_eq!(
            root.resolve("/link.txt"),
            Err(403),
            "symlink out of the root"
        );
    }
}
