"""Bookmarks with slixmpp (Debian python3-slixmpp): XEP-0048 through PEP
(slixmpp's xep_0048 with the xep_0223 storage method) and XEP-0402 (plain
xep_0060 publish and items, as slixmpp 1.8.3 has no xep_0402 plugin) on one
account, kept in step by the server.

Usage: slixmpp_bookmarks.py HOST PORT DOMAIN CAFILE PASSWORD
User alice exists with PASSWORD; two of her sessions take part. Steps:
disco (the account advertises urn:xmpp:bookmarks:1#compat-pep), legacy
(an XEP-0048 list published by one session is read as XEP-0402 items by
the other), native (an XEP-0402 item published by the other, with
whitelist and max_items=max, shows up in the XEP-0048 list read back by
the first, with the first list's url kept), private (bob may not read
either node). Prints "OK <step>" per step; exits 1 with "FAIL <step>: why"
otherwise. Every wait is bounded.
"""
import asyncio
import sys

from slixmpp.exceptions import IqError
from slixmpp.xmlstream import ET

import slixmpp_common as common

HOST, PORT, DOMAIN, CAFILE, PASSWORD = sys.argv[1:6]
PORT = int(PORT)
WAIT = 20
NS2 = "urn:xmpp:bookmarks:1"
ROOM1 = f"treff@conference.{DOMAIN}"
ROOM2 = f"café@conference.{DOMAIN}"
PLUGINS = ("xep_0030", "xep_0004", "xep_0060", "xep_0163", "xep_0223", "xep_0049", "xep_0048")


def client(local, resource):
    """A session of local@DOMAIN/resource with the plugins the steps use."""
    return common.Client(f"{local}@{DOMAIN}/{resource}", PASSWORD, CAFILE, (HOST, PORT), WAIT, PLUGINS)


def conferences(iq):
    """The XEP-0048 conferences of a storage:bookmarks items answer."""
    out = {}
    for item in iq["pubsub"]["items"]:
        storage = item.xml.find("{storage:bookmarks}storage")
        if storage is None:
            continue
        for c in storage.findall("{storage:bookmarks}conference"):
            out[c.get("jid")] = (c.get("name"), c.get("autojoin") in ("1", "true"), c.findtext("{storage:bookmarks}nick"))
    return out


async def main():
    step = "login"
    clients = []
    try:
        a1, a2, bob = client("alice", "legacy"), client("alice", "native"), client("bob", "x")
        clients += [a1, a2, bob]
        for c in clients:
            await c.start()

        step = "disco"
        info = await a1["xep_0030"].get_info(jid=f"alice@{DOMAIN}", timeout=WAIT)
        if NS2 + "#compat-pep" not in info["disco_info"]["features"]:
            raise RuntimeError(f"account features {info['disco_info']['features']}")
        print("OK disco", flush=True)

        step = "legacy"
        bm = a1["xep_0048"].stanza.Bookmarks()
        bm.add_conference(ROOM1, "Alice", name="Treffpunkt ☕", autojoin=True)
        bm.add_url("https://example.org/", name="Heim")
        await a1["xep_0048"].set_bookmarks(bm, method="xep_0223", timeout=WAIT)
        items = await a2["xep_0060"].get_items(jid=None, node=NS2, timeout=WAIT)
        got = {}
        for item in items["pubsub"]["items"]:
            conf = item.xml.find("{%s}conference" % NS2)
            got[item["id"]] = (conf.get("name"), conf.get("autojoin"), conf.findtext("{%s}nick" % NS2))
        if got.get(ROOM1) != ("Treffpunkt ☕", "true", "Alice"):
            raise RuntimeError(f"XEP-0402 items {got}")
        print("OK legacy", flush=True)

        step = "native"
        conf = ET.Element("{%s}conference" % NS2, {"name": "Kaffeeklatsch", "autojoin": "false"})
        ET.SubElement(conf, "{%s}nick" % NS2).text = "Ali"
        opts = a2["xep_0004"].stanza.Form()
        opts["type"] = "submit"
        opts.add_field(var="FORM_TYPE", ftype="hidden", value="http://jabber.org/protocol/pubsub#publish-options")
        opts.add_field(var="pubsub#persist_items", value="true")
        opts.add_field(var="pubsub#max_items", value="max")
        opts.add_field(var="pubsub#send_last_published_item", value="never")
        opts.add_field(var="pubsub#access_model", value="whitelist")
        await a2["xep_0060"].publish(jid=None, node=NS2, id=ROOM2, payload=conf, options=opts, timeout=WAIT)
        legacy = conferences(await a1["xep_0048"].get_bookmarks(method="xep_0223", timeout=WAIT))
        if legacy.get(ROOM2) != ("Kaffeeklatsch", False, "Ali") or legacy.get(ROOM1) != ("Treffpunkt ☕", True, "Alice"):
            raise RuntimeError(f"XEP-0048 list {legacy}")
        raw = await a1["xep_0048"].get_bookmarks(method="xep_0223", timeout=WAIT)
        if "https://example.org/" not in str(raw):
            raise RuntimeError(f"the url entry was lost: {raw}")
        print("OK native", flush=True)

        step = "private"
        for node in (NS2, "storage:bookmarks"):
            try:
                await bob["xep_0060"].get_items(jid=f"alice@{DOMAIN}", node=node, timeout=WAIT)
                raise RuntimeError(f"bob read {node}")
            except IqError as e:
                if e.condition != "not-allowed":
                    raise RuntimeError(f"{node} refused with {e.condition}")
        print("OK private", flush=True)
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
