"""`stdws gateway --redis`: two gateways sharing one real redis-server act
as one. The control API of one reaches a client of the other (send,
subscribe, close); its broadcasts and publishes reach both; a Redis that
cannot be reached ends the command with its cause.

    check_cluster.py STDWS_BINARY
"""

import os
import socket
import subprocess
import sys
import time

from websockets.sync.client import connect

import app
from check import Gateway, closed_code, control, expect
from pushpin import free_port


def start_redis():
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def recv(ws, timeout=5):
    return ws.recv(timeout=timeout)


def main():
    binary = sys.argv[1]
    rec = app.Recorder()
    server = app.start(rec)
    upstream = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    redis, redis_port = start_redis()
    nodes = []
    failed = 0
    try:
        url = f"redis://127.0.0.1:{redis_port}/0"
        nodes = [Gateway(binary, upstream, "--redis", url) for _ in range(2)]
        a, b = nodes
        time.sleep(0.5)  # both hubs subscribed
        with connect(f"{a.ws}/silent?tag=on-a", compression=None, open_timeout=10) as on_a, \
                connect(f"{b.ws}/silent?tag=on-b", compression=None, open_timeout=10) as on_b:
            id_b = rec.id_of("on-b")
            status, answer = control(a, "POST", f"/connections/{id_b}/send", b"across",
                                     "text/plain", token=None)
            expect(status == 202, (status, answer))
            expect(recv(on_b) == "across", "a send through A reaches B's client")
            print("ok   send to a connection of another node")

            status, answer = control(a, "POST", "/broadcast", b"everyone", "text/plain",
                                     token=None)
            expect(status == 202 and answer == {"sent": 1}, (status, answer))
            expect(recv(on_a) == "everyone" and recv(on_b) == "everyone", "broadcast")
            print("ok   broadcast reaches both nodes")

            status, _ = control(a, "PUT", f"/topics/room/connections/{id_b}", token=None)
            expect(status == 200, status)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:  # the subscription travels
                status, one = control(b, "GET", f"/connections/{id_b}", token=None)
                if one.get("topics") == ["room"]:
                    break
                time.sleep(0.05)
            expect(one.get("topics") == ["room"], one)
            time.sleep(0.3)  # node B's hub listens to the topic
            status, answer = control(a, "POST", "/topics/room/publish", b"in the room",
                                     "text/plain", token=None)
            expect(status == 202 and answer == {"sent": 0}, (status, answer))
            expect(recv(on_b) == "in the room", "publish reaches B's subscriber")
            print("ok   subscribe and publish across nodes")

            status, _ = control(a, "DELETE", f"/connections/{id_b}?code=4001&reason=from+a",
                                token=None)
            expect(status == 202, status)
            expect(closed_code(on_b) == (4001, "from a"), "close across nodes")
            print("ok   close a connection of another node")
            status, _ = control(a, "POST", "/connections/not-an-id/send", b"x", "text/plain",
                                token=None)
            expect(status == 404, status)
            close = rec.wait_for(lambda: rec.of(id_b, "close"))
            expect(close[0]["json"]["code"] == 4001, close[0]["json"])
            print("ok   a malformed id is 404; the closed connection's node sent its close hook")
    except Exception as e:  # noqa: BLE001
        failed = 1
        print(f"FAIL cluster: {type(e).__name__}: {e}")
        for node in nodes:
            print("".join(node.log[-10:]), file=sys.stderr)
    finally:
        for node in nodes:
            node.stop()
        redis.terminate()
        redis.wait(10)
        server.shutdown()
    started = time.monotonic()
    run = subprocess.run([binary, "gateway", "--addr", "127.0.0.1:0", "--control", "127.0.0.1:0",
                          "--upstream", upstream, "--redis", f"redis://127.0.0.1:{free_port()}/0"],
                         capture_output=True, text=True, timeout=20)
    if run.returncode != 0 and "Redis" in run.stderr and time.monotonic() - started < 10:
        print("ok   an unreachable Redis ends the command with its cause")
    else:
        failed = 1
        print(f"FAIL unreachable Redis: status {run.returncode}: {run.stderr}")
    return failed


if __name__ == "__main__":
    sys.exit(main())
