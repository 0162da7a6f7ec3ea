#!/usr/bin/python3
"""The KDE/Qt stack, end to end on one real guest (g1: alice and bob): what a KDE application sees
through Qt's own D-Bus module (QtDBus from python3-pyqt5, headless under QCoreApplication). QtDBus
has no ObjectManager client, so the VMs are found both ways Qt code does: GetManagedObjects, and
walking Introspect's child nodes from /org/vpc as Solid's udisks2 backend does (/org/vpc lists
GuestOS and Task, /org/vpc/GuestOS every VM, /org/vpc/Task every task). ListUsers is read through
QtDBus and through the C++ proxy qdbusxml2cpp generates (tests/unit/test-qt-proxies --users, when
built). The client calls Logoff on the real guest and follows the task without polling: it
appears through InterfacesAdded and among /org/vpc/Task's child nodes, PropertiesChanged brings
PercentCompleted 100 and IsComplete, and Completed(0, "", "") comes once. A domain defined and
undefined meanwhile comes as InterfacesAdded and InterfacesRemoved and in the child nodes. Every
wait runs Qt's event loop with a generous bound."""

import functools
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import *  # noqa: E402,F403
from PyQt5.QtCore import QCoreApplication, QEventLoop, QObject, QTimer, QXmlStreamReader, pyqtSlot  # noqa: E402
from PyQt5.QtDBus import (QDBus, QDBusConnection, QDBusInterface, QDBusMessage, QDBusPendingCallWatcher,  # noqa: E402
                          QDBusPendingReply)

VM = "g1"
URI = os.environ.get("VPC_GUEST_URI", "qemu:///system")
SERVICE = "org.vpc"
GUESTOS = "org.vpc.GuestOS"
PROPERTIES = "org.freedesktop.DBus.Properties"
OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager"

started = time.monotonic()
app = QCoreApplication(sys.argv)
# QtDBus reads DBUS_SYSTEM_BUS_ADDRESS, as sd-bus does: this is the private system bus.
bus = QDBusConnection.systemBus()
check(bus.isConnected(), "QtDBus is connected to the system bus", bus.lastError().message())
if not bus.isConnected():
    finish()


def run_until(cond, timeout):
    """Runs Qt's event loop until cond() is true or timeout seconds passed; returns cond()."""
    end = time.monotonic() + timeout
    loop = QEventLoop()
    # Wakes the loop every 100 ms to look at cond() and the clock.
    timer = QTimer()
    timer.timeout.connect(loop.quit)
    timer.start(100)
    while not cond() and time.monotonic() < end:
        loop.exec_()
    timer.stop()
    return cond()


def qcall(path, interface, method, *args, timeout=30):
    """A blocking QtDBus call, a message of its own as Solid builds them (a QDBusInterface would
    introspect the object first): (True, arguments) or (False, "name: message")."""
    msg = QDBusMessage.createMethodCall(SERVICE, path, interface, method)
    msg.setArguments(list(args))
    reply = bus.call(msg, QDBus.Block, timeout * 1000)
    if reply.type() == QDBusMessage.ErrorMessage:
        return False, f"{reply.errorName()}: {reply.errorMessage()}"
    return True, reply.arguments()


def introspect(path):
    """(interfaces, child node names) of path, read with Qt's XML reader as Solid does."""
    ok, value = qcall(path, "org.freedesktop.DBus.Introspectable", "Introspect")
    if not ok:
        return None, None
    interfaces, nodes = [], []
    xml = QXmlStreamReader(value[0])
    depth = 0
    while not xml.atEnd():
        token = xml.readNext()
        if token == QXmlStreamReader.StartElement:
            depth += 1
            # Direct children of the root <node> only: <node> or <interface> at depth 2.
            if depth == 2 and xml.name() == "interface":
                interfaces.append(xml.attributes().value("name"))
            elif depth == 2 and xml.name() == "node":
                nodes.append(xml.attributes().value("name"))
        elif token == QXmlStreamReader.EndElement:
            depth -= 1
    if xml.hasError():
        check(False, f"the introspection of {path} is well-formed XML", xml.errorString())
        return None, None
    return interfaces, sorted(nodes)


def walk(path, found):
    """Solid's way: every object below path that has the GuestOS interface."""
    interfaces, nodes = introspect(path)
    if interfaces is None:
        return
    if GUESTOS in interfaces:
        found.append(path)
    for n in nodes:
        walk(f"{path}/{n}", found)


