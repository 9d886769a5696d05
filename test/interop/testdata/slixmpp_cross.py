"""The XMPP side of the cross-protocol interop tests (issue 6).

Usage: slixmpp_cross.py HOST PORT DOMAIN CAFILE USER PASSWORD MODE BODY
Logs in as USER@DOMAIN/xmpp and prints "READY"; then, by MODE:
  carbon   enables carbons (XEP-0280) and waits for a <sent/> carbon of a
           message to bob whose body is BODY (sent by the user's phone)
  received enables carbons, goes available with priority -1 (so a message
           to the bare address goes to the user's phone only) and waits for
           a <received/> carbon of a message from bob whose body is BODY
  bounce   sends BODY to bob and waits for the error that comes back,
           printing "ERROR <condition>"
  send     sends BODY to bob (offline everywhere) and waits a moment
  mam      waits 2 s for messages (an offline message must not come again)
           and looks BODY up in the archive with alice: prints
           "ARCHIVED <n>" and "LIVE <n>" (copies of BODY received live)
  chat     BODY is "OUT|IN": sends OUT to bob and waits for IN from bob
  show     BODY is "SHOW|STATUS": sends that presence, stays 4 s, leaves
  watch    asks alice for a subscription ("ASKED"), waits for her approval
           ("SUBSCRIBED"), then for her presence with show away and then dnd
           (each printed "SHOW <show> <status>"); BODY is unused
Prints "OK" at the end, or "FAIL why" and exits 1. Every wait is bounded.
"""
import asyncio
import sys

from slixmpp import JID

import slixmpp_common as common

HOST, PORT, DOMAIN, CAFILE, USER, PASSWORD, MODE, BODY = sys.argv[1:9]
WAIT = 20


class Client(common.Client):
    def __init__(self):
        super().__init__(f"{USER}@{DOMAIN}/xmpp", PASSWORD, CAFILE, (HOST, int(PORT)), WAIT,
                         ("xep_0030", "xep_0280", "xep_0297", "xep_0313"))
        self.inbox = asyncio.Queue()
        self.sent = asyncio.Queue()
        self.add_event_handler("message", lambda m: self.inbox.put_nowait(m))
        self.add_event_handler("message_error", lambda m: self.inbox.put_nowait(m))
        self.add_event_handler("carbon_sent", lambda m: self.sent.put_nowait(m))
        self.received = asyncio.Queue()
        self.add_event_handler("carbon_received", lambda m: self.received.put_nowait(m))
        self.presences = asyncio.Queue()
        self.subscribed = asyncio.Event()
        # Every presence stanza: slixmpp's presence_available skips presence
        # from resources its roster has not seen come online.
        self.add_event_handler("presence", lambda p: self.presences.put_nowait(p))
        self.add_event_handler("presence_subscribed", lambda p: self.subscribed.set())

    async def on_start(self, _):
        if MODE in ("carbon", "received"):
            await self.plugin["xep_0280"].enable()
        if MODE == "received":
            self.send_presence(ppriority=-1)
        elif MODE == "show":
            show, status = BODY.split("|", 1)
            self.send_presence(pshow=show, pstatus=status)
        else:
            self.send_presence()
        self.ready.set()


async def main():
    c = Client()
    bob = JID(f"bob@{DOMAIN}")
    try:
        await c.start()
        print("READY", flush=True)
        if MODE == "carbon":
            async def wait_carbon():
                while True:
                    m = await c.sent.get()
                    inner = m["carbon_sent"]
                    if inner["to"].bare == bob.bare and inner["body"].strip() == BODY:
                        print(f"CARBON from={inner['from'].bare} to={inner['to'].bare}", flush=True)
                        return
            await asyncio.wait_for(wait_carbon(), WAIT)
        elif MODE == "received":
            async def wait_received():
                while True:
                    m = await c.received.get()
                    inner = m["carbon_received"]
                    if inner["from"].bare == bob.bare and inner["body"].strip() == BODY:
                        print(f"RECEIVED from={inner['from'].bare} to={inner['to'].bare}", flush=True)
                        return
            await asyncio.wait_for(wait_received(), WAIT)
            await asyncio.sleep(0.5)
            while not c.inbox.empty():  # the message itself went to the phone only
                m = c.inbox.get_nowait()
                if m["body"].strip() == BODY and m["type"] != "error":
                    print("FAIL the XMPP client got the message itself", flush=True)
                    return 1
        elif MODE == "bounce":
            c.send_message(mto=bob, mbody=BODY, mtype="chat")

            async def wait_error():
                while True:
                    m = await c.inbox.get()
                    if m["type"] == "error" and m["from"].bare == bob.bare:
                        print(f"ERROR {m['error']['condition']} {m['error']['type']}", flush=True)
                        return
            await asyncio.wait_for(wait_error(), WAIT)
        elif MODE == "send":
            c.send_message(mto=bob, mbody=BODY, mtype="chat")
            await asyncio.sleep(1)
        elif MODE == "mam":
            await asyncio.sleep(2)
            live = 0
            while not c.inbox.empty():
                m = c.inbox.get_nowait()
                if m["body"].strip() == BODY:
                    live += 1
            alice = JID(f"alice@{DOMAIN}")
            found = 0
            async for rsm in c.plugin["xep_0313"].retrieve(jid=None, with_jid=alice, iterator=True, rsm={"max": 10}):
                for m in rsm["mam"]["results"]:
                    if m["mam_result"]["forwarded"]["stanza"]["body"].strip() == BODY:
                        found += 1
            print(f"ARCHIVED {found}", flush=True)
            print(f"LIVE {live}", flush=True)
        elif MODE == "chat":
            out, want = BODY.split("|", 1)
            c.send_message(mto=bob, mbody=out, mtype="chat")

            async def wait_in():
                while True:
                    m = await c.inbox.get()
                    if m["from"].bare == bob.bare and m["body"].strip() == want:
                        print(f"GOT {m['body'].strip()}", flush=True)
                        return
            await asyncio.wait_for(wait_in(), WAIT)
        elif MODE == "show":
            await asyncio.sleep(4)
        elif MODE == "watch":
            alice = JID(f"alice@{DOMAIN}")
            c.send_presence(pto=alice, ptype="subscribe")
            print("ASKED", flush=True)
            await asyncio.wait_for(c.subscribed.wait(), WAIT)
            print("SUBSCRIBED", flush=True)
            for want in ("away", "dnd"):
                async def wait_show():
                    while True:
                        p = await c.presences.get()
                        if p["from"].bare == alice.bare and p["show"] == want:
                            print(f"SHOW {p['show']} {p['status']}", flush=True)
                            return
                await asyncio.wait_for(wait_show(), WAIT)
        else:
            raise ValueError(f"unknown mode {MODE}")
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
