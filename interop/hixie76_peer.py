#!/usr/bin/env python3
"""A real hixie-76 client against stdws: Autobahn|Python 0.10.9 (Twisted)
speaking draft-hixie-thewebsocketprotocol-76 (protocol version 0), beside
RFC 6455 clients of the same library.

    hixie76_peer.py echo URL            texts echoed, then our close answered
    hixie76_peer.py chat URL            2 hixie-76 + 2 RFC 6455 clients on one
                                        route: every message to everyone, once
    hixie76_peer.py server-close URL    `close 1000 bye` makes the server close
    hixie76_peer.py shutdown URL PID    SIGTERM to PID closes us cleanly

Runs in the virtualenv that tools/autobahn/setup.sh builds. Exits 0 when
every check passed; every run gives up after 30 s.
"""

import os
import signal
import sys

from autobahn.twisted.websocket import (WebSocketClientFactory,
                                        WebSocketClientProtocol, connectWS)
from twisted.internet import reactor

TIMEOUT_S = 30
failures = []
finished = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("hixie76_peer: FAILED: %s" % what, flush=True)


def done(name):
    finished.append(name)


def stop_when(count):
    """Stops the reactor once `count` clients have finished."""
    def poll():
        if len(finished) >= count:
            reactor.stop()
        else:
            reactor.callLater(0.02, poll)
    reactor.callLater(0.02, poll)


def connect(url, protocol, hixie, **attrs):
    factory = WebSocketClientFactory(url)
    if hixie:
        factory.setProtocolOptions(allowHixie76=True, version=0)
    factory.protocol = protocol
    for k, v in attrs.items():
        setattr(factory, k, v)
    connectWS(factory)
    return factory


class Echo(WebSocketClientProtocol):
    # Autobahn's hixie-76 reader cannot end an empty message: none here.
    TEXTS = ["hello", "h\u00e9llo w\u00f6rld \U0001F600", "x" * 65536, "last"]

    def onOpen(self):
        check(self.websocket_version == 0, "spoke hixie-76")
        self.got = []
        for t in self.TEXTS:
            self.sendMessage(t.encode("utf8"), isBinary=False)

    def onMessage(self, payload, isBinary):
        check(not isBinary, "text only")
        self.got.append(payload.decode("utf8"))
        if len(self.got) == len(self.TEXTS):
            check(self.got == self.TEXTS, "echoes in order")
            self.sendClose()

    def onClose(self, wasClean, code, reason):
        check(wasClean, "echo: clean close (%s)" % reason)
        check(self.closedByMe, "echo: we closed")
        check(getattr(self, "got", None) == self.TEXTS, "echo: every echo")
        done("echo")


class Chatter(WebSocketClientProtocol):
    """Sends MESSAGES lines once all are in, expects everyone's."""

    MESSAGES = 20

    def onOpen(self):
        f = self.factory
        f.opened.append(self)
        self.got = {}
        # Everyone's in once 4 have opened: then each speaks.
        if len(f.opened) == f.total:
            for p in f.opened:
                p.speak()

    def speak(self):
        for i in range(self.MESSAGES):
            self.sendMessage(("%s %d" % (self.factory.name, i)).encode("utf8"))

    def onMessage(self, payload, isBinary):
        check(not isBinary, "text only")
        name, i = payload.decode("utf8").rsplit(" ", 1)
        seen = self.got.setdefault(name, [])
        seen.append(int(i))
        total = sum(len(v) for v in self.got.values())
        if total == self.factory.total * self.MESSAGES:
            expected = list(range(self.MESSAGES))
            check(all(v == expected for v in self.got.values()) and
                  len(self.got) == self.factory.total,
                  "%s: every message once, in order per sender" % self.factory.name)
            self.sendClose()

    def onClose(self, wasClean, code, reason):
        check(wasClean, "%s: clean close (%s)" % (self.factory.name, reason))
        done(self.factory.name)


class CloseMe(WebSocketClientProtocol):
    def onOpen(self):
        self.sendMessage(b"close 1000 bye")

    def onMessage(self, payload, isBinary):
        check(False, "server-close: no echo expected, got %r" % payload[:40])

    def onClose(self, wasClean, code, reason):
        check(wasClean, "server-close: clean close (%s)" % reason)
        check(not self.closedByMe, "server-close: the server closed")
        done("server-close")


class Shutdown(WebSocketClientProtocol):
    def onOpen(self):
        self.sendMessage(b"ping?")

    def onMessage(self, payload, isBinary):
        # Echoed: the server knows us; now stop it.
        os.kill(self.factory.pid, signal.SIGTERM)

    def onClose(self, wasClean, code, reason):
        check(wasClean, "shutdown: clean close (%s)" % reason)
        check(not self.closedByMe, "shutdown: the server closed")
        done("shutdown")


def main():
    mode, url = sys.argv[1], sys.argv[2]
    if mode == "echo":
        connect(url, Echo, hixie=True)
        stop_when(1)
    elif mode == "chat":
        opened = []
        for name, hixie in [("hixie-a", True), ("rfc-a", False),
                            ("hixie-b", True), ("rfc-b", False)]:
            connect(url, Chatter, hixie, name=name, opened=opened, total=4)
        stop_when(4)
    elif mode == "server-close":
        connect(url, CloseMe, hixie=True)
        stop_when(1)
    elif mode == "shutdown":
        connect(url, Shutdown, hixie=True, pid=int(sys.argv[3]))
        stop_when(1)
    else:
        sys.exit(__doc__)

    def give_up():
        failures.append("timed out after %d s (finished: %s)" % (TIMEOUT_S, finished))
        reactor.stop()
    reactor.callLater(TIMEOUT_S, give_up)
    reactor.run()
    if failures:
        print("hixie76_peer %s: %d check(s) failed: %s" % (mode, len(failures), failures))
        sys.exit(1)
    print("hixie76_peer %s: passed (%s)" % (mode, ", ".join(finished)))


if __name__ == "__main__":
    main()
