"""The checks of `make gateway`: a real application (app.py, Python's
http.server) behind `stdws gateway`, real WebSocket clients (Python
`websockets`), the control API over plain HTTP.

    check.py STDWS_BINARY

Starts the application and the gateway on free loopback ports, runs every
case, stops both. Exits non-zero if a case fails.
"""

import base64
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

import app

SECRET = "whsec_" + base64.b64encode(b"the gateway's hook secret").decode()
TOKEN = "control-token-for-tests"
HOOK_TIMEOUT = 2.0
MAX_MESSAGE = 65536
MAX_CONTROL_BODY = 1 << 20
BINARY = None  # the stdws binary, from the command line


class Gateway:
    """`stdws gateway` as a child process, its addresses read from stderr."""

    def __init__(self, binary, upstream, *flags):
        self.dir = tempfile.mkdtemp(prefix="stdws-gateway-")
        self.proc = subprocess.Popen(
            [binary, "gateway", "--addr", "127.0.0.1:0", "--control", "127.0.0.1:0",
             "--upstream", upstream, *flags],
            stderr=subprocess.PIPE, text=True)
        self.log = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                raise RuntimeError("stdws gateway ended:\n" + "".join(self.log))
            self.log.append(line)
            if " gateway ws://" in line:
                words = line.split()
                self.ws = words[2].rstrip("/")
                self.control = words[-1].rstrip("/")
                break
        else:
            raise RuntimeError("stdws gateway did not start")
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stderr:
            self.log.append(line)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def secret_file(text):
    fd, path = tempfile.mkstemp(prefix="stdws-secret-")
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
    return path


def control(gw, method, path, body=None, content_type=None, token=TOKEN):
    """A control API call: (status, parsed JSON)."""
    request = urllib.request.Request(gw.control + path, data=body, method=method)
    if token:
        request.add_header("Authorization", "Bearer " + token)
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def open_ws(gw, path, tag, **kwargs):
    kwargs.setdefault("compression", None)
    return connect(f"{gw.ws}{path}?tag={tag}", open_timeout=10, close_timeout=5, **kwargs)


def raw_client(gw, path, rcvbuf=None):
    """A TCP socket after a completed handshake, for clients that misbehave."""
    host, port = gw.ws.split("//")[1].split(":")
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(10)
    sock.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            raise AssertionError("no 101")
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def expect(condition, what):
    if not condition:
        raise AssertionError(what)


def closed_code(ws, timeout=10):
    """Reads until the connection closes; returns (code, reason) received."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ws.recv(timeout=max(0.1, deadline - time.monotonic()))
    except ConnectionClosed as e:
        return (e.rcvd.code, e.rcvd.reason) if e.rcvd else (None, None)
    raise AssertionError("the connection stayed open")


def one_close_hook(rec, conn_id, timeout=10):
    hooks = rec.wait_for(lambda: rec.of(conn_id, "close"), timeout)
    time.sleep(0.3)  # a second one would have arrived by now
    hooks = rec.of(conn_id, "close")
    expect(len(hooks) == 1, f"{len(hooks)} close hooks for {conn_id}")
    return hooks[0]["json"]


def verify(hook, secret):
    """Checks a hook's Standard Webhooks signature with `secret`."""
    key = base64.b64decode(secret[len("whsec_"):])
    h = hook["headers"]
    signed = f'{h["webhook-id"]}.{h["webhook-timestamp"]}.'.encode() + hook["body"]
    mac = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return ("v1," + mac) in h["webhook-signature"].split()


# ---- the cases ---------------------------------------------------------------

def case_subprotocol_accepted(gw, rec):
    with open_ws(gw, "/echo", "sub", subprotocols=["chat.v1", "other"]) as ws:
        expect(ws.subprotocol == "chat.v1", f"subprotocol {ws.subprotocol}")
        conn_id = rec.id_of("sub")
        connect_hook = rec.of(conn_id, "connect")[0]
        info = connect_hook["json"]
        expect(connect_hook["seq"] == 0, "connect has Stdws-Seq 0")
        expect(info["path"] == "/echo" and info["query"] == "tag=sub", info)
        expect(info["subprotocols"] == ["chat.v1", "other"], info)
        expect(info["headers"]["upgrade"] == "websocket", info["headers"])
        expect(info["tls"] is False and info["user"] is None, info)
        expect(info["remote_addr"].startswith("127.0.0.1:"), info)


