"""Drive Crosstalk's multi-user chat (XEP-0045) with slixmpp (Debian python3-slixmpp).

Usage: slixmpp_muc.py HOST PORT DOMAIN CAFILE PASSWORD [restart]
Users alice, bob and carol exist with PASSWORD. Steps, in order: join
(alice creates and configures the room, bob joins), talk (both ways,
non-ASCII), subject, history (carol joins and gets history and subject),
selfping (XEP-0410), kick (carol), invite (mediated, declined, and
XEP-0249 direct), ban (bob, who then cannot rejoin),
archive (XEP-0313 query to the room). With "restart", run after the server
restarted: the persistent room keeps its name, subject, history, owner and ban.
Prints "OK <step>" per step; exits 1 with "FAIL <step>: why" otherwise.
Every wait is bounded.
"""
import asyncio
import sys

from slixmpp.exceptions import PresenceError

import slixmpp_common as common

HOST, PORT, DOMAIN, CAFILE, PASSWORD = sys.argv[1:6]
PHASE = sys.argv[6] if len(sys.argv) > 6 else "live"
PORT = int(PORT)
WAIT = 10
ROOM = f"treff@conference.{DOMAIN}"


class Client(common.Client):
    def __init__(self, local):
        super().__init__(f"{local}@{DOMAIN}/muc", PASSWORD, CAFILE, (HOST, PORT), WAIT,
                         ("xep_0030", "xep_0045", "xep_0199", "xep_0313", "xep_0297", "xep_0059", "xep_0004", "xep_0249"))
        self.groupchat = asyncio.Queue()
        self.subjects = asyncio.Queue()
        self.room_presence = asyncio.Queue()
        self.inbox = asyncio.Queue()
        self.direct = asyncio.Queue()
        self.add_event_handler("groupchat_message", lambda m: self.groupchat.put_nowait(m))
        self.add_event_handler("groupchat_subject", lambda m: self.subjects.put_nowait(m))
        self.add_event_handler("groupchat_presence", lambda p: self.room_presence.put_nowait(p))
        self.add_event_handler("message", lambda m: self.inbox.put_nowait(m))
        self.add_event_handler("groupchat_direct_invite", lambda m: self.direct.put_nowait(m))

    @property
    def muc(self):
        return self.plugin["xep_0045"]


async def expect(queue, pred, what):
    return await common.expect(queue, pred, what, WAIT)


def codes(pres):
    return {int(c) for c in pres["muc"]["status_codes"]}


async def after_restart():
    """The room as the first run left it: name, subject, history, owner, ban."""
    step = "restart"
    alice = Client("alice")
    try:
        await alice.start()
        self_pres, subject, _, history = await alice.muc.join_muc_wait(ROOM, "Alice", maxstanzas=10, timeout=WAIT)
        if self_pres["muc"]["affiliation"] != "owner" or 201 in codes(self_pres):
            raise RuntimeError(f"self-presence after restart {self_pres}")
        if subject["subject"] != "Thema: Tee oder Kaffee? 🍵":
            raise RuntimeError(f"subject after restart {subject['subject']!r}")
        bodies = [m["body"] for m in history]
        if "Grüße aus Köln ☕ 你好" not in bodies or "Привет, Алиса 🎉" not in bodies:
            raise RuntimeError(f"history after restart {bodies}")
        info = await alice.plugin["xep_0030"].get_info(jid=ROOM, timeout=WAIT)
        names = [i[3] for i in info["disco_info"]["identities"]]
        if names != ["Treffpunkt ☕"]:
            raise RuntimeError(f"room name after restart {names}")
        outcasts = await alice.muc.get_affiliation_list(ROOM, "outcast", timeout=WAIT)
        if [str(j) for j in outcasts] != [f"bob@{DOMAIN}"]:
            raise RuntimeError(f"outcasts after restart {outcasts}")
        print("OK restart", flush=True)
    except Exception as e:
        print(f"FAIL {step}: {type(e).__name__}: {e}", flush=True)
        return 1
    finally:
        alice.disconnect()
        await asyncio.sleep(0.2)
    return 0


