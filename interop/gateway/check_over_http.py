"""The same WebSocket-over-HTTP backend (woh_backend.py) behind Pushpin and
behind `stdws gateway --websocket-over-http`: the same client scenario
through both must observe the same things.

    check_over_http.py STDWS_BINARY
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from check import Gateway
from pushpin import Pushpin, free_port

HERE = os.path.dirname(os.path.abspath(__file__))


def backend_log(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/log", timeout=5) as r:
        return json.loads(r.read())


def refused(url):
    try:
        connect(url, open_timeout=10, compression=None).close()
    except InvalidStatus as e:
        return (e.response.status_code, e.response.body)
    return "accepted"


def close_seen(ws, timeout=8):
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ws.recv(timeout=max(0.1, deadline - time.monotonic()))
    except ConnectionClosed as e:
        return (e.rcvd.code, e.rcvd.reason) if e.rcvd else "dropped"
    except TimeoutError:
        pass
    return "still open"


def scenario(ws_base, backend_port, run):
    """What a client sees; each entry is compared between the two."""
    seen = {}
    with connect(f"{ws_base}/echo?x={run}", subprotocols=["echo.v1"], compression=None,
                 additional_headers={"X-Test": "kept", "Meta-Evil": "dropped"},
                 open_timeout=10, close_timeout=8) as ws:
        seen["subprotocol"] = ws.subprotocol
        seen["greeting"] = ws.recv(timeout=5)
        ws.send("hello")
        seen["text"] = ws.recv(timeout=5)
        ws.send(b"\x00\x01\x02")
        seen["binary"] = ws.recv(timeout=5)
        ws.send("whoami")
        seen["meta"] = ws.recv(timeout=5)
        pong = ws.ping(b"p1")
        seen["pong"] = pong.wait(5)
        for i in range(20):
            ws.send(f"m{i}")
        seen["burst"] = [ws.recv(timeout=5) for _ in range(20)]
        ws.close(4001, "client says bye")
        seen["close"] = (ws.protocol.close_rcvd.code, ws.protocol.close_rcvd.reason) if ws.protocol.close_rcvd else None
    with connect(f"{ws_base}/echo", compression=None, open_timeout=10) as ws:
        ws.recv(timeout=5)
        ws.send("close-me")
        seen["backend_close"] = close_seen(ws)
    ws = connect(f"{ws_base}/noclose", compression=None, open_timeout=10, close_timeout=8)
    ws.recv(timeout=5)
    ws.close(4001, "are you there")
    seen["unanswered_close"] = (ws.protocol.close_rcvd.code, ws.protocol.close_rcvd.reason) if ws.protocol.close_rcvd \
        else "dropped"
    seen["reject"] = refused(f"{ws_base}/reject")
    seen["plain"] = refused(f"{ws_base}/plain")
    # An abrupt end: DISCONNECT reaches the backend.
    host, port = ws_base.split("//")[1].split(":")
    sock = socket.create_connection((host, int(port)), 5)
    sock.sendall(f"GET /echo?drop={run} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n".encode()
                 + b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 b"Sec-WebSocket-Version: 13\r\n\r\n")
    sock.recv(4096)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        log = [r for r in backend_log(backend_port) if r["path"] == f"/echo?drop={run}"]
        if any("DISCONNECT" in r["events"] for r in log):
            break
        time.sleep(0.1)
    seen["disconnect"] = [e for r in log for e in r["events"]]
    log = [r for r in backend_log(backend_port) if r["path"] == f"/echo?x={run}"]
    seen["one_connection_id"] = len({r["cid"] for r in log}) == 1
    seen["headers_repeated"] = all(r["x_test"] == "kept" for r in log)
    seen["client_meta_stripped"] = all(r["client_meta"] is None for r in log)
    seen["events_in_order"] = [e for r in log for e in r["events"] if e != "PONG"]
    return seen


def main():
    binary = sys.argv[1]
    port = free_port()
    backend = subprocess.Popen([sys.executable, os.path.join(HERE, "woh_backend.py"), str(port)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    pushpin = gw = None
    try:
        assert backend.stdout.readline().strip() == "ready"
        pushpin = Pushpin(port)
        gw = Gateway(binary, f"http://127.0.0.1:{port}", "--websocket-over-http")
        through_pushpin = scenario(pushpin.ws, port, "pushpin")
        through_stdws = scenario(gw.ws, port, "stdws")
    finally:
        if gw:
            gw.stop()
        if pushpin:
            pushpin.stop()
        backend.stdin.close()
        backend.wait(10)
    failed = 0
    for key in through_pushpin:
        a, b = through_pushpin[key], through_stdws.get(key)
        same = a == b
        print(f"{'ok  ' if same else 'FAIL'} {key}: pushpin {a!r}" + ("" if same else f" stdws {b!r}"))
        failed += not same
    print(f"{len(through_pushpin) - failed} same, {failed} different")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