def case_reject_401_with_body(gw, rec):
    try:
        open_ws(gw, "/reject", "rej").close()
    except InvalidStatus as e:
        expect(e.response.status_code == 401, e.response.status_code)
        expect(e.response.body == b"no entry without a ticket\n", e.response.body)
    else:
        raise AssertionError("the handshake was accepted")
    conn_id = rec.id_of("rej")
    time.sleep(0.3)
    expect(rec.of(conn_id, "close") == [], "a rejected connection got a close hook")


def case_thousand_messages_in_order(gw, rec):
    with open_ws(gw, "/echo", "many") as ws:
        for i in range(1000):
            ws.send(f"m{i}")
        replies = [ws.recv(timeout=20) for _ in range(1000)]
        expect(replies == [f"m{i}" for i in range(1000)], "replies out of order")
        conn_id = rec.id_of("many")
        hooks = rec.of(conn_id, "message")
        expect([h["body"] for h in hooks] == [f"m{i}".encode() for i in range(1000)],
               "hooks out of order")
        expect([h["seq"] for h in hooks] == list(range(1, 1001)), "seq not 1..1000")
    close = rec.wait_for(lambda: rec.of(conn_id, "close"))
    expect(close[0]["seq"] == 1001, f"close seq {close[0]['seq']}")


def case_binary_round_trip(gw, rec):
    data = bytes(range(256)) * 8
    with open_ws(gw, "/echo", "bin") as ws:
        ws.send(data)
        got = ws.recv(timeout=10)
        expect(got == data, "binary echo differs")
        hook = rec.of(rec.id_of("bin"), "message")[0]
        expect(hook["headers"]["content-type"] == "application/octet-stream", hook["headers"])


def case_permessage_deflate(gw, rec):
    with open_ws(gw, "/echo", "deflate", compression="deflate") as ws:
        ext = ws.response.headers.get("Sec-WebSocket-Extensions", "")
        expect("permessage-deflate" in ext, f"extensions {ext!r}")
        text = "compressible " * 500
        ws.send(text)
        expect(ws.recv(timeout=10) == text, "deflate echo differs")


def case_send_one_many_broadcast_topic(gw, rec):
    with open_ws(gw, "/silent", "a") as a, open_ws(gw, "/silent", "b") as b, \
            open_ws(gw, "/news", "n") as n:
        ia, ib, in_ = rec.id_of("a"), rec.id_of("b"), rec.id_of("n")
        status, answer = control(gw, "POST", f"/connections/{ia}/send", b"to a",
                                 "text/plain")
        expect(status == 202, (status, answer))
        expect(a.recv(timeout=5) == "to a", "send to one")
        status, answer = control(gw, "POST", f"/send?id={ia}&id={ib}&id=nobody-1",
                                 b"\x00\x01", "application/octet-stream")
        expect(status == 202 and answer == {"sent": [ia, ib], "unknown": ["nobody-1"]},
               (status, answer))
        expect(a.recv(timeout=5) == b"\x00\x01" and b.recv(timeout=5) == b"\x00\x01",
               "send to many")
        status, answer = control(gw, "POST", "/broadcast", b"all", "text/plain")
        expect(status == 202 and answer["sent"] >= 3, (status, answer))
        for ws in (a, b, n):
            expect(ws.recv(timeout=5) == "all", "broadcast")
        status, answer = control(gw, "POST", "/topics/news/publish", b"news!", "text/plain")
        expect(status == 202 and answer == {"sent": 1}, (status, answer))
        expect(n.recv(timeout=5) == "news!", "topic publish")
        # a subscribes through the API, then gets the next publish too.
        status, _ = control(gw, "PUT", f"/topics/news/connections/{ia}")
        expect(status == 200, status)
        status, answer = control(gw, "POST", "/topics/news/publish", b"more", "text/plain")
        expect(answer == {"sent": 2}, answer)
        expect(a.recv(timeout=5) == "more" and n.recv(timeout=5) == "more", "second publish")
        status, listed = control(gw, "GET", "/connections?topic=news")
        expect(status == 200 and sorted(c["id"] for c in listed) == sorted([ia, in_]), listed)
        status, one = control(gw, "GET", f"/connections/{in_}")
        expect(status == 200 and one["meta"] == {"room": "news"} and one["path"] == "/news", one)
        expect(one["messages_out"] == 3 and one["messages_in"] == 0, one)
        expect(one["connected_at"].endswith("Z") and "T" in one["connected_at"], one)
        status, _ = control(gw, "POST", "/connections/nobody-1/send", b"x", "text/plain")
        expect(status == 404, status)
        status, _ = control(gw, "GET", "/connections/nobody-1")
        expect(status == 404, status)


