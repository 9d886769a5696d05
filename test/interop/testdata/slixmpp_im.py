"""Drive Crosstalk's c2s with slixmpp (Debian python3-slixmpp).

Usage: slixmpp_im.py HOST PORT DOMAIN CAFILE PASSWORD STEPS
Users alice, bob and carol exist with PASSWORD. STEPS is a comma-separated
list of: login_stock (user dave, unpatched slixmpp), login, roster, presence,
chat, carbons, offline, mam, muc, resume.
Prints "OK <step>" per step; exits 1 with "FAIL <step>: why" otherwise.
Every wait is bounded.
"""
import asyncio
import sys

import slixmpp_common as common

HOST, PORT, DOMAIN, CAFILE, PASSWORD, STEPS = sys.argv[1:7]
PORT = int(PORT)
STEPS = STEPS.split(",")
WAIT = 10


class Client(common.Client):
    def __init__(self, local, resource, mech="SCRAM-SHA-256"):
        super().__init__(f"{local}@{DOMAIN}/{resource}", PASSWORD, CAFILE, (HOST, PORT), WAIT,
                         ("xep_0030", "xep_0045", "xep_0199", "xep_0280", "xep_0313", "xep_0297"), mech)
        self.want_mech = mech
        self.inbox = asyncio.Queue()
        self.presences = asyncio.Queue()
        self.carbons = asyncio.Queue()
        self.failed = None
        self.groupchat = asyncio.Queue()
        self.add_event_handler("groupchat_message", lambda m: self.groupchat.put_nowait(m))
        self.add_event_handler("message", lambda m: self.inbox.put_nowait(m))
        self.add_event_handler("presence", lambda p: self.presences.put_nowait(p))
        self.add_event_handler("carbon_received", lambda m: self.carbons.put_nowait(("received", m)))
        self.add_event_handler("carbon_sent", lambda m: self.carbons.put_nowait(("sent", m)))
        self.add_event_handler("no_auth", lambda *_: self.fail("no mechanism succeeded"))

    def fail(self, why):
        self.failed = why
        self.ready.set()

    async def on_start(self, _):
        await self.get_roster()
        self.send_presence()
        self.ready.set()

    async def start(self):
        await super().start()
        if self.failed:
            raise RuntimeError(self.failed)
        mech = self.plugin["feature_mechanisms"].mech
        if self.want_mech and (mech is None or mech.name != self.want_mech):
            raise RuntimeError(f"mechanism {mech and mech.name}")


async def expect(queue, pred, what):
    return await common.expect(queue, pred, what, WAIT)


async def eventually(pred, what):
    await common.eventually(pred, what, WAIT)


