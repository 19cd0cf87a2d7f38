"""A web application behind `stdws gateway`, standard library only: it
answers the gateway's hooks (connect, message, close) and records every
hook it receives, for the checks in check.py to inspect.

What it does depends on the WebSocket path the client opened:

  /echo      accepts (choosing subprotocol chat.v1 if offered); echoes
             each message with the same kind (text or binary)
  /reject    refuses with 401 and a body of its own
  /news      accepts, subscribed to the topic "news"; answers 204
  /silent    accepts; answers 204
  /flaky     accepts; answers each message 503 twice, then echoes it
  /slow      accepts; answers each message after SLOW_SECONDS
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SLOW_SECONDS = 4.0


class Recorder:
    """Every hook received, in arrival order, and connection ids by tag."""

    def __init__(self):
        self.lock = threading.Condition()
        self.hooks = []          # dicts: kind, id, seq, headers, body, path
        self.paths = {}          # connection id -> path
        self.tags = {}           # ?tag=... of the connect -> connection id
        self.attempts = {}       # webhook-id -> attempts seen

    def add(self, hook):
        with self.lock:
            self.hooks.append(hook)
            self.lock.notify_all()

    def of(self, conn_id, kind=None):
        with self.lock:
            return [h for h in self.hooks
                    if h["id"] == conn_id and (kind is None or h["kind"] == kind)]

    def wait_for(self, predicate, timeout=10.0):
        """Waits until predicate() holds (under the lock); returns its value."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                value = predicate()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("the application did not see it in time")
                self.lock.wait(left)

    def id_of(self, tag, timeout=10.0):
        return self.wait_for(lambda: self.tags.get(tag), timeout)


def make_handler(recorder):
    class Hooks(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"   # keep-alive, as the gateway's pool expects
        # The head and the body go out in two writes: without TCP_NODELAY
        # the body waits for the gateway's delayed ACK (40 ms a hook).
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def answer(self, status, body=b"", content_type="text/plain; charset=utf-8"):
            self.send_response(status)
            if body or status not in (204,):
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                try:
                    self.wfile.write(body)
                except BrokenPipeError:
                    pass  # the gateway gave up on a slow answer

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            kind = self.path.rsplit("/", 1)[-1]
            conn_id = self.headers.get("Stdws-Connection-Id")
            hook = {
                "kind": kind,
                "id": conn_id,
                "seq": int(self.headers.get("Stdws-Seq", "-1")),
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
            }
            if kind == "connect":
                info = json.loads(body)
                hook["json"] = info
                with recorder.lock:
                    recorder.paths[conn_id] = info["path"]
                    query = info.get("query") or ""
                    for pair in query.split("&"):
                        if pair.startswith("tag="):
                            recorder.tags[pair[4:]] = conn_id
                recorder.add(hook)
                return self.connect(info)
            if kind == "close":
                hook["json"] = json.loads(body)
                recorder.add(hook)
                return self.answer(204)
            path = recorder.paths.get(conn_id, "")
            if path == "/flaky":
                wid = self.headers.get("webhook-id")
                with recorder.lock:
                    recorder.attempts[wid] = recorder.attempts.get(wid, 0) + 1
                    n = recorder.attempts[wid]
                if n <= 2:
                    return self.answer(503, b"busy")
            recorder.add(hook)
            if path == "/slow":
                time.sleep(SLOW_SECONDS)
            if path in ("/silent", "/news"):
                return self.answer(204)
            return self.answer(200, body, self.headers.get("Content-Type"))

        def connect(self, info):
            path = info["path"]
            if path == "/reject":
                return self.answer(401, b"no entry without a ticket\n")
            answer = {}
            if "chat.v1" in info["subprotocols"]:
                answer["subprotocol"] = "chat.v1"
            if path == "/news":
                answer["topics"] = ["news"]
                answer["meta"] = {"room": "news"}
            return self.answer(200, json.dumps(answer).encode(), "application/json")

    return Hooks


def start(recorder):
    """Serves on a free loopback port in a thread; returns the server."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(recorder))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
