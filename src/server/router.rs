//! Which handler serves which resource path, and who may connect.

use std::sync::Arc;

use super::handler::Handler;
use crate::handshake::server::Request;

/// Handlers by exact resource path, and one for every other path.
#[derive(Default, Clone)]
pub(crate) struct Router {
    routes: Vec<(String, Arc<dyn Handler>)>,
    fallback: Option<Arc<dyn Handler>>,
}

impl Router {
    /// Serves `path` with `handler` (replacing an earlier handler for it).
    pub(crate) fn add(&mut self, path: String, handler: Arc<dyn Handler>) {
        self.routes.retain(|(p, _)| *p != path);
        self.routes.push((path, handler));
    }

    /// Serves every path that has no handler of its own.
    pub(crate) fn set_fallback(&mut self, handler: Arc<dyn Handler>) {
        self.fallback = Some(handler);
    }

    /// The handler for a path (its query excluded); `None`: 404.
    pub(crate) fn find(&self, path: &str) -> Option<&Arc<dyn Handler>> {
        self.routes
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, h)| h)
            .or(self.fallback.as_ref())
    }

    /// True when a WebSocket handler answers this path.
    pub(crate) fn has_route(&self, path: &str) -> bool {
        self.find(path).is_some()
    }
}

/// The origin allow-list check (RFC 6455 §10.2): with a list, a request
/// whose `Origin` is not on it is refused (403). Browsers always send
/// `Origin`, so the list protects browser users from cross-site pages; a
/// request without `Origin` comes from a program, which could send any
/// value anyway, and is let through.
pub(crate) fn origin_allowed(allowed: Option<&[String]>, request: &Request) -> bool {
    match (allowed, request.origin()) {
        (None, _) | (Some(_), None) => true,
        (Some(list), Some(origin)) => list.iter().any(|a| a.eq_ignore_ascii_case(origin)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Named;
    impl Handler for Named {}

    fn request(origin: Option<&str>) -> Request {
        let mut head = String::from("GET / HTTP/1.1\r\nHost: a\r\n");
        if let Some(o) = origin {
            head.push_str(&format!("Origin: {o}\r\n"));
        }
        head.push_str("\r\n");
        let mut scanner = crate::handshake::HeadScanner::new(crate::handshake::HeadLimits {
            max_bytes: 1024,
            max_line: 1024,
            max_headers: 8,
        });
        scanner.scan(head.as_bytes()).unwrap();
        Request::parse(head.as_bytes(), &scanner).unwrap()
    }

    #[test]
    fn exact_paths_first_then_the_fallback() {
        let echo: Arc<dyn Handler> = Arc::new(Named);
        let other: Arc<dyn Handler> = Arc::new(Named);
        let mut router = Router::default();
        router.add("/echo".into(), Arc::clone(&echo));
        assert!(Arc::ptr_eq(router.find("/echo").unwrap(), &echo));
        assert!(router.find("/echo/").is_none());
        assert!(router.find("/").is_none());
        router.set_fallback(Arc::clone(&other));
        assert!(Arc::ptr_eq(router.find("/x").unwrap(), &other));
        assert!(Arc::ptr_eq(router.find("/echo").unwrap(), &echo));
    }

    #[test]
    fn origins_off_the_list_are_refused() {
        let list = vec!["http://good.example".to_owned()];
        assert!(origin_allowed(None, &request(Some("http://evil.example"))));
        assert!(origin_allowed(
            Some(&list),
            &request(Some("http://GOOD.example"))
        ));
        assert!(!origin_allowed(
            Some(&list),
            &request(Some("http://evil.example"))
        ));
        assert!(!origin_allowed(Some(&list), &request(Some("null"))));
        assert!(origin_allowed(Some(&list), &request(None)));
    }
}
