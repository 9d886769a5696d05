"""Watch a SIP phone's presence from an XMPP client (Debian python3-slixmpp).

Usage: slixmpp_sip_presence.py HOST PORT DOMAIN CAFILE ALICE_PW BOB_PW
alice and bob subscribe to each other over XMPP; bob leaves XMPP and the
test registers bob's SIP phone; alice must then see bob available from a
resource other than his XMPP one. Prints "OK subscribed", then
"OK sip-presence <resource>"; exits 1 with "FAIL …" otherwise.
"""
import asyncio
import sys

from slixmpp import ClientXMPP
from slixmpp.util.sasl.mechanisms import SCRAM

HOST, PORT, DOMAIN, CAFILE, ALICE_PW, BOB_PW = sys.argv[1:7]
PORT = int(PORT)
WAIT = 40

# See slixmpp_im.py: slixmpp 1.8.3 would send the "y" flag under TLS 1.3.
_process_1 = SCRAM.process_1


def _without_channel_binding(self, challenge):
    self.credentials["channel_binding"] = b""
    return _process_1(self, challenge)


SCRAM.process_1 = _without_channel_binding


class Client(ClientXMPP):
    def __init__(self, jid, pw):
        super().__init__(jid, pw, sasl_mech="SCRAM-SHA-256")
        self.ca_certs = CAFILE
        self.ready = asyncio.Event()
        self.presences = asyncio.Queue()
        self.add_event_handler("session_start", self.start_session)
        self.add_event_handler("presence", lambda p: self.presences.put_nowait(p))

    async def start_session(self, _):
        await self.get_roster()
        self.send_presence()
        self.ready.set()


async def main():
    bare_a, bare_b = f"alice@{DOMAIN}", f"bob@{DOMAIN}"
    alice, bob = Client(bare_a + "/a1", ALICE_PW), Client(bare_b + "/xmpp", BOB_PW)
    try:
        for c in (alice, bob):
            c.connect(address=(HOST, PORT))
            await asyncio.wait_for(c.ready.wait(), WAIT)
        alice.send_presence_subscription(pto=bare_b)  # bob auto-authorizes and subscribes back
        for _ in range(WAIT * 20):
            if alice.client_roster[bare_b]["subscription"] == "both":
                break
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError("no subscription both ways")
        bob.disconnect()
        await asyncio.sleep(0.5)
        print("OK subscribed", flush=True)

        async def sip_presence():
            while True:
                p = await alice.presences.get()
                if p["from"].bare == bare_b and p["type"] == "available" and p["from"].resource != "xmpp":
                    return p
        p = await asyncio.wait_for(sip_presence(), WAIT)
        print(f"OK sip-presence {p['from'].resource}", flush=True)
    except Exception as e:
        print(f"FAIL: {type(e).__name__}: {e}", flush=True)
        return 1
    finally:
        alice.disconnect()
        await asyncio.sleep(0.2)
    return 0


if __name__ == "__main__":
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    sys.exit(loop.run_until_complete(asyncio.wait_for(main(), 90)))