def case_disconnect_code_and_reason(gw, rec):
    ws = open_ws(gw, "/silent", "bye")
    conn_id = rec.id_of("bye")
    status, _ = control(gw, "DELETE", f"/connections/{conn_id}?code=4000&reason=see+you")
    expect(status == 202, status)
    expect(closed_code(ws) == (4000, "see you"), "client's close code")
    hook = one_close_hook(rec, conn_id)
    expect(hook == {"code": 4000, "reason": "see you", "initiator": "server"}, hook)


def case_tcp_drop_is_1006(gw, rec):
    sock = raw_client(gw, "/silent?tag=drop")
    conn_id = rec.id_of("drop")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()  # linger 0: a reset, no close frame
    hook = one_close_hook(rec, conn_id)
    expect(hook["code"] == 1006 and hook["initiator"] in ("error", "client"), hook)


def case_signature(gw, rec):
    with open_ws(gw, "/echo", "sig") as ws:
        ws.send("signed")
        ws.recv(timeout=5)
    hook = rec.of(rec.id_of("sig"), "message")[0]
    expect(verify(hook, SECRET), "the right secret verifies")
    wrong = "whsec_" + base64.b64encode(b"some other secret").decode()
    expect(not verify(hook, wrong), "a wrong secret is detected")
    tampered = dict(hook, body=b"changed")
    expect(not verify(tampered, SECRET), "a changed body is detected")


def case_control_token_required(gw, rec):
    status, answer = control(gw, "GET", "/healthz", token=None)
    expect(status == 401, (status, answer))
    status, answer = control(gw, "GET", "/healthz", token="wrong")
    expect(status == 401, (status, answer))
    status, answer = control(gw, "GET", "/healthz")
    expect(status == 200 and answer["status"] == "ok", (status, answer))


def case_retries_keep_the_webhook_id(gw, rec):
    with open_ws(gw, "/flaky", "flaky") as ws:
        ws.send("again")
        expect(ws.recv(timeout=10) == "again", "answer after retries")
        hooks = rec.of(rec.id_of("flaky"), "message")
        expect(len(hooks) == 1, f"{len(hooks)} events")
        wid = hooks[0]["headers"]["webhook-id"]
        expect(rec.attempts[wid] == 3, f"{rec.attempts[wid]} attempts")


def case_slow_hook_is_1011(gw, rec):
    ws = open_ws(gw, "/slow", "slow")
    started = time.monotonic()
    ws.send("too slow")
    code, _ = closed_code(ws, timeout=10)
    expect(code == 1011, f"close code {code}")
    expect(time.monotonic() - started < HOOK_TIMEOUT + 1.5, "closed late")
    hook = one_close_hook(rec, rec.id_of("slow"), timeout=app.SLOW_SECONDS + 5)
    expect(hook["code"] == 1011, hook)


def case_oversize_is_1009(gw, rec):
    ws = open_ws(gw, "/silent", "big", max_size=None)
    ws.send(b"x" * (MAX_MESSAGE + 1))
    code, _ = closed_code(ws)
    expect(code == 1009, f"close code {code}")
    hook = one_close_hook(rec, rec.id_of("big"))
    expect(hook["code"] == 1009 and hook["initiator"] == "error", hook)