def recorded(slot):
    """PyQt aborts the process on an exception in a slot: it becomes a failed check instead."""
    @functools.wraps(slot)
    def run(*args):
        try:
            slot(*args)
        except Exception as e:  # noqa: BLE001
            check(False, f"{slot.__name__} handles its message", repr(e))
    return run


class Watcher(QObject):
    """Slots for the bus signals; each keeps the messages it received."""

    def __init__(self):
        super().__init__()
        self.added, self.removed, self.changed, self.completed, self.progress = [], [], [], [], []

    @pyqtSlot(QDBusMessage)
    @recorded
    def on_added(self, msg):
        path, interfaces = msg.arguments()
        self.added.append((path, interfaces))

    @pyqtSlot(QDBusMessage)
    @recorded
    def on_removed(self, msg):
        path, interfaces = msg.arguments()
        self.removed.append((path, interfaces))

    @pyqtSlot(QDBusMessage)
    @recorded
    def on_changed(self, msg):
        interface, changed, _ = msg.arguments()
        self.changed.append((msg.path(), interface, changed))

    @pyqtSlot(QDBusMessage)
    @recorded
    def on_completed(self, msg):
        self.completed.append((msg.path(), msg.arguments()))

    @pyqtSlot(QDBusMessage)
    @recorded
    def on_progress(self, msg):
        self.progress.append((msg.path(), msg.arguments()[0]))


w = Watcher()
# Connected before anything is called: a Task's signals can come before the Logoff reply. An empty
# path matches every object of the service (Qt leaves path out of the match rule).
for path, interface, name, slot in [("/org/vpc", OBJECT_MANAGER, "InterfacesAdded", w.on_added),
                                    ("/org/vpc", OBJECT_MANAGER, "InterfacesRemoved", w.on_removed),
                                    ("", PROPERTIES, "PropertiesChanged", w.on_changed),
                                    ("", "org.vpc.Task", "Completed", w.on_completed),
                                    ("", "org.vpc.Task", "Progress", w.on_progress)]:
    check(bus.connect(SERVICE, path, interface, name, slot), f"QtDBus subscribes to {name}", bus.lastError().message())

# --- the VMs, both ways ---------------------------------------------------------------------------------
listed = call(MANAGER, "org.vpc.Manager", "ListGuestOS")
listed_paths = sorted(p for _, _, p in listed.value) if listed.ok else None
ok, value = qcall("/org/vpc", OBJECT_MANAGER, "GetManagedObjects")
managed = value[0] if ok else {}
by_objects = sorted(p for p, ifaces in managed.items() if GUESTOS in ifaces)
check(ok and by_objects == listed_paths, "GetManagedObjects through QtDBus: ListGuestOS's VMs", (by_objects, listed_paths))
g1 = encode_path(VM)
props = managed.get(g1, {}).get(GUESTOS, {})
check(props.get("Name") == VM and props.get("State") == "running", "... g1 running, demarshalled by Qt", props)

interfaces, nodes = introspect("/org/vpc")
check(interfaces is not None and "org.vpc.Manager" in interfaces and OBJECT_MANAGER in interfaces,
      "/org/vpc: org.vpc.Manager and the ObjectManager", interfaces)
check(nodes == ["GuestOS", "Task"], "/org/vpc lists GuestOS and Task as child nodes", nodes)
walked = []
walk("/org/vpc", walked)
check(sorted(walked) == listed_paths, "walking Introspect's child nodes from /org/vpc finds every VM", (walked, listed_paths))
_, task_nodes_before = introspect("/org/vpc/Task")

# The agent may connect after the guest's boot was seen: PropertiesChanged brings it.
agent = props.get("AgentConnected") is True or run_until(
    lambda: any(p == g1 and c.get("AgentConnected") is True for p, _, c in w.changed), 60)
ok, value = qcall(g1, PROPERTIES, "Get", GUESTOS, "AgentConnected")
check(agent and ok and value == [True], "g1's agent is connected (PropertiesChanged, Properties.Get)", value)
ok, value = qcall(g1, GUESTOS, "ListUsers")
check(ok and sorted(u[0] for u in value[0]) == ["alice", "bob"], "ListUsers through QtDBus: alice and bob", value)
# The C++ proxy qdbusxml2cpp generates, demarshalling the real a(sst) into VpcUserList.
client = os.environ.get("VPC_QT_PROXY_CLIENT")
if client:
    r = subprocess.run([client, "--users", g1], capture_output=True, text=True, timeout=60)
    rows = sorted(line.split("\t") for line in r.stdout.splitlines())
    want = sorted([u, d, str(t)] for u, d, t in value[0]) if ok else None
    check(r.returncode == 0 and rows == want, "... and through the C++ proxy (VpcUserList)", (r.returncode, r.stderr, rows))
