"""Locked new rooms (XEP-0045 §10.1) with slixmpp (Debian python3-slixmpp),
against a server with [rooms] lock_new = true.

Usage: slixmpp_muc_lock.py HOST PORT DOMAIN CAFILE PASSWORD
Users alice and bob exist with PASSWORD. Steps: locked (alice creates a
room: 201; bob's join gets item-not-found), cancel (alice cancels the
initial configuration: the room is destroyed), instant (alice creates it
again and accepts the instant room with an empty form; bob joins).
Prints "OK <step>" per step; exits 1 with "FAIL <step>: why" otherwise.
"""
import asyncio
import sys

from slixmpp.exceptions import IqError, PresenceError

import slixmpp_common as common

HOST, PORT, DOMAIN, CAFILE, PASSWORD = sys.argv[1:6]
PORT = int(PORT)
WAIT = 15
ROOM = f"reserviert@conference.{DOMAIN}"


def client(local):
    """A session of local@DOMAIN/lock with the plugins the steps use."""
    return common.Client(f"{local}@{DOMAIN}/lock", PASSWORD, CAFILE, (HOST, PORT), WAIT,
                         ("xep_0030", "xep_0045", "xep_0004"))


def codes(pres):
    return {int(c) for c in pres["muc"]["status_codes"]}


async def main():
    step = "login"
    clients = []
    try:
        alice, bob = client("alice"), client("bob")
        clients += [alice, bob]
        for c in clients:
            await c.start()

        step = "locked"
        self_pres, _, _, _ = await alice["xep_0045"].join_muc_wait(ROOM, "Alice", maxstanzas=0, timeout=WAIT)
        if 201 not in codes(self_pres):
            raise RuntimeError(f"creation presence {self_pres}")
        try:
            await bob["xep_0045"].join_muc_wait(ROOM, "Bob", maxstanzas=0, timeout=WAIT)
            raise RuntimeError("bob entered a locked room")
        except PresenceError as e:
            if e.condition != "item-not-found":
                raise RuntimeError(f"join refused with {e.condition}")
        print("OK locked", flush=True)

        step = "cancel"
        await alice["xep_0045"].cancel_config(ROOM, timeout=WAIT)
        try:
            await alice["xep_0030"].get_info(jid=ROOM, timeout=WAIT)
            raise RuntimeError("the room survived a cancelled initial configuration")
        except IqError as e:
            if e.condition != "item-not-found":
                raise RuntimeError(f"room info after cancel: {e.condition}")
        print("OK cancel", flush=True)

        step = "instant"
        self_pres, _, _, _ = await alice["xep_0045"].join_muc_wait(ROOM, "Alice", maxstanzas=0, timeout=WAIT)
        if 201 not in codes(self_pres):
            raise RuntimeError(f"creation presence {self_pres}")
        form = alice["xep_0004"].stanza.Form()
        form["type"] = "submit"
        await alice["xep_0045"].set_room_config(ROOM, form, timeout=WAIT)
        await bob["xep_0045"].join_muc_wait(ROOM, "Bob", maxstanzas=0, timeout=WAIT)
        print("OK instant", flush=True)
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
    common.run(main, 90)
