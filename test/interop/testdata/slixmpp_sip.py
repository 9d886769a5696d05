"""One side of the XMPP <-> SIP test: alice on XMPP (slixmpp).

Usage: slixmpp_sip.py HOST PORT DOMAIN CAFILE PASSWORD
Logs in as alice, prints "READY", sends a chat message "from-xmpp ✓ 😀" to
bob (who is a SIP phone), waits for a message "from-sip ✓ 🎉" from bob (sipp ends its body with CRLF) and
prints "OK". Exits 1 with "FAIL why" otherwise. Every wait is bounded.
"""
import asyncio
import sys

import slixmpp_common as common

HOST, PORT, DOMAIN, CAFILE, PASSWORD = sys.argv[1:6]
WAIT = 20


class Client(common.Client):
    def __init__(self):
        super().__init__(f"alice@{DOMAIN}/xmpp", PASSWORD, CAFILE, (HOST, int(PORT)), WAIT)
        self.inbox = asyncio.Queue()
        self.add_event_handler("message", lambda m: self.inbox.put_nowait(m))


async def main():
    c = Client()
    try:
        await c.start()
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


if __name__ == "__main__":
    common.without_channel_binding()
    common.run(main, 90)
