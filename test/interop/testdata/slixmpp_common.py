"""What every slixmpp interop script shares (Debian python3-slixmpp 1.8.3).

The scripts beside this file import it as a module: Python puts a script's
own folder first on sys.path, so `/usr/bin/python3 testdata/slixmpp_im.py`
finds it. It holds the SCRAM channel-binding work-around, a client base
class whose start() is bounded, the bounded waits the scripts use, and the
runner that bounds a whole script.
"""
import asyncio
import logging
import sys

from slixmpp import ClientXMPP
from slixmpp.util.sasl.mechanisms import SCRAM

_process_1 = SCRAM.process_1


def _without_channel_binding_process_1(self, challenge):
    self.credentials["channel_binding"] = b""
    return _process_1(self, challenge)


def without_channel_binding():
    """Make slixmpp's SCRAM say it has no channel binding ("n").

    slixmpp 1.8.3 knows only tls-unique channel binding, which RFC 9266
    leaves undefined on TLS 1.3, yet claims it there; with a non-PLUS SCRAM
    it then sends the "y" flag, which RFC 5802 §6 makes a server that offers
    -PLUS refuse (downgrade protection). Scripts call this before they log
    in; slixmpp_im.py's "login_stock" step checks the unpatched client
    first.
    """
    SCRAM.process_1 = _without_channel_binding_process_1


class Client(ClientXMPP):
    """A client of the server under test.

    It verifies the server's certificate against cafile, logs in with mech
    (SCRAM-SHA-256 unless told otherwise), registers plugins, and its
    start() connects to address and waits at most wait seconds for
    on_start, which by default sends initial presence and sets ready.
    Subclasses add their queues and handlers and may override on_start.
    """

    def __init__(self, jid, password, cafile, address, wait, plugins=(), mech="SCRAM-SHA-256"):
        super().__init__(jid, password, sasl_mech=mech)
        self.ca_certs = cafile
        self.address = address
        self.wait = wait
        self.ready = asyncio.Event()
        for p in plugins:
            self.register_plugin(p)
        self.add_event_handler("session_start", self.on_start)

    async def on_start(self, _):
        self.send_presence()
        self.ready.set()

    async def start(self):
        self.connect(address=self.address)
        await asyncio.wait_for(self.ready.wait(), self.wait)


async def expect(queue, pred, what, wait):
    """The first item of queue that pred accepts, within wait seconds."""
    async def loop():
        while True:
            item = await queue.get()
            if pred(item):
                return item
    try:
        return await asyncio.wait_for(loop(), wait)
    except asyncio.TimeoutError:
        raise RuntimeError(f"timed out waiting for {what}")


async def eventually(pred, what, wait):
    """Return once pred() holds, polling every 50 ms for wait seconds."""
    for _ in range(int(wait * 20)):
        if pred():
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def run(main, seconds):
    """Run the coroutine function main for at most seconds; exit with its code."""
    logging.basicConfig(level=logging.ERROR)
    sys.exit(asyncio.run(asyncio.wait_for(main(), seconds)))
