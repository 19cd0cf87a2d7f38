"""A chat application written for TyphoonAE's Web Socket API, as its docs
show one: three handlers under /_ah/websocket/, each reading the form post
into a `websocket.Message`, answering through `send_message` and
`broadcast_message`. Only the web framework differs (webapp is App Engine's;
this is the standard library's http.server with a webapp-like dispatch).

    typhoonae_app.py PORT     (SERVER_NAME and WEBSOCKET_PORT name the service)

Prints "ready" when it listens. Keeps a log of the sockets it saw close in
memory, served at GET /closed (for the checks).
"""

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import typhoonae_websocket as websocket

CLOSED = []


class HandshakeHandler:
    def post(self, request):
        message = websocket.Message(request)
        websocket.send_message([message.socket], "Welcome, %s!" % message.socket)


class MessageHandler:
    def post(self, request):
        message = websocket.Message(request)
        if message.body.startswith("/all "):
            websocket.broadcast_message(message.body[len("/all "):])
        else:
            websocket.send_message([message.socket], 'Received: "%s"' % message.body)


class ClosedHandler:
    def post(self, request):
        message = websocket.Message(request)
        CLOSED.append(message.socket)


ROUTES = [
    ("/_ah/websocket/handshake/", HandshakeHandler),
    ("/_ah/websocket/message/", MessageHandler),
    ("/_ah/websocket/closed/", ClosedHandler),
]


class Dispatch(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def reply(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/closed":
            return self.reply(200, "\n".join(CLOSED).encode())
        self.reply(404)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        for prefix, handler in ROUTES:
            if self.path.startswith(prefix):
                # The empty 200 comes after the handler's own calls (as
                # webapp answers once post() returns).
                handler().post(form)
                return self.reply(200)
        self.reply(404)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Dispatch)
    server.daemon_threads = True
    print("ready", flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # runs until its stdin closes
    server.shutdown()


if __name__ == "__main__":
    main()