else:
    print("# tests/unit/test-qt-proxies is not built (qtbase5-dev): the C++ proxy's ListUsers is not run")

# --- Logoff, followed through the signals -----------------------------------------------------------------
reply = {}


def on_finished(watcher):
    msg = QDBusPendingReply(watcher).reply()
    if msg.type() == QDBusMessage.ErrorMessage:
        reply["error"] = f"{msg.errorName()}: {msg.errorMessage()}"
    else:
        reply["task"] = msg.arguments()[0]


t0 = time.monotonic()
guest = QDBusInterface(SERVICE, g1, GUESTOS, bus)
pending = QDBusPendingCallWatcher(guest.asyncCall("Logoff"))
pending.finished.connect(recorded(on_finished))
check(run_until(lambda: reply, 60), "Logoff is answered (asyncCall)", reply)
task = reply.get("task")
check(isinstance(task, str) and task.startswith("/org/vpc/Task/"), "... with a task", reply)
if not task:
    finish()
label = task.rsplit("/", 1)[1]
check(run_until(lambda: any(p == task and "org.vpc.Task" in i for p, i in w.added), 30),
      "the task comes as InterfacesAdded", [p for p, _ in w.added])
_, task_nodes = introspect("/org/vpc/Task")
check(label not in (task_nodes_before or []) and label in (task_nodes or []),
      f"/org/vpc/Task lists the task ({label}) among its child nodes", (task_nodes_before, task_nodes))
interfaces, _ = introspect(task)
check(interfaces is not None and "org.vpc.Task" in interfaces, "... and its node has org.vpc.Task", interfaces)


def task_changes():
    return [c for p, i, c in w.changed if p == task and i == "org.vpc.Task"]


check(run_until(lambda: any(c.get("IsComplete") is True for c in task_changes()) and w.completed, 90),
      f"PropertiesChanged brings IsComplete, and Completed comes ({time.monotonic() - t0:.1f} s)",
      (task_changes(), w.completed))
percents = [c["PercentCompleted"] for c in task_changes() if "PercentCompleted" in c]
print(f"# PercentCompleted through PropertiesChanged: {percents}; Progress: {[v for p, v in w.progress if p == task]}")
check(percents and percents[-1] == 100 and percents == sorted(percents), "PercentCompleted rises to 100", percents)
check([a for p, a in w.completed if p == task] == [[0, "", ""]], "Completed(0, \"\", \"\") once", w.completed)
ok, value = qcall(task, PROPERTIES, "GetAll", "org.vpc.Task")
check(ok and value[0].get("IsComplete") is True and value[0].get("ErrorCode") == 0 and value[0].get("Target") == g1,
      "the task's GetAll: complete, ErrorCode 0, target g1", value)
ok, value = qcall(g1, GUESTOS, "ListUsers")
check(ok and value[0] == [], "ListUsers is empty afterwards", value)
check(vpcguest.users(VM) == [], "... as the guest's own agent says")

# --- a domain defined and undefined while the client watches -----------------------------------------------
xml = os.path.join(os.environ["VPC_ENV_DIR"], "kde-vm.xml")
with open(xml, "w") as f:
    f.write("<domain type='qemu'><name>kde vm</name><memory unit='MiB'>64</memory>"
            "<os><type arch='x86_64'>hvm</type></os></domain>")
path = encode_path("kde vm")
subprocess.run(["virsh", "-q", "-c", URI, "define", xml], check=True, capture_output=True)
check(run_until(lambda: any(p == path and GUESTOS in i for p, i in w.added), 30),
      "a defined domain comes as InterfacesAdded", [p for p, _ in w.added])
added = [i[GUESTOS] for p, i in w.added if p == path and GUESTOS in i]
check(added and added[0].get("Name") == "kde vm" and added[0].get("State") == "shutoff",
      "... with its properties: kde vm, shut off", added)
_, nodes = introspect("/org/vpc/GuestOS")
check(path.rsplit("/", 1)[1] in (nodes or []), "... and among /org/vpc/GuestOS's child nodes", nodes)
subprocess.run(["virsh", "-q", "-c", URI, "undefine", "kde vm"], check=True, capture_output=True)
check(run_until(lambda: any(p == path and GUESTOS in i for p, i in w.removed), 30),
      "an undefined one comes as InterfacesRemoved", w.removed)
walked = []
walk("/org/vpc", walked)
check(sorted(walked) == listed_paths, "the walk finds the VMs of the start again", walked)
print(f"# the Qt client's part, from its start: {time.monotonic() - started:.1f} s")
finish()
