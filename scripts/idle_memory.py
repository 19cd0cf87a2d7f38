#!/usr/bin/env python3
"""Memory per idle client of a running WebSocket server on this machine.

usage: idle_memory.py HOST PORT PATH CLIENTS SERVER_PID

Opens CLIENTS connections to ws://HOST:PORT/PATH (each does the handshake and
one echo, so every buffer a live client uses is allocated), waits a second,
and prints the server's RSS growth per client and its thread count (from
/proc/SERVER_PID). Example, against `stdws serve`:

    target/release/stdws serve --addr 127.0.0.1:9100 &
    scripts/idle_memory.py 127.0.0.1 9100 /echo 5000 $!
"""

import os
import socket
import sys
import time

KEY_REQUEST = ("GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n")


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def threads(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


def main():
    host, port, path, count, pid = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    before, threads_before = rss_kb(pid), threads(pid)
    request = KEY_REQUEST.format(path=path, host=host).encode()
    # A masked text frame "hi" (key 1 2 3 4) and its unmasked echo.
    frame, echo = bytes([0x81, 0x82, 1, 2, 3, 4, ord("h") ^ 1, ord("i") ^ 2]), b"\x81\x02hi"
    clients = []
    for _ in range(count):
        s = socket.create_connection((host, port), timeout=10)
        s.sendall(request)
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(4096)
        assert head.startswith(b"HTTP/1.1 101"), head
        s.sendall(frame)
        assert s.recv(16) == echo
        clients.append(s)
    time.sleep(1)
    after = rss_kb(pid)
    print(f"{count} idle clients: RSS {before} kB -> {after} kB, "
          f"{(after - before) / count:.1f} kB per client; "
          f"threads {threads_before} -> {threads(pid)}")


if __name__ == "__main__":
    main()
