#!/usr/bin/python3
"""GuestOS objects follow libvirt: GetManagedObjects lists exactly the domains, names that need
escaping round-trip, GetGuestOS finds by name and UUID, live Introspect matches introspection/*.xml
(their Qt annotations aside) and lists the child nodes (/org/vpc: GuestOS and Task; every domain),
and define / start / suspend / destroy / rename / undefine while the daemon runs are seen as
InterfacesAdded / PropertiesChanged / InterfacesRemoved (and in the child nodes). Real dbus-daemon, polkitd, libvirtd."""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vpctest import *  # noqa: E402,F403

URI = os.environ["VPC_LIBVIRT_URI"]
SRC = os.environ["VPC_SOURCE_ROOT"]
EXPECTED = {
    "web server 01": ("11111111-2222-3333-4444-000000000001", "running"),
    "db.prod-2": ("11111111-2222-3333-4444-000000000002", "shutoff"),
    "ünïcode-vm": ("11111111-2222-3333-4444-000000000003", "running"),
    "paused-vm": ("11111111-2222-3333-4444-000000000004", "paused"),
    "test": ("6695eb01-f6a4-8304-79aa-97f2502e193f", "running"),
    "1vm": ("11111111-2222-3333-4444-000000000005", "shutoff"),
}


def virsh(*args):
    r = subprocess.run(["virsh", "-q", "-c", URI, *args], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"virsh {' '.join(args)} failed: {r.stderr}")
    return r.returncode == 0


def guest_objects():
    return {p: i["org.vpc.GuestOS"] for p, i in managed_objects().items() if "org.vpc.GuestOS" in i}


# --- the initial set -------------------------------------------------------------------------
objs = guest_objects()
check(len(objs) == len(EXPECTED), f"GetManagedObjects lists exactly the {len(EXPECTED)} domains", sorted(objs))
for name, (uuid, state) in EXPECTED.items():
    path = encode_path(name)
    props = objs.get(path)
    check(props is not None, f"object for {name!r} at {path}")
    if props:
        check(props["Name"] == name and props["UUID"] == uuid and props["State"] == state,
              f"{name!r}: Name, UUID, State = {state}", props)

listed = call(MANAGER, "org.vpc.Manager", "ListGuestOS")
check(listed.ok and sorted(n for n, _, _ in listed.value) == sorted(EXPECTED), "ListGuestOS names", listed)
check(listed.ok and all(p == encode_path(n) for n, _, p in listed.value), "ListGuestOS paths", listed)

# --- a name that starts with a digit (issue 13, defect 6) -----------------------------------------
# The test's own encoder against literal sd-bus paths, then the daemon's object for "1vm".
check(encode_path("1vm") == "/org/vpc/GuestOS/_31vm" and encode_path("") == "/org/vpc/GuestOS/_"
      and encode_path("a1") == "/org/vpc/GuestOS/a1" and encode_path("9") == "/org/vpc/GuestOS/_39",
      "encode_path escapes a leading digit as sd_bus_path_encode() does", encode_path("1vm"))
r = call(MANAGER, "org.vpc.Manager", "GetGuestOS", "s", ("1vm",))
check(r.ok and r.value == "/org/vpc/GuestOS/_31vm", "GetGuestOS('1vm') is /org/vpc/GuestOS/_31vm", r)
r = call("/org/vpc/GuestOS/_31vm", "org.freedesktop.DBus.Properties", "Get", "ss", ("org.vpc.GuestOS", "Name"))
check(r.ok and r.value == "1vm", "the object at _31vm has Name '1vm' (round trip)", r)
r = call("/org/vpc/GuestOS/1vm", "org.freedesktop.DBus.Properties", "Get", "ss", ("org.vpc.GuestOS", "Name"))
check(not r.ok, "the unescaped /org/vpc/GuestOS/1vm is no alias of it (an error, not its Name)", r)
r = call("/org/vpc/GuestOS/_31vm", "org.vpc.GuestOS", "Logoff")
expect_error(r, "org.vpc.Error.VmNotRunning", "Logoff on _31vm reaches the shut-off '1vm'")

