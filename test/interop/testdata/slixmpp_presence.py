"""One side of the SIP presence <-> XMPP test: alice on XMPP (slixmpp).

Usage: slixmpp_presence.py HOST PORT DOMAIN CAFILE PASSWORD
Logs in as alice with show "dnd" and status "busy on xmpp", prints "READY",
waits for a subscription request from bob (a SIP watcher's SUBSCRIBE),
prints "ASKED", waits for a line on stdin (the test sends it once bob's
SIP client has the NOTIFY of the pending state, so that the approval
cannot overtake it), approves, and prints "OK". Exits 1 with "FAIL why"
otherwise. Every wait is bounded.
"""
import asyncio
import sys

import slixmpp_common as common

HOST, PORT, DOMAIN, CAFILE, PASSWORD = sys.argv[1:6]
WAIT = 20


class Client(common.Client):
    def __init__(self):
        super().__init__(f"alice@{DOMAIN}/xmpp", PASSWORD, CAFILE, (HOST, int(PORT)), WAIT)
        self.roster.auto_authorize = None  # the test approves by hand
        self.roster.auto_subscribe = False
        self.asked = asyncio.Event()
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
        await c.start()
        print("READY", flush=True)
        await asyncio.wait_for(c.asked.wait(), WAIT)
        print("ASKED", flush=True)
        loop = asyncio.get_running_loop()
        await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.readline), WAIT)
        c.send_presence(pto=f"bob@{DOMAIN}", ptype="subscribed")
        await asyncio.sleep(2)
        print("OK", flush=True)
        return 0
    except Exception as e:
        print(f"FAIL {type(e).__name__}: {e}", flush=True)
        return 1
    finally:
        c.disconnect()


if __name__ == "__main__":
    common.without_channel_binding()
    common.run(main, 90)
