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
import logging
import sys

from slixmpp import ClientXMPP
from slixmpp.exceptions import IqError, PresenceError
from slixmpp.util.sasl.mechanisms import SCRAM

_process_1 = SCRAM.process_1


def _without_channel_binding(self, challenge):
    self.credentials["channel_binding"] = b""
    return _process_1(self, challenge)


SCRAM.process_1 = _without_channel_binding

HOST, PORT, DOMAIN, CAFILE, PASSWORD = sys.argv[1:6]
PORT = int(PORT)
WAIT = 15
ROOM = f"reserviert@conference.{DOMAIN}"


class Client(ClientXMPP):
    def __init__(self, local):
        super().__init__(f"{local}@{DOMAIN}/lock", PASSWORD, sasl_mech="SCRAM-SHA-256")
        self.ca_certs = CAFILE
        self.ready = asyncio.Event()
        for p in ("xep_0030", "xep_0045", "xep_0004"):
            self.register_plugin(p)
        self.add_event_handler("session_start", self.on_start)

    async def on_start(self, _):
        self.send_presence()
        self.ready.set()

    async def start(self):
        self.connect(address=(HOST, PORT))
        await asyncio.wait_for(self.ready.wait(), WAIT)


def codes(pres):
    return {int(c) for c in pres["muc"]["status_codes"]}


async def main():
    step = "login"
    clients = []
    try:
        alice, bob = Client("alice"), Client("bob")
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
    logging.basicConfig(level=logging.ERROR)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    code = loop.run_until_complete(asyncio.wait_for(main(), 90))
    sys.exit(code)
