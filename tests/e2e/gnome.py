#!/usr/bin/python3
"""The GNOME stack, end to end on one real guest (g1: alice and bob): what a GNOME application sees
through Gio's GDBusObjectManagerClient (python3-gi), the way GNOME Boxes or any GTK VM manager would
use org.vpc. The client lists the GuestOS objects as ListGuestOS does, reads AgentConnected, OSName
and State from its cached properties, calls ListUsers and then Logoff on the real guest, and
follows the Task to its end without polling: the Task object appears through InterfacesAdded, its
Progress signals rise to 100, PropertiesChanged brings IsComplete, Completed(0, "", "") comes once,
and ListUsers is then empty. A domain defined and undefined meanwhile appears and vanishes in the
client's object list. Every wait runs the GLib main loop with a generous bound."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import *  # noqa: E402,F403
from gi.repository import Gio, GLib  # noqa: E402

VM = "g1"
URI = os.environ.get("VPC_GUEST_URI", "qemu:///system")
GUESTOS = "org.vpc.GuestOS"

ctx = GLib.MainContext.default()


def run_until(cond, timeout):
    """Iterates the main loop until cond() is true or timeout seconds passed; returns cond()."""
    end = time.monotonic() + timeout
    fired = []
    while not cond() and time.monotonic() < end:
        # A timer wakes the blocking iteration at least every 100 ms to look at the clock.
        source = GLib.timeout_add(100, lambda: fired.append(1) and False)
        n = len(fired)
        ctx.iteration(True)
        if len(fired) == n:
            GLib.source_remove(source)
    return cond()


def cached(proxy, name):
    v = proxy.get_cached_property(name)
    return v.unpack() if v is not None else None


# Gio reads DBUS_SYSTEM_BUS_ADDRESS, as sd-bus does: this is the private system bus.
manager = Gio.DBusObjectManagerClient.new_for_bus_sync(
    Gio.BusType.SYSTEM, Gio.DBusObjectManagerClientFlags.NONE, "org.vpc", "/org/vpc", None, None, None)
check(manager.get_name_owner() is not None, "the object manager client sees org.vpc's owner", manager.get_name_owner())

added, removed = [], []
manager.connect("object-added", lambda m, o: added.append(o.get_object_path()))
manager.connect("object-removed", lambda m, o: removed.append(o.get_object_path()))


def guests():
    return {o.get_object_path(): o.get_interface(GUESTOS) for o in manager.get_objects() if o.get_interface(GUESTOS)}


listed = call(MANAGER, "org.vpc.Manager", "ListGuestOS")
check(listed.ok and sorted(guests()) == sorted(p for _, _, p in listed.value),
      "the client's GuestOS objects are ListGuestOS's", (sorted(guests()), listed))
g1 = guests().get(encode_path(VM))
check(g1 is not None, f"the client has {VM}'s object")
if g1 is None:
    finish()

# --- what a VM list shows ---------------------------------------------------------------------------
osinfo = vpcguest.agent(VM, "guest-get-osinfo")
check(run_until(lambda: cached(g1, "AgentConnected") is True and cached(g1, "OSName") == osinfo["pretty-name"], 60),
      "the row: agent connected, the guest's OS name", (cached(g1, "AgentConnected"), cached(g1, "OSName")))
check(cached(g1, "Name") == VM and cached(g1, "State") == "running", "... name and state",
      (cached(g1, "Name"), cached(g1, "State")))
users = g1.call_sync("ListUsers", None, Gio.DBusCallFlags.NONE, 30000, None).unpack()[0]
check(sorted(u[0] for u in users) == ["alice", "bob"] and all(u[2] > 0 for u in users),
      "ListUsers through the proxy: who will be logged off, with login times", users)

# --- Logoff, followed through the object manager ------------------------------------------------------
seen = {"progress": [], "completed": [], "task": None, "proxy": None, "reply": None, "error": None}


def on_task_signal(proxy, sender, signal, params):
    if signal == "Progress":
        seen["progress"].append(params.unpack()[0])
    elif signal == "Completed":
        seen["completed"].append(list(params.unpack()))


def watch_task(path):
    obj = manager.get_object(path)
    proxy = obj.get_interface("org.vpc.Task") if obj else None
    if proxy and not seen["proxy"]:
        seen["proxy"] = proxy
        proxy.connect("g-signal", on_task_signal)


# Connected before the call: the Task's InterfacesAdded may come before the reply.
manager.connect("object-added", lambda m, o: watch_task(o.get_object_path())
                if o.get_interface("org.vpc.Task") else None)


def on_reply(proxy, res):
    try:
        seen["reply"] = proxy.call_finish(res).unpack()[0]
        watch_task(seen["reply"])
    except GLib.Error as e:
        seen["error"] = e.message


t0 = time.monotonic()
g1.call("Logoff", None, Gio.DBusCallFlags.NONE, 60000, None, on_reply)
check(run_until(lambda: seen["reply"] or seen["error"], 60), "Logoff is answered", seen["error"])
task = seen["reply"]
check(isinstance(task, str) and task.startswith("/org/vpc/Task/"), "... with a task", seen)
check(run_until(lambda: seen["proxy"] is not None, 30), "the Task appears in the client (InterfacesAdded)", added)
proxy = seen["proxy"]
if proxy is None:
    finish()
check(cached(proxy, "Description") == "Logoff" and cached(proxy, "Target") == encode_path(VM),
      "the task: Logoff of g1", (cached(proxy, "Description"), cached(proxy, "Target")))
check(run_until(lambda: cached(proxy, "IsComplete") is True and seen["completed"], 90),
      f"PropertiesChanged brings IsComplete, and Completed comes ({time.monotonic() - t0:.1f} s)",
      (cached(proxy, "IsComplete"), seen["completed"]))
print(f"# Progress signals through the client: {seen['progress']}")
check(seen["progress"] and seen["progress"][-1] == 100 and seen["progress"] == sorted(seen["progress"]),
      "the progress bar rises to 100 (Progress signals)", seen["progress"])
check(cached(proxy, "PercentCompleted") == 100 and cached(proxy, "ErrorCode") == 0 and cached(proxy, "ErrorName") == "",
      "the cached properties say 100 %, 0, no error",
      (cached(proxy, "PercentCompleted"), cached(proxy, "ErrorCode"), cached(proxy, "ErrorName")))
check(seen["completed"] == [[0, "", ""]], "Completed(0, \"\", \"\") once", seen["completed"])
users = g1.call_sync("ListUsers", None, Gio.DBusCallFlags.NONE, 30000, None).unpack()[0]
check(users == [], "ListUsers is empty afterwards: nobody is logged on", users)
check(vpcguest.users(VM) == [], "... as the guest's own agent says")

# --- a domain defined and undefined while the client watches ----------------------------------------
xml = os.path.join(os.environ["VPC_ENV_DIR"], "gnome-vm.xml")
with open(xml, "w") as f:
    f.write("<domain type='qemu'><name>gnome vm</name><memory unit='MiB'>64</memory>"
            "<os><type arch='x86_64'>hvm</type></os></domain>")
path = encode_path("gnome vm")
subprocess.run(["virsh", "-q", "-c", URI, "define", xml], check=True, capture_output=True)
check(run_until(lambda: path in added and path in guests(), 30), "a defined domain appears in the client", added)
g = guests().get(path)
check(g is not None and cached(g, "State") == "shutoff" and cached(g, "AgentConnected") is False
      and cached(g, "OSName") == "", "... shut off, no agent, no OS name yet")
subprocess.run(["virsh", "-q", "-c", URI, "undefine", "gnome vm"], check=True, capture_output=True)
check(run_until(lambda: path in removed and path not in guests(), 30), "an undefined one vanishes", removed)
finish()