# --- paths whose decoded name is not UTF-8 (issue 13, defect 1) --------------------------------------
# /org/vpc/GuestOS/_ff names the byte 0xFF: the VmUnknown message quotes it, escaped, and every call
# is answered (it used to get no reply at all: sd-bus refused the message, the failure was ignored).
for label, shown in (("_ff", "\\xff"), ("_c3_28", "\\xc3("), ("_ed_a0_80", "\\xed\\xa0\\x80"), ("_1b_5b31m", "\\x1b[31m")):
    p = "/org/vpc/GuestOS/" + label
    for what, r in (("Logoff", call(p, "org.vpc.GuestOS", "Logoff", timeout=5)),
                    ("Get", call(p, "org.freedesktop.DBus.Properties", "Get", "ss", ("org.vpc.GuestOS", "Name"), timeout=5)),
                    ("GetAll", call(p, "org.freedesktop.DBus.Properties", "GetAll", "s", ("org.vpc.GuestOS",), timeout=5))):
        if expect_error(r, "org.vpc.Error.VmUnknown", f"{what} on {p} is answered"):
            check(f"no domain '{shown}'" in r.error_message, f"... and its message shows the bytes escaped", r.error_message)

# --- lookups ---------------------------------------------------------------------------------
for name, (uuid, _) in EXPECTED.items():
    by_name = call(MANAGER, "org.vpc.Manager", "GetGuestOS", "s", (name,))
    check(by_name.ok and by_name.value == encode_path(name), f"GetGuestOS({name!r})", by_name)
    by_uuid = call(MANAGER, "org.vpc.Manager", "GetGuestOS", "s", (uuid.upper(),))
    check(by_uuid.ok and by_uuid.value == encode_path(name), f"GetGuestOS(UUID of {name!r}, upper case)", by_uuid)
r = call(MANAGER, "org.vpc.Manager", "GetGuestOS", "s", ("no-such-vm",))
expect_error(r, "org.vpc.Error.VmUnknown", "GetGuestOS of an unknown name")
r = call(MANAGER, "org.vpc.Manager", "GetGuestOS", "s", ("",))
expect_error(r, "org.vpc.Error.VmUnknown", "GetGuestOS of the empty name")

# Unprivileged callers may read everything.
r = call(MANAGER, "org.vpc.Manager", "GetGuestOS", "s", ("db.prod-2",), user=os.environ["VPC_DENIED_USER"])
check(r.ok and r.value == encode_path("db.prod-2"), "GetGuestOS as an unprivileged user", r)
r = get_property(encode_path("paused-vm"), "org.vpc.GuestOS", "State", user=os.environ["VPC_DENIED_USER"])
check(r == "paused", "State as an unprivileged user", r)

# --- properties of the Manager ----------------------------------------------------------------
check(get_property(MANAGER, "org.vpc.Manager", "HypervisorURI") == os.environ.get("VPC_DAEMON_URI", URI),
      "HypervisorURI")
version = get_property(MANAGER, "org.vpc.Manager", "Version")
check(isinstance(version, str) and version[:1].isdigit(), "Version", version)

# --- bad arguments: a clear error, and the daemon keeps serving ----------------------------------
r = call(MANAGER, "org.vpc.Manager", "GetGuestOS", "i", (42,))
expect_error(r, "org.freedesktop.DBus.Error.InvalidArgs", "GetGuestOS(i)")
r = call(MANAGER, "org.vpc.Manager", "GetGuestOS", "ss", ("a", "b"))
expect_error(r, "org.freedesktop.DBus.Error.InvalidArgs", "GetGuestOS(ss)")
r = call(MANAGER, "org.vpc.Manager", "ListGuestOS", "u", (1,), user=os.environ["VPC_DENIED_USER"])
expect_error(r, "org.freedesktop.DBus.Error.InvalidArgs", "ListGuestOS(u) as an unprivileged user")
r = call(encode_path("test"), "org.vpc.GuestOS", "Logoff", "s", ("x",))
expect_error(r, "org.freedesktop.DBus.Error.InvalidArgs", "Logoff(s)")
r = call(MANAGER, "org.vpc.Manager", "NoSuchMethod")
check(not r.ok and r.error_name == "org.freedesktop.DBus.Error.UnknownMethod", "unknown method", r)
r = call("/org/vpc/GuestOS/no_20such", "org.freedesktop.DBus.Properties", "GetAll", "s", ("org.vpc.GuestOS",))
expect_error(r, "org.vpc.Error.VmUnknown", "properties of an unknown GuestOS object")
r = call(MANAGER, "org.vpc.Manager", "ListGuestOS")
check(r.ok and len(r.value) == len(EXPECTED), "the daemon still serves after bad calls", r)

# --- live Introspect matches introspection/*.xml -------------------------------------------------


def interface_of(xml_text, name):
    root = ET.fromstring(xml_text)
    for iface in root.iter("interface"):
        if iface.get("name") == name:
            # The files' Qt type names (for qdbusxml2cpp) are not live: an sd-bus vtable only
            # carries the annotations its flags stand for.
            for parent in iface.iter():
                for a in [a for a in parent.findall("annotation") if a.get("name", "").startswith("org.qtproject.")]:
                    parent.remove(a)
            return ET.tostring(iface, encoding="unicode").replace("\n", "").replace(" ", "")
    return None


