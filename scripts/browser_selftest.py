#!/usr/bin/env python3
"""Drives headless Chromium (through chromedriver, WebDriver protocol) against
the echo console of a running `stdws serve`, and checks what the page shows.

usage: browser_selftest.py http://127.0.0.1:PORT [EXTENSION]    (or https://…)

With EXTENSION (e.g. permessage-deflate), the self-test must report that
Chromium negotiated it.

Over https:// the console talks wss:// to the same port; Chromium runs with
--ignore-certificate-errors (a throwaway profile, a test certificate).

1. /?selftest=/echo: the page's self-test (text, Unicode, empty, 200 kB and
   binary echoes, clean close 1000) must print "selftest: PASS".
2. The console by hand: connect to /chat, type a message, press Enter, see it
   come back; close with 4000 and see the close code.

Standard library only. Exit status 0 on success, 1 on a failed check.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Driver:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"
        self.session = None

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read() or b"null").get("value")

    def start(self, profile, flags=()):
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "acceptInsecureCerts": bool(flags),
            "goog:chromeOptions": {
                "binary": shutil.which("chromium") or "/usr/bin/chromium",
                "args": CHROMIUM_FLAGS + list(flags) + [f"--user-data-dir={profile}"],
            },
        }}}
        self.session = self.call("POST", "/session", caps)["sessionId"]

    def s(self, path):
        return f"/session/{self.session}{path}"

    def goto(self, url):
        self.call("POST", self.s("/url"), {"url": url})

    def js(self, script, *args):
        return self.call("POST", self.s("/execute/sync"), {"script": script, "args": list(args)})

    def element(self, css):
        found = self.call("POST", self.s("/element"), {"using": "css selector", "value": css})
        return next(iter(found.values()))

    def type(self, css, text):
        self.call("POST", self.s(f"/element/{self.element(css)}/value"), {"text": text})

    def click(self, css):
        self.call("POST", self.s(f"/element/{self.element(css)}/click"), {})

    def wait_for(self, script, what, seconds=20):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = self.js(script)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}")

    def quit(self):
        if self.session:
            try:
                self.call("DELETE", self.s(""))
            except OSError:
                pass


def check(condition, message):
    print(("ok   " if condition else "FAIL ") + message)
    return condition


def main():
    server = sys.argv[1].rstrip("/")
    port = free_port()
    profile = tempfile.mkdtemp(prefix="stdws-chromium-")
    driver_proc = subprocess.Popen(["chromedriver", f"--port={port}"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    driver = Driver(port)
    ok = True
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                driver.call("GET", "/status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        tls = server.startswith("https:")
        driver.start(profile, ["--ignore-certificate-errors"] if tls else [])

        driver.goto(f"{server}/?selftest=/echo")
        result = driver.wait_for(
            "const t = document.getElementById('result').textContent;"
            "return t.startsWith('selftest:') ? t : null;", "the self-test verdict")
        ok &= check(result.startswith("selftest: PASS"), f"self-test page: {result}")
        if len(sys.argv) > 2:
            ok &= check(f"extensions: {sys.argv[2]}" in result, f"self-test negotiated {sys.argv[2]}")
        if tls:
            page, socket = driver.js("return [location.protocol, base];")
            ok &= check(page == "https:" and socket.startswith("wss://"),
                        f"console over {page}, self-test over {socket}")

        driver.goto(f"{server}/")
        driver.js("document.getElementById('url').value = arguments[0];",
                  server.replace("http", "ws", 1) + "/chat")
        driver.click("#connect")
        driver.wait_for("return document.getElementById('state').textContent === 'open';",
                        "the console to connect")
        driver.type("#message", "hello from chromium\ue007")  # \ue007: Enter
        log = driver.wait_for(
            "const t = document.getElementById('log').textContent;"
            "return t.includes('← \"hello from chromium\"') ? t : null;", "the echo")
        ok &= check("→ \"hello from chromium\"" in log, "console: typed message sent and echoed by /chat")
        driver.js("document.getElementById('code').value = '4000';")
        driver.click("#close")
        log = driver.wait_for(
            "const t = document.getElementById('log').textContent;"
            "return t.includes('closed: code') ? t : null;", "the close")
        ok &= check("closed: code 4000" in log, "console: close code 4000 shown")
    except Exception as e:  # noqa: BLE001 - report any failure as a failed check
        ok = check(False, f"browser session: {e!r}")
    finally:
        driver.quit()
        driver_proc.terminate()
        try:
            driver_proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            driver_proc.kill()
        shutil.rmtree(profile, ignore_errors=True)
    print("browser: " + ("1 passed, 0 failed" if ok else "0 passed, 1 failed"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