def case_never_reading_client_during_broadcast(gw, rec):
    slow = raw_client(gw, "/silent?tag=stuck", rcvbuf=4096)
    stuck = rec.id_of("stuck")
    readers = [open_ws(gw, "/silent", f"r{i}", max_size=None) for i in range(2)]
    chunk = b"y" * 65536
    rounds = 200
    received = [0, 0]

    def read(i):
        for _ in range(rounds):
            readers[i].recv(timeout=20)
            received[i] += 1

    threads = [threading.Thread(target=read, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    started = time.monotonic()
    for _ in range(rounds):
        status, _ = control(gw, "POST", "/broadcast", chunk, "application/octet-stream")
        expect(status == 202, status)
    broadcast_time = time.monotonic() - started
    for t in threads:
        t.join(30)
    expect(received == [rounds, rounds], f"readers got {received}")
    expect(broadcast_time < 20, f"broadcasts took {broadcast_time:.1f} s")
    hook = one_close_hook(rec, stuck, timeout=15)
    expect(hook["code"] == 1008, hook)
    status, _ = control(gw, "GET", f"/connections/{stuck}")
    expect(status == 404, status)
    for ws in readers:
        ws.close()
    slow.close()


def case_control_body_over_limit_is_413(gw, rec):
    status, answer = control(gw, "POST", "/broadcast", b"z" * (MAX_CONTROL_BODY + 1),
                             "application/octet-stream")
    expect(status == 413, (status, answer))
    status, _ = control(gw, "GET", "/connections")
    expect(status == 200, status)


def case_unreachable_application_is_503(gw, rec):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    other = Gateway(BINARY, f"http://127.0.0.1:{closed_port}/hooks", "--hook-timeout", "0.5")
    try:
        try:
            open_ws(other, "/echo", "nobody").close()
        except InvalidStatus as e:
            expect(e.response.status_code == 503, e.response.status_code)
        else:
            raise AssertionError("accepted without an application")
    finally:
        other.stop()


def case_open_control_address_needs_a_token(gw, rec):
    run = subprocess.run(
        [BINARY, "gateway", "--addr", "127.0.0.1:0", "--control", "0.0.0.0:0",
         "--upstream", "http://127.0.0.1:9/"], capture_output=True, text=True, timeout=10)
    expect(run.returncode != 0, "started without a token")
    expect("needs a bearer token" in run.stderr, run.stderr)


CASES = [
    case_subprotocol_accepted,
    case_reject_401_with_body,
    case_thousand_messages_in_order,
    case_binary_round_trip,
    case_permessage_deflate,
    case_send_one_many_broadcast_topic,
    case_disconnect_code_and_reason,
    case_tcp_drop_is_1006,
    case_signature,
    case_control_token_required,
    case_retries_keep_the_webhook_id,
    case_slow_hook_is_1011,
    case_oversize_is_1009,
    case_never_reading_client_during_broadcast,
    case_control_body_over_limit_is_413,
    case_unreachable_application_is_503,
    case_open_control_address_needs_a_token,
]


def main():
    global BINARY
    binary = BINARY = sys.argv[1]
    only = sys.argv[2:]
    rec = app.Recorder()
    server = app.start(rec)
    upstream = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    gw = Gateway(binary, upstream,
                 "--hook-secret-file", secret_file(SECRET),
                 "--control-token-file", secret_file(TOKEN),
                 "--hook-timeout", str(HOOK_TIMEOUT),
                 "--max-message-size", str(MAX_MESSAGE),
                 "--max-queue", str(256 << 10),
                 "--max-control-body", str(MAX_CONTROL_BODY),
                 "--deflate")
    failed = 0
    try:
        for case in CASES:
            name = case.__name__[len("case_"):]
            if only and name not in only:
                continue
            started = time.monotonic()
            try:
                case(gw, rec)
                print(f"ok   {name} ({time.monotonic() - started:.1f} s)", flush=True)
            except Exception as e:  # noqa: BLE001 - report and go on
                failed += 1
                print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
    finally:
        gw.stop()
        server.shutdown()
    if failed:
        print("".join(gw.log[-40:]), file=sys.stderr)
    print(f"{len(CASES) - failed if not only else len(only) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