async def main():
    step = "login"
    clients = []
    try:
        if "login_stock" in STEPS:
            step = "login_stock"
            stock = Client("dave", "stock", mech=None)
            clients.append(stock)
            await stock.start()
            print("OK login_stock", flush=True)
            stock.disconnect()
        common.without_channel_binding()
        alice, bob = Client("alice", "a1"), Client("bob", "b1")
        clients += [alice, bob]
        await alice.start()
        await bob.start()
        print("OK login", flush=True)
        bare_a, bare_b = f"alice@{DOMAIN}", f"bob@{DOMAIN}"

        if "roster" in STEPS:
            step = "roster"
            await alice.update_roster(bare_b, name="Bob", groups=["Friends"])
            alice.send_presence_subscription(pto=bare_b)  # bob auto-authorizes and subscribes back
            await eventually(lambda: alice.client_roster[bare_b]["subscription"] == "both"
                             and bob.client_roster[bare_a]["subscription"] == "both", "subscription both ways")
            if alice.client_roster[bare_b]["name"] != "Bob":
                raise RuntimeError("roster name lost")
            print("OK roster", flush=True)

        if "presence" in STEPS:
            step = "presence"
            alice.send_presence(pshow="away", pstatus="lunch ☕")
            await expect(bob.presences, lambda p: p["from"].bare == bare_a and p["show"] == "away"
                         and p["status"] == "lunch ☕", "alice away")
            bob.send_presence(pshow="dnd")
            await expect(alice.presences, lambda p: p["from"].bare == bare_b and p["show"] == "dnd", "bob dnd")
            print("OK presence", flush=True)

        if "chat" in STEPS:
            step = "chat"
            alice.send_message(mto=bare_b, mbody="Grüße, 你好 🎉", mtype="chat")
            await expect(bob.inbox, lambda m: m["body"] == "Grüße, 你好 🎉" and m["from"].bare == bare_a, "chat at bob")
            bob.send_message(mto=f"{bare_a}/a1", mbody="Ça va? привет", mtype="chat")
            await expect(alice.inbox, lambda m: m["body"] == "Ça va? привет", "chat at alice")
            print("OK chat", flush=True)

        if "carbons" in STEPS:
            step = "carbons"
            alice2 = Client("alice", "a2")
            clients.append(alice2)
            await alice2.start()
            await alice2.plugin["xep_0280"].enable()
            bob.send_message(mto=f"{bare_a}/a1", mbody="carbon in", mtype="chat")
            await expect(alice2.carbons, lambda c: c[0] == "received"
                         and c[1]["carbon_received"]["body"] == "carbon in", "received carbon")
            alice.send_message(mto=bare_b, mbody="carbon out", mtype="chat")
            await expect(alice2.carbons, lambda c: c[0] == "sent"
                         and c[1]["carbon_sent"]["body"] == "carbon out", "sent carbon")
            print("OK carbons", flush=True)

        if "offline" in STEPS:
            step = "offline"
            alice.send_message(mto=f"carol@{DOMAIN}", mbody="while you were out — ünïcödé", mtype="chat")
            await asyncio.sleep(0.5)
            carol = Client("carol", "c1")
            clients.append(carol)
            await carol.start()
            await expect(carol.inbox, lambda m: m["body"] == "while you were out — ünïcödé", "offline message")
            print("OK offline", flush=True)

        if "mam" in STEPS:
            step = "mam"
            found = []
            async for rsm in alice.plugin["xep_0313"].retrieve(jid=None, with_jid=bare_b, iterator=True, rsm={"max": 10}):
                for m in rsm["mam"]["results"]:
                    found.append(m["mam_result"]["forwarded"]["stanza"]["body"])
                if len(found) > 50:
                    break
            if "Grüße, 你好 🎉" not in found or "Ça va? привет" not in found:
                raise RuntimeError(f"archive holds {found}")
            print("OK mam", flush=True)

        if "muc" in STEPS:
            step = "muc"
            room = f"lounge@conference.{DOMAIN}"
            await alice.plugin["xep_0045"].join_muc_wait(room, "Alice", maxstanzas=0, timeout=WAIT)
            alice.send_message(mto=room, mbody="erste Nachricht ☕", mtype="groupchat")
            await expect(alice.groupchat, lambda m: m["body"] == "erste Nachricht ☕", "groupchat echo")
            _, _, _, history = await bob.plugin["xep_0045"].join_muc_wait(room, "Bob", maxstanzas=10, timeout=WAIT)
            if not any(m["body"] == "erste Nachricht ☕" and m["from"].resource == "Alice" for m in history):
                raise RuntimeError(f"history {[m['body'] for m in history]}")
            bob.send_message(mto=room, mbody="hallo", mtype="groupchat")
            got = await expect(alice.groupchat, lambda m: m["body"] == "hallo", "groupchat from bob")
            if str(got["from"]) != f"{room}/Bob":
                raise RuntimeError(f"groupchat from {got['from']}")
            roster = alice.plugin["xep_0045"].get_roster(room)
            if set(roster) != {"Alice", "Bob"}:
                raise RuntimeError(f"occupants {roster}")
            print("OK muc", flush=True)

        if "resume" in STEPS:
            step = "resume"
            ed = Client("carol", "sm")
            clients.append(ed)
            ed.register_plugin("xep_0198")
            enabled, resumed = asyncio.Event(), asyncio.Event()
            ed.add_event_handler("sm_enabled", lambda *_: enabled.set())
            ed.add_event_handler("session_resumed", lambda *_: resumed.set())
            await ed.start()
            await asyncio.wait_for(enabled.wait(), WAIT)
            bob.send_message(mto=f"carol@{DOMAIN}/sm", mbody="before the break", mtype="chat")
            await expect(ed.inbox, lambda m: m["body"] == "before the break", "message before the break")
            lost = asyncio.Event()
            ed.add_event_handler("disconnected", lambda *_: lost.set(), disposable=True)
            ed.abort()  # the network goes away: no stream close
            await asyncio.wait_for(lost.wait(), WAIT)
            await asyncio.sleep(0.3)
            bob.send_message(mto=f"carol@{DOMAIN}/sm", mbody="während der Pause", mtype="chat")
            ed.connect(address=(HOST, PORT))
            await asyncio.wait_for(resumed.wait(), WAIT)
            await expect(ed.inbox, lambda m: m["body"] == "während der Pause", "message held for the detached session")
            print("OK resume", flush=True)
    except Exception as e:  # report any failure with its step
        print(f"FAIL {step}: {type(e).__name__}: {e}", flush=True)
        return 1
    finally:
        for c in clients:
            c.disconnect()
        await asyncio.sleep(0.2)
    return 0


if __name__ == "__main__":
    common.run(main, 120)