for path, iface, fname in [(MANAGER, "org.vpc.Manager", "org.vpc.Manager.xml"),
                           (encode_path("web server 01"), "org.vpc.GuestOS", "org.vpc.GuestOS.xml")]:
    live = call(path, "org.freedesktop.DBus.Introspectable", "Introspect")
    with open(os.path.join(SRC, "introspection", fname)) as f:
        text = f.read()
    # ElementTree drops comments: the two <interface> elements must be the same XML.
    check(live.ok and interface_of(live.value, iface) == interface_of(text, iface),
          f"live Introspect of {iface} matches introspection/{fname}")

# --- Introspect's child nodes: how KDE's Solid finds objects (no ObjectManager client in QtDBus) -----


def child_nodes(path):
    r = call(path, "org.freedesktop.DBus.Introspectable", "Introspect")
    return sorted(n.get("name") for n in ET.fromstring(r.value).findall("node")) if r.ok else None


labels = sorted(encode_path(n).rsplit("/", 1)[1] for n in EXPECTED)
check(child_nodes(MANAGER) == ["GuestOS", "Task"], "/org/vpc lists GuestOS and Task", child_nodes(MANAGER))
check(child_nodes("/org/vpc/GuestOS") == labels, "/org/vpc/GuestOS lists every domain",
      child_nodes("/org/vpc/GuestOS"))
check(child_nodes("/org/vpc/Task") == [], "/org/vpc/Task lists no task: there is none",
      child_nodes("/org/vpc/Task"))

# --- lifecycle while the daemon runs ---------------------------------------------------------------
rec = SignalRecorder()
late_xml = os.path.join(os.environ["VPC_ENV_DIR"], "late.xml")
with open(late_xml, "w") as f:
    f.write("<domain type='test'><name>late arrival</name><uuid>11111111-2222-3333-4444-00000000000a</uuid>"
            "<memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>")
late = encode_path("late arrival")

check(virsh("define", late_xml), "virsh define")
e = rec.wait_for(lambda e: e[2] == "InterfacesAdded" and e[3][0] == late)
check(e is not None and "org.vpc.GuestOS" in e[3][1], "InterfacesAdded for a defined domain", rec.events)
check(e is not None and e[3][1]["org.vpc.GuestOS"].get("State") == "shutoff", "it is shut off", e)
check(late in guest_objects(), "GetManagedObjects lists it")
check(late.rsplit("/", 1)[1] in child_nodes("/org/vpc/GuestOS"), "Introspect of /org/vpc/GuestOS lists it")

for verb, state in [("start", "running"), ("suspend", "paused"), ("resume", "running"), ("destroy", "shutoff")]:
    mark = rec.mark()
    check(virsh(verb, "late arrival"), f"virsh {verb}")
    e = rec.wait_for(lambda e, s=state: e[0] == late and e[2] == "PropertiesChanged"
                     and e[3][1].get("State") == s, since=mark)
    check(e is not None, f"PropertiesChanged State={state} after {verb}", rec.of("PropertiesChanged", late))
    check(get_property(late, "org.vpc.GuestOS", "State") == state, f"State reads {state}")

renamed = encode_path("late.renamed")
check(virsh("domrename", "late arrival", "late.renamed"), "virsh domrename")
gone = rec.wait_for(lambda e: e[2] == "InterfacesRemoved" and e[3][0] == late)
came = rec.wait_for(lambda e: e[2] == "InterfacesAdded" and e[3][0] == renamed)
check(gone is not None and "org.vpc.GuestOS" in gone[3][1], "rename: InterfacesRemoved for the old path")
check(came is not None, "rename: InterfacesAdded for the new path")
objs = guest_objects()
check(late not in objs and renamed in objs, "rename: only the new path is listed", sorted(objs))
check(objs.get(renamed, {}).get("UUID") == "11111111-2222-3333-4444-00000000000a", "rename keeps the UUID")

check(virsh("undefine", "late.renamed"), "virsh undefine")
e = rec.wait_for(lambda e: e[2] == "InterfacesRemoved" and e[3][0] == renamed)
check(e is not None, "InterfacesRemoved for an undefined domain")
check(renamed not in guest_objects(), "GetManagedObjects no longer lists it")
check(child_nodes("/org/vpc/GuestOS") == labels, "nor does Introspect of /org/vpc/GuestOS")
r = call(renamed, "org.vpc.GuestOS", "Logoff")
expect_error(r, "org.vpc.Error.VmUnknown", "Logoff on the path of an undefined domain")
check(len(guest_objects()) == len(EXPECTED), "back to exactly the initial domains")

finish()
