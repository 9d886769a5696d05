"""XMPP side of a room shared with a SIP occupant (Debian python3-slixmpp).

Usage: slixmpp_muc_sip.py HOST PORT DOMAIN CAFILE PASSWORD
Users alice and carol exist with PASSWORD; the SIP user bob is driven by
sipp from the Go test, which reads this script's output and writes to its
standard input. Steps: alice creates the room, sets the subject and talks,
then prints "READY sip" and waits for bob (SIP) to join and talk; join
(bob's presence as an ordinary occupant), talk (bob's non-ASCII message
with the room's XEP-0359 stanza-id, and alice's answer), history (carol joins and gets bob's message), kick
(bob, 307), ban (bob made outcast), archive (the room's MAM has bob's
message under his nickname, with the id of its live stanza-id); then prints "READY banned" and waits for a
line on standard input before leaving, so the room stays while the Go test
checks that bob's next MESSAGE gets 403. Prints "OK <step>" per step;
exits 1 with "FAIL <step>: why" otherwise. Every wait is bounded.
"""
import asyncio
import sys

import slixmpp_common as common

HOST, PORT, DOMAIN, CAFILE, PASSWORD = sys.argv[1:6]
PORT = int(PORT)
WAIT = 20
ROOM = f"sipraum@conference.{DOMAIN}"
XMPP_TEXT = "Hallo aus XMPP ☕ 你好"
SIP_TEXT = "Grüße vom Telefon 📞 Привет"
ANSWER = "Antwort an bob ✓"
SUBJECT = "Thema: SIP und XMPP 🍵"


class Client(common.Client):
    def __init__(self, local):
        super().__init__(f"{local}@{DOMAIN}/muc", PASSWORD, CAFILE, (HOST, PORT), WAIT,
                         ("xep_0030", "xep_0045", "xep_0313", "xep_0297", "xep_0059", "xep_0004", "xep_0359"))
        self.groupchat = asyncio.Queue()
        self.room_presence = asyncio.Queue()
        self.add_event_handler("groupchat_message", lambda m: self.groupchat.put_nowait(m))
        self.add_event_handler("groupchat_presence", lambda p: self.room_presence.put_nowait(p))

    @property
    def muc(self):
        return self.plugin["xep_0045"]


async def expect(queue, pred, what):
    return await common.expect(queue, pred, what, WAIT)


def codes(pres):
    return {int(c) for c in pres["muc"]["status_codes"]}


async def main():
    step = "login"
    clients = []
    try:
        alice, carol = Client("alice"), Client("carol")
        clients += [alice, carol]
        for c in clients:
            await c.start()

        step = "create"
        await alice.muc.join_muc_wait(ROOM, "Alice", maxstanzas=0, timeout=WAIT)
        alice.muc.set_subject(ROOM, SUBJECT)
        alice.send_message(mto=ROOM, mbody=XMPP_TEXT, mtype="groupchat")
        await expect(alice.groupchat, lambda m: m["body"] == XMPP_TEXT, "alice's own message")
        print("READY sip", flush=True)

        step = "join"
        got = await expect(alice.room_presence, lambda p: p["from"].resource == "bob", "the SIP user's arrival")
        if got["type"] == "unavailable" or got["muc"]["role"] != "participant" or got["muc"]["affiliation"] != "none":
            raise RuntimeError(f"bob's presence {got}")
        if "bob" not in alice.muc.get_roster(ROOM):
            raise RuntimeError(f"occupants {alice.muc.get_roster(ROOM)}")
        print("OK join", flush=True)

        step = "talk"
        got = await expect(alice.groupchat, lambda m: m["from"].resource == "bob", "the SIP user's message")
        if got["body"] != SIP_TEXT or "bob@" in str(got):
            raise RuntimeError(f"bob's message {got}")
        sid = got["stanza_id"]
        if str(sid["by"]) != ROOM or not sid["id"]:
            raise RuntimeError(f"bob's message has no stanza-id by the room: {got}")
        live_id = sid["id"]
        alice.send_message(mto=ROOM, mbody=ANSWER, mtype="groupchat")
        print("OK talk", flush=True)

        step = "history"
        _, subject, occupants, history = await carol.muc.join_muc_wait(ROOM, "Carol", maxstanzas=10, timeout=WAIT)
        found = [(m["from"].resource, m["body"]) for m in history]
        if ("bob", SIP_TEXT) not in found or ("Alice", XMPP_TEXT) not in found:
            raise RuntimeError(f"history {found}")
        if subject["subject"] != SUBJECT:
            raise RuntimeError(f"subject {subject['subject']!r}")
        if "bob" not in {p["from"].resource for p in occupants}:
            raise RuntimeError(f"occupants on join {[str(p['from']) for p in occupants]}")
        print("OK history", flush=True)

        step = "kick"
        await alice.muc.set_role(ROOM, "bob", "none", reason="Pause", timeout=WAIT)
        got = await expect(carol.room_presence, lambda p: p["from"].resource == "bob" and p["type"] == "unavailable", "bob's kick")
        if 307 not in codes(got):
            raise RuntimeError(f"kick codes {codes(got)}")
        print("OK kick", flush=True)

        step = "ban"
        await alice.muc.set_affiliation(ROOM, "outcast", jid=f"bob@{DOMAIN}", reason="Spam", timeout=WAIT)
        outcasts = await alice.muc.get_affiliation_list(ROOM, "outcast", timeout=WAIT)
        if [str(j) for j in outcasts] != [f"bob@{DOMAIN}"]:
            raise RuntimeError(f"outcasts {outcasts}")
        print("OK ban", flush=True)

        step = "archive"
        found = []
        async for m in alice.plugin["xep_0313"].iterate(jid=ROOM, rsm={"max": 10}, total=50):
            fwd = m["mam_result"]["forwarded"]["stanza"]
            found.append((str(fwd["from"]), fwd["body"], m["mam_result"]["id"]))
        if (f"{ROOM}/bob", SIP_TEXT, live_id) not in found or (f"{ROOM}/Alice", ANSWER) not in [f[:2] for f in found]:
            raise RuntimeError(f"room archive {found} (bob's live stanza-id {live_id})")
        print("OK archive", flush=True)

        step = "banned"
        print("READY banned", flush=True)
        line = await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline), 60)
        if line.strip() != "done":
            raise RuntimeError(f"the test said {line!r}")
    except Exception as e:  # report any failure with its step
        print(f"FAIL {step}: {type(e).__name__}: {e}", flush=True)
        return 1
    finally:
        for c in clients:
            c.disconnect()
        await asyncio.sleep(0.2)
    return 0


if __name__ == "__main__":
    common.without_channel_binding()
    common.run(main, 150)
