"""One side of the XMPP <-> SIP test: alice on XMPP (slixmpp).

Usage: slixmpp_sip.py HOST PORT DOMAIN CAFILE PASSWORD
Logs in as alice, prints "READY", sends a chat message "from-xmpp ✓ 😀" to
bob (who is a SIP phone), waits for a message "from-sip ✓ 🎉" from bob (sipp ends its body with CRLF) and
prints "OK". Exits 1 with "FAIL why" otherwise. Every wait is bounded.
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
        self.inbox = asyncio.Queue()
        self.ready = asyncio.Event()
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", lambda m: self.inbox.put_nowait(m))

    async def on_start(self, _):
        self.send_presence()
        self.ready.set()


async def main():
    c = Client()
    try:
        c.connect(address=(HOST, int(PORT)))
        await asyncio.wait_for(c.ready.wait(), WAIT)
        print("READY", flush=True)
        c.send_message(mto=f"bob@{DOMAIN}", mbody="from-xmpp ✓ 😀", mtype="chat")

        async def wait_sip():
            while True:
                m = await c.inbox.get()
                if m["body"].strip() == "from-sip ✓ 🎉" and m["from"].bare == f"bob@{DOMAIN}":
                    return
        await asyncio.wait_for(wait_sip(), WAIT)
        print("OK", flush=True)
        return 0
    except Exception as e:
        print(f"FAIL {type(e).__name__}: {e}", flush=True)
        return 1
    finally:
        c.disconnect()


sys.exit(asyncio.run(main()))
