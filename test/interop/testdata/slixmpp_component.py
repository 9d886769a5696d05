"""An slixmpp external component (XEP-0114) and an slixmpp client on Crosstalk.

Usage: slixmpp_component.py HOST C2S_PORT COMPONENT_PORT DOMAIN COMPONENT SECRET CAFILE PASSWORD
User alice exists with PASSWORD; COMPONENT is configured with SECRET.
Steps: handshake (the component connects), echo (alice's message to
echo@COMPONENT comes back from it), disco (alice's disco#info IQ to the
component is answered by it), items (the server's disco#items lists the
component), wrong_secret (a component with a bad secret is refused).
Prints "OK <step>" per step; exits 1 with "FAIL <step>: why" otherwise.
Every wait is bounded.
"""
import asyncio
import sys

from slixmpp.componentxmpp import ComponentXMPP

import slixmpp_common as common

HOST, C2S_PORT, COMP_PORT, DOMAIN, COMPONENT, SECRET, CAFILE, PASSWORD = sys.argv[1:9]
WAIT = 10


class Echo(ComponentXMPP):
    def __init__(self, secret):
        super().__init__(COMPONENT, secret, HOST, int(COMP_PORT))
        self.register_plugin("xep_0030")
        self.ready = asyncio.Event()
        self.ended = asyncio.Event()
        self.add_event_handler("session_start", lambda _: self.ready.set())
        self.add_event_handler("disconnected", lambda _: self.ended.set())
        self.add_event_handler("message", self.on_message)

    def on_message(self, msg):
        if msg["type"] in ("chat", "normal") and msg["body"]:
            msg.reply("echo: " + msg["body"]).send()


class Client(common.Client):
    def __init__(self):
        super().__init__(f"alice@{DOMAIN}/c1", PASSWORD, CAFILE, (HOST, int(C2S_PORT)), WAIT, ("xep_0030",))
        self.inbox = asyncio.Queue()
        self.add_event_handler("message", lambda m: self.inbox.put_nowait(m))


async def main():
    step = "handshake"
    peers = []
    try:
        echo = Echo(SECRET)
        peers.append(echo)
        echo.connect()
        await asyncio.wait_for(echo.ready.wait(), WAIT)
        print("OK handshake", flush=True)

        alice = Client()
        peers.append(alice)
        await alice.start()

        step = "echo"
        alice.send_message(mto=f"echo@{COMPONENT}", mbody="héllo ⚙", mtype="chat")
        msg = await asyncio.wait_for(alice.inbox.get(), WAIT)
        if msg["body"] != "echo: héllo ⚙" or msg["from"].bare != f"echo@{COMPONENT}":
            raise RuntimeError(f"got {msg}")
        print("OK echo", flush=True)

        step = "disco"
        info = await alice["xep_0030"].get_info(jid=COMPONENT, timeout=WAIT)
        if "http://jabber.org/protocol/disco#info" not in info["disco_info"]["features"]:
            raise RuntimeError(f"got {info}")
        print("OK disco", flush=True)

        step = "items"
        items = await alice["xep_0030"].get_items(jid=DOMAIN, timeout=WAIT)
        if COMPONENT not in [i[0] for i in items["disco_items"]["items"]]:
            raise RuntimeError(f"got {items}")
        print("OK items", flush=True)

        step = "wrong_secret"
        bad = Echo("not the secret")
        peers.append(bad)
        bad.connect()
        await asyncio.wait_for(bad.ended.wait(), WAIT)
        if bad.ready.is_set():
            raise RuntimeError("a wrong secret was accepted")
        print("OK wrong_secret", flush=True)
    except Exception as e:  # noqa: BLE001 - report any failure as the step's
        print(f"FAIL {step}: {type(e).__name__}: {e}", flush=True)
        return 1
    finally:
        for p in peers:
            p.disconnect()
    return 0


if __name__ == "__main__":
    common.without_channel_binding()
    common.run(main, 90)
