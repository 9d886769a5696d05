"""Watch a SIP phone's presence from an XMPP client (Debian python3-slixmpp).

Usage: slixmpp_sip_presence.py HOST PORT DOMAIN CAFILE ALICE_PW BOB_PW
alice and bob subscribe to each other over XMPP; bob leaves XMPP and the
test registers bob's SIP phone; alice must then see bob available from a
resource other than his XMPP one. Prints "OK subscribed", then
"OK sip-presence <resource>"; exits 1 with "FAIL …" otherwise.
"""
import asyncio
import sys

import slixmpp_common as common

HOST, PORT, DOMAIN, CAFILE, ALICE_PW, BOB_PW = sys.argv[1:7]
PORT = int(PORT)
WAIT = 40

class Client(common.Client):
    def __init__(self, jid, pw):
        super().__init__(jid, pw, CAFILE, (HOST, PORT), WAIT)
        self.presences = asyncio.Queue()
        self.add_event_handler("presence", lambda p: self.presences.put_nowait(p))

    async def on_start(self, _):
        await self.get_roster()
        self.send_presence()
        self.ready.set()


async def main():
    bare_a, bare_b = f"alice@{DOMAIN}", f"bob@{DOMAIN}"
    alice, bob = Client(bare_a + "/a1", ALICE_PW), Client(bare_b + "/xmpp", BOB_PW)
    try:
        for c in (alice, bob):
            await c.start()
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
    common.without_channel_binding()
    common.run(main, 90)
