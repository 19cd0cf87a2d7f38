"""Pushpin (Debian's package) as a child process: its own configuration,
run directory and ports under a temporary folder, one route to a
WebSocket-over-HTTP backend."""

import os
import shutil
import socket
import subprocess
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CONF = """\
[global]
include={{libdir}}/internal.conf
rundir={dir}/run
ipc_prefix=stdws-test-
port_offset=0
stats_connection_ttl=120

[runner]
services=condure,zurl,pushpin-proxy,pushpin-handler
http_port=127.0.0.1:{port}
logdir={dir}/log
log_level=2
client_buffer_size=8192
client_maxconn=50000

[proxy]
zurl_out_specs=ipc://{{rundir}}/{{ipc_prefix}}zurl-in
zurl_out_stream_specs=ipc://{{rundir}}/{{ipc_prefix}}zurl-in-stream
zurl_in_specs=ipc://{{rundir}}/{{ipc_prefix}}zurl-out
routesfile={dir}/routes
debug=false
auto_cross_origin=false
sig_key=changeme
updates_check=off

[handler]
push_in_spec=ipc://{{rundir}}/{{ipc_prefix}}push-in
push_in_sub_specs=ipc://{{rundir}}/{{ipc_prefix}}push-in-sub
push_in_sub_connect=false
push_in_http_addr=127.0.0.1
push_in_http_port={publish_port}
stats_spec=ipc://{{rundir}}/{{ipc_prefix}}stats
command_spec=ipc://{{rundir}}/{{ipc_prefix}}command
message_rate=2500
message_hwm=25000
message_wait=5000
id_cache_ttl=60
connection_subscription_max=20
subscription_linger=60
stats_subscription_ttl=60
stats_report_interval=10
stats_format=tnetstring
"""


def configure(port, backend_port):
    """A folder with a configuration for `pushpin --config DIR/pushpin.conf`."""
    folder = tempfile.mkdtemp(prefix="stdws-pushpin-")
    os.makedirs(f"{folder}/run")
    os.makedirs(f"{folder}/log")
    with open(f"{folder}/pushpin.conf", "w") as f:
        f.write(CONF.format(dir=folder, port=port, publish_port=free_port()))
    with open(f"{folder}/routes", "w") as f:
        f.write(f"* 127.0.0.1:{backend_port},over_http\n")
    return folder


class Pushpin:
    def __init__(self, backend_port):
        self.port = free_port()
        self.dir = configure(self.port, backend_port)
        self.proc = subprocess.Popen(
            ["pushpin", "--config", f"{self.dir}/pushpin.conf"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                break
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("pushpin ended; logs in " + self.dir)
                time.sleep(0.1)
        else:
            raise RuntimeError("pushpin did not start")
        time.sleep(0.5)  # the proxy and handler join after the listener
        self.ws = f"ws://127.0.0.1:{self.port}"

    def pid(self):
        return self.proc.pid

    def stop(self):
        # pushpin's runner stops its services on SIGTERM.
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


if __name__ == "__main__":
    # pushpin.py PORT BACKEND_PORT: runs Pushpin in the foreground (as this
    # process, so a benchmark measures its tree).
    import sys
    folder = configure(int(sys.argv[1]), int(sys.argv[2]))
    os.execvp("pushpin", ["pushpin", "--config", f"{folder}/pushpin.conf"])
