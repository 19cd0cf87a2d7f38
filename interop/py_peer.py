#!/usr/bin/env python3
"""Python `websockets` as the peer of stdws in `make interop`.

    py_peer.py server PORT [--deflate] [--tls-cert CERT.pem --tls-key KEY.pem]
        echo server (wss:// with the certificate); "close CODE REASON" closes
    py_peer.py client URL  [--deflate] [--echo-only] [--ca CA.pem]
        runs the checks against an echo server (wss:// trusting CA.pem;
        --echo-only: a plain echo, no "close")
    py_peer.py chat URL                  5 clients in a chat room: every message
                                         reaches everyone once, in order per sender

The checks (same list as interop/node_peer.js and interop/interop_client.rs):
text and binary of 0 B, 125 B, 126 B, 64 KiB, 1 MiB, 16 MiB; a fragmented
message; a ping answered by a pong; a close started by the client (the code
is echoed); a close started by the server (code and reason arrive).
"""
import asyncio
import ssl
import sys

import websockets

MAX = 1 << 25
SIZES = [0, 125, 126, 64 << 10, 1 << 20, 16 << 20]


async def echo(ws):
    try:
        async for message in ws:
            if isinstance(message, str) and message.startswith("close "):
                _, code, reason = message.split(" ", 2)
                await ws.close(int(code), reason)
                return
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass


async def serve(port, compression, tls):
    async with websockets.serve(echo, "127.0.0.1", port, max_size=MAX, compression=compression,
                                ping_interval=None, ssl=tls):
        print(f"py_peer: listening on {port}{' (TLS)' if tls else ''}", flush=True)
        await asyncio.Future()


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        raise SystemExit(1)


async def client(url, compression, echo_only, tls):
    options = dict(max_size=MAX, compression=compression, ping_interval=None, ssl=tls)
    async with websockets.connect(url, **options) as ws:
        extensions = [e.name for e in ws.protocol.extensions]
        check(("permessage-deflate" in extensions) == (compression is not None),
              f"extensions negotiated: {extensions}")
        for size in SIZES:
            text = "".join(chr(ord("a") + i % 26) for i in range(size)) if size < (1 << 20) else "x" * size
            await ws.send(text)
            check(await ws.recv() == text, f"text echo {size} B")
            data = bytes(i % 251 for i in range(size))
            await ws.send(data)
            check(await ws.recv() == data, f"binary echo {size} B")
        await ws.send(["frag", "men", "ted ", "κόσμε"])
        check(await ws.recv() == "fragmented κόσμε", "fragmented text echo")
        pong = await ws.ping(b"interop")
        await asyncio.wait_for(pong, 5)
        check(True, "ping answered by pong")
        await ws.close(4000, "client bye")
        check(ws.close_code == 4000, "client close: code echoed")
    if echo_only:
        print("py_peer: all checks passed", flush=True)
        return
    async with websockets.connect(url, **options) as ws:
        await ws.send("close 4001 server bye")
        try:
            await asyncio.wait_for(ws.recv(), 5)
            check(False, "server close")
        except websockets.ConnectionClosed:
            pass
        check((ws.close_code, ws.close_reason) == (4001, "server bye"), "server close: code and reason")
    print("py_peer: all checks passed", flush=True)


async def chat(url, clients=5, each=20):
    conns = [await websockets.connect(url, ping_interval=None) for _ in range(clients)]
    for i, ws in enumerate(conns):
        for j in range(each):
            await ws.send(f"{i}:{j}")
    for ws in conns:
        seen = {i: [] for i in range(clients)}
        while sum(len(v) for v in seen.values()) < clients * each:
            text = await asyncio.wait_for(ws.recv(), 10)
            sender, _, number = text.rpartition(": ")[2].partition(":")
            if sender.isdigit() and number.isdigit():
                seen[int(sender)].append(int(number))
        check(all(v == list(range(each)) for v in seen.values()), "chat: every message once, in order per sender")
    for ws in conns:
        await ws.close()
    print("py_peer: all checks passed", flush=True)


def option(name):
    """The value after `name` on the command line, or None."""
    args = sys.argv[3:]
    return args[args.index(name) + 1] if name in args else None


def main():
    mode, target = sys.argv[1], sys.argv[2]
    flags = sys.argv[3:]
    compression = "deflate" if "--deflate" in flags else None
    if mode == "server":
        tls = None
        if option("--tls-cert"):
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.load_cert_chain(option("--tls-cert"), option("--tls-key"))
        asyncio.run(serve(int(target), compression, tls))
    elif mode == "chat":
        asyncio.run(chat(target))
    else:
        # Certificate and host name checked; only the CA is ours.
        tls = ssl.create_default_context(cafile=option("--ca")) if target.startswith("wss:") else None
        asyncio.run(client(target, compression, "--echo-only" in flags, tls))


if __name__ == "__main__":
    main()