async def main():
    if PHASE == "restart":
        return await after_restart()
    step = "login"
    clients = []
    try:
        alice, bob, carol = Client("alice"), Client("bob"), Client("carol")
        clients += [alice, bob, carol]
        for c in clients:
            await c.start()

        step = "join"
        self_pres, _, _, _ = await alice.muc.join_muc_wait(ROOM, "Alice", maxstanzas=0, timeout=WAIT)
        if 201 not in codes(self_pres) or self_pres["muc"]["affiliation"] != "owner":
            raise RuntimeError(f"creation presence {self_pres}")
        form = await alice.muc.get_room_config(ROOM, timeout=WAIT)
        fields = form.get_fields()
        for var in ("muc#roomconfig_roomname", "muc#roomconfig_persistentroom", "muc#roomconfig_historylength"):
            if var not in fields:
                raise RuntimeError(f"config form lacks {var}")
        form.set_values({"muc#roomconfig_roomname": "Treffpunkt ☕", "muc#roomconfig_persistentroom": True,
                         "muc#roomconfig_publicroom": True})
        await alice.muc.set_room_config(ROOM, form, timeout=WAIT)
        info = await alice.plugin["xep_0030"].get_info(jid=ROOM, timeout=WAIT)
        feats = info["disco_info"]["features"]
        if "muc_persistent" not in feats or "http://jabber.org/protocol/muc" not in feats:
            raise RuntimeError(f"room features {feats}")
        items = await bob.plugin["xep_0030"].get_items(jid=f"conference.{DOMAIN}", timeout=WAIT)
        if ROOM not in [i[0] for i in items["disco_items"]["items"]]:
            raise RuntimeError(f"public rooms {items['disco_items']['items']}")
        await bob.muc.join_muc_wait(ROOM, "Bob", maxstanzas=0, timeout=WAIT)
        await expect(alice.room_presence, lambda p: str(p["from"]) == f"{ROOM}/Bob" and p["type"] != "unavailable", "bob's arrival")
        if set(alice.muc.get_roster(ROOM)) != {"Alice", "Bob"}:
            raise RuntimeError(f"occupants {alice.muc.get_roster(ROOM)}")
        print("OK join", flush=True)

        step = "talk"
        first, second = "Grüße aus Köln ☕ 你好", "Привет, Алиса 🎉"
        alice.send_message(mto=ROOM, mbody=first, mtype="groupchat")
        got = await expect(bob.groupchat, lambda m: m["body"] == first, "alice's message at bob")
        if str(got["from"]) != f"{ROOM}/Alice":
            raise RuntimeError(f"from {got['from']}")
        bob.send_message(mto=ROOM, mbody=second, mtype="groupchat")
        got = await expect(alice.groupchat, lambda m: m["body"] == second, "bob's message at alice")
        if str(got["from"]) != f"{ROOM}/Bob" or "bob@" in str(got):
            raise RuntimeError(f"bob's message leaks or is misaddressed: {got}")
        print("OK talk", flush=True)

        step = "subject"
        topic = "Thema: Tee oder Kaffee? 🍵"
        alice.muc.set_subject(ROOM, topic)
        got = await expect(bob.subjects, lambda m: m["subject"] == topic, "subject at bob")
        if str(got["from"]) != f"{ROOM}/Alice":
            raise RuntimeError(f"subject from {got['from']}")
        print("OK subject", flush=True)

        step = "history"
        _, subject, occupants, history = await carol.muc.join_muc_wait(ROOM, "Carol", maxstanzas=10, timeout=WAIT)
        bodies = [m["body"] for m in history]
        if bodies[-2:] != [first, second] or history[-1]["from"].resource != "Bob":
            raise RuntimeError(f"history {bodies}")
        if subject["subject"] != topic:
            raise RuntimeError(f"subject on join {subject['subject']!r}")
        if not {"Alice", "Bob"} <= {p["from"].resource for p in occupants}:
            raise RuntimeError(f"occupants on join {[str(p['from']) for p in occupants]}")
        print("OK history", flush=True)

        step = "selfping"
        await carol.plugin["xep_0199"].send_ping(f"{ROOM}/Carol", timeout=WAIT)
        print("OK selfping", flush=True)

        step = "kick"
        await alice.muc.set_role(ROOM, "Carol", "none", reason="genug für heute", timeout=WAIT)
        got = await expect(carol.room_presence, lambda p: p["from"].resource == "Carol" and p["type"] == "unavailable", "carol's kick")
        if 307 not in codes(got) or 110 not in codes(got):
            raise RuntimeError(f"kick codes {codes(got)}")
        await expect(alice.room_presence, lambda p: p["from"].resource == "Carol" and p["type"] == "unavailable", "carol leaves at alice")
        print("OK kick", flush=True)

        step = "invite"
        alice.muc.invite(ROOM, f"carol@{DOMAIN}", reason="komm zurück")
        got = await expect(carol.inbox, lambda m: m["muc"]["invite"]["from"] == f"alice@{DOMAIN}", "mediated invitation at carol")
        if str(got["from"]) != ROOM or got["muc"]["invite"]["reason"] != "komm zurück":
            raise RuntimeError(f"invitation {got}")
        carol.muc.decline(ROOM, f"alice@{DOMAIN}", reason="keine Zeit")
        got = await expect(alice.inbox, lambda m: m["muc"]["decline"]["from"] == f"carol@{DOMAIN}", "decline at alice")
        if str(got["from"]) != ROOM or got["muc"]["decline"]["reason"] != "keine Zeit":
            raise RuntimeError(f"decline {got}")
        alice.plugin["xep_0249"].send_invitation(f"carol@{DOMAIN}/muc", ROOM, reason="direkt")
        got = await expect(carol.direct, lambda m: m["groupchat_invite"]["jid"] == ROOM, "direct invitation at carol")
        if got["from"].bare != f"alice@{DOMAIN}" or got["groupchat_invite"]["reason"] != "direkt":
            raise RuntimeError(f"direct invitation {got}")
        print("OK invite", flush=True)

        step = "ban"
        await alice.muc.set_affiliation(ROOM, "outcast", jid=f"bob@{DOMAIN}", reason="Spam", timeout=WAIT)
        got = await expect(bob.room_presence, lambda p: p["from"].resource == "Bob" and p["type"] == "unavailable", "bob's ban")
        if 301 not in codes(got):
            raise RuntimeError(f"ban codes {codes(got)}")
        outcasts = await alice.muc.get_affiliation_list(ROOM, "outcast", timeout=WAIT)
        if [str(j) for j in outcasts] != [f"bob@{DOMAIN}"]:
            raise RuntimeError(f"outcasts {outcasts}")
        try:
            await bob.muc.join_muc_wait(ROOM, "Bob", maxstanzas=0, timeout=WAIT)
            raise RuntimeError("a banned user rejoined")
        except PresenceError as e:
            if e.condition != "forbidden":
                raise RuntimeError(f"rejoin refused with {e.condition}")
        print("OK ban", flush=True)

        step = "archive"
        found = []
        async for m in alice.plugin["xep_0313"].iterate(jid=ROOM, rsm={"max": 10}, total=50):
            fwd = m["mam_result"]["forwarded"]["stanza"]
            found.append((str(fwd["from"]), fwd["body"]))
        if (f"{ROOM}/Alice", first) not in found or (f"{ROOM}/Bob", second) not in found:
            raise RuntimeError(f"room archive {found}")
        print("OK archive", flush=True)
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
    common.run(main, 120)
