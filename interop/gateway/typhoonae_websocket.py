"""TyphoonAE's Web Socket API (`typhoonae.websocket`) as its applications
call it: `Message(request.POST)`, `send_message(sockets, body)` and
`broadcast_message(body)`. As in TyphoonAE, messages go to the Web Socket
service over HTTP: `POST /message` with the socket in
`X-TyphoonAE-WebSocket`, `POST /broadcast`, text bodies. The service's
address is SERVER_NAME and WEBSOCKET_PORT from the environment (TyphoonAE
read SERVER_NAME and a configured port).
"""

import http.client
import os

WEBSOCKET_HEADER = "X-TyphoonAE-WebSocket"


class Error(Exception):
    """Base error class for this module."""


class BadArgumentError(Error):
    """Raised when a method gets a bad argument."""


class Message:
    """A Web Socket message: the hook's form fields `from` and `body`."""

    def __init__(self, vars):
        self.__body = vars["body"]
        self.__socket = vars["from"]

    @property
    def body(self):
        return self.__body

    @property
    def socket(self):
        return self.__socket


def _post(path, body, socket):
    conn = http.client.HTTPConnection(
        os.environ["SERVER_NAME"], int(os.environ["WEBSOCKET_PORT"]), timeout=10)
    try:
        conn.request("POST", path, body.encode("utf-8"),
                     {WEBSOCKET_HEADER: str(socket), "Content-Type": "text/plain"})
        status = conn.getresponse().status
    finally:
        conn.close()
    if status >= 300:
        raise Error(f"the Web Socket service answered {status}")


def send_message(sockets, body):
    """Sends a message to each of the Web Sockets."""
    if isinstance(sockets, str):
        sockets = [sockets]
    if not isinstance(sockets, list):
        raise BadArgumentError("first argument of the send_message method must be a list.")
    for sock in sockets:
        if not sock:
            raise BadArgumentError("must specify sockets.")
        _post("/message", body, sock)


def broadcast_message(body):
    """Sends a message to all active Web Sockets."""
    _post("/broadcast", body, None)
