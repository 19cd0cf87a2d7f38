"""`stdws gateway --typhoonae` with the TyphoonAE chat application of
typhoonae_app.py, unchanged: the welcome sent from the handshake hook, echo
through send_message, broadcast_message to everyone, the closed hook.

    check_typhoonae.py STDWS_BINARY
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request

from websockets.sync.client import connect

from check import Gateway, expect

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    binary = sys.argv[1]
    app_port = free_port()
    # The application must know the service's control port before it
    # starts (TyphoonAE's configuration), so the gateway gets a fixed one.
    control_port = free_port()
    env = dict(os.environ, SERVER_NAME="127.0.0.1", WEBSOCKET_PORT=str(control_port))
    app = subprocess.Popen([sys.executable, os.path.join(HERE, "typhoonae_app.py"),
                            str(app_port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           env=env, text=True)
    gw = None
    try:
        expect(app.stdout.readline().strip() == "ready", "the application did not start")
        gw = Gateway(binary, f"http://127.0.0.1:{app_port}", "--typhoonae",
                     "--control", f"127.0.0.1:{control_port}")
        with connect(f"{gw.ws}/chat", open_timeout=10, compression=None) as a, \
                connect(f"{gw.ws}/chat", open_timeout=10, compression=None) as b:
            welcome_a = a.recv(timeout=10)
            welcome_b = b.recv(timeout=10)
            expect(welcome_a.startswith("Welcome, ") and welcome_a != welcome_b,
                   (welcome_a, welcome_b))
            a.send("hello")
            expect(a.recv(timeout=10) == 'Received: "hello"', "echo through send_message")
            a.send("/all news for everyone")
            expect(a.recv(timeout=10) == "news for everyone", "broadcast to a")
            expect(b.recv(timeout=10) == "news for everyone", "broadcast to b")
            socket_a = welcome_a[len("Welcome, "):-1]
        deadline = time.monotonic() + 10
        closed = []
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"http://127.0.0.1:{app_port}/closed", timeout=5) as r:
                closed = r.read().decode().split()
            if len(closed) == 2:
                break
            time.sleep(0.1)
        expect(len(closed) == 2 and socket_a in closed, f"closed hooks: {closed}")
        print("ok   typhoonae chat app: welcome, send_message, broadcast_message, closed")
        return 0
    except Exception as e:  # noqa: BLE001
        print(f"FAIL typhoonae: {type(e).__name__}: {e}")
        if gw:
            print("".join(gw.log[-20:]), file=sys.stderr)
        return 1
    finally:
        if gw:
            gw.stop()
        app.stdin.close()
        app.wait(10)


if __name__ == "__main__":
    sys.exit(main())
