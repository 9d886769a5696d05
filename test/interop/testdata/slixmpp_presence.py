"""One side of the SIP presence <-> XMPP test: alice on XMPP (slixmpp).

Usage: slixmpp_presence.py HOST PORT DOMAIN CAFILE PASSWORD
Logs in as alice with show "dnd" and status "busy on xmpp", prints "READY",
waits for a subscription request from bob (a SIP watcher's SUBSCRIBE),
prints "ASKED", approves it, and prints "OK". Exits 1 with "FAIL why"
otherwise. Every wait is bounded.
"""
import asyncio
import sys

from slixmpp import ClientXMPP
from slixmpp.util.sasl.mechanisms import SCRAM

_process_1 = SCRAM.process_1


def _without_channel_binding(self, challenge):
    # See slixmpp_im.py: slixmpp 1.8.3 claims tls-unique on TLS 1.3.
    self.credentials["channel_binding"] = b""
    return _process_1(self, challenge)


SCRAM.process_1 = _without_channel_binding
HOST, PORT, DOMAIN, CAFILE, PASSWORD = sys.argv[1:6]
WAIT = 20


class Client(ClientXMPP):
    def __init__(self):
        super().__init__(f"alice@{DOMAIN}/xmpp", PASSWORD, sasl_mech="SCRAM-SHA-256")
        self.ca_certs = CAFILE
        self.roster.auto_authorize = None  # the test approves by hand
        self.roster.auto_subscribe = False
        self.asked = asyncio.Event()
        self.ready = asyncio.Event()
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("presence_subscribe", self.on_subscribe)

    async def on_start(self, _):
        self.send_presence(pshow="dnd", pstatus="busy on xmpp")
        self.ready.set()

    def on_subscribe(self, p):
        if p["from"].bare == f"bob@{DOMAIN}":
            self.asked.set()


async def main():
    c = Client()
    try:
        c.connect(address=(HOST, int(PORT)))
        await asyncio.wait_for(c.ready.wait(), WAIT)
        print("READY", flush=True)
        await asyncio.wait_for(c.asked.wait(), WAIT)
        print("ASKED", flush=True)
        c.send_presence(pto=f"bob@{DOMAIN}", ptype="subscribed")
        await asyncio.sleep(2)
        print("OK", flush=True)
        return 0
    except Exception as e:
        print(f"FAIL {type(e).__name__}: {e}", flush=True)
        return 1
    finally:
        c.disconnect()


sys.exit(asyncio.run(main()))
