"""A WebSocket-over-HTTP backend (Pushpin's protocol), standard library
only: the same program serves clients through Pushpin and through
`stdws gateway --websocket-over-http`.

By the client's path:
  /echo      OPEN: accepts, picks subprotocol echo.v1 if offered, sets
             Meta-User, greets with TEXT "welcome"; echoes TEXT and BINARY;
             "whoami" answers the Meta-User it was sent; "close-me" answers
             CLOSE 4003; PING answers PONG; CLOSE answers CLOSE (same code,
             reason "backend says bye")
  /reject    OPEN: 403 with a body of its own
  /plain     OPEN: 200 with "application/websocket-events; charset=utf-8"
  /noclose   as /echo, but CLOSE is never answered

Every request is recorded (path, Connection-Id, events, X-Test header);
GET /log answers them as JSON.
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MEDIA = "application/websocket-events"
LOG = []
LOCK = threading.Lock()


def decode(body):
    events, i = [], 0
    while i < len(body):
        end = body.index(b"\r\n", i)
        line = body[i:end].decode()
        i = end + 2
        if " " in line:
            name, size = line.split(" ", 1)
            size = int(size, 16)
            events.append((name, body[i:i + size]))
            i += size + 2
        else:
            events.append((line, None))
    return events


def encode(events):
    out = b""
    for name, content in events:
        if content is None:
            out += name.encode() + b"\r\n"
        else:
            out += name.encode() + b" %x\r\n" % len(content) + content + b"\r\n"
    return out


class Backend(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def reply(self, status, body, content_type=MEDIA, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with LOCK:
            body = json.dumps(LOG).encode()
        self.reply(200, body, "application/json")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        events = decode(body)
        path = self.path.split("?")[0]
        with LOCK:
            LOG.append({
                "path": self.path,
                "cid": self.headers.get("Connection-Id"),
                "events": [name for name, _ in events],
                "x_test": self.headers.get("X-Test"),
                "client_meta": self.headers.get("Meta-Evil"),
            })
        out, headers = [], []
        for name, content in events:
            if name == "OPEN":
                if path == "/reject":
                    return self.reply(403, b"forbidden here\n", "text/plain")
                if path == "/plain":
                    return self.reply(200, encode([("OPEN", None)]),
                                      MEDIA + "; charset=utf-8")
                offered = self.headers.get("Sec-WebSocket-Protocol", "")
                if "echo.v1" in [p.strip() for p in offered.split(",")]:
                    headers.append(("Sec-WebSocket-Protocol", "echo.v1"))
                headers.append(("Set-Meta-User", "alice"))
                out += [("OPEN", None), ("TEXT", b"welcome")]
            elif name == "TEXT" and content == b"whoami":
                out.append(("TEXT", (self.headers.get("Meta-User") or "nobody").encode()))
            elif name == "TEXT" and content == b"close-me":
                out.append(("CLOSE", (4003).to_bytes(2, "big") + b"as asked"))
            elif name in ("TEXT", "BINARY"):
                out.append((name, content))
            elif name == "PING":
                out.append(("PONG", content))
            elif name == "CLOSE" and path != "/noclose":
                code = content[:2] if content else (1000).to_bytes(2, "big")
                out.append(("CLOSE", code + b"backend says bye"))
        self.reply(200, encode(out), MEDIA, headers)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Backend)
    server.daemon_threads = True
    print("ready", flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
