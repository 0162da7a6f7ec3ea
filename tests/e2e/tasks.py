#!/usr/bin/python3
"""The org.vpc.Task object on a real guest whose stubborn user keeps a Logoff running: properties and
ObjectManager signals, WaitForCompletion as a deferred reply (0 and a short timeout, 1,000 parked
waiters from 20 connections, a waiter that disconnects, timeout < -1), Cancel (another user is
denied by polkit, the owner and root may, twice is harmless), the Completed signal, and the
--task-retention and --max-tasks bounds. Real daemon, dbus-daemon, polkitd, libvirtd, QEMU guest
with qemu-ga. The daemon runs with --task-retention 6 --max-tasks 2 --logoff-timeout 300."""

import os
import signal
import subprocess
import sys
import time

import dbus

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vpctest import *  # noqa: E402,F403
import vpcguest  # noqa: E402

ALLOWED = os.environ["VPC_ALLOWED_USER"]
DENIED = os.environ["VPC_DENIED_USER"]
OTHER = os.environ["VPC_OTHER_USER"]
GUEST = "t1"
GUEST_PATH = encode_path(GUEST)
TASK = "org.vpc.Task"
CANCELLED = 0x800704C7
RETENTION = 6


def logoff(user=None):
    return call(GUEST_PATH, "org.vpc.GuestOS", "Logoff", user=user)


def props(path):
    r = call(path, "org.freedesktop.DBus.Properties", "GetAll", "s", (TASK,))
    return r.value if r.ok else None


def uid_of(user):
    import pwd
    return pwd.getpwnam(user).pw_uid


rec = SignalRecorder()

# --- a running task and its properties -----------------------------------------------------------
# carol ignores SIGHUP and SIGTERM, so the task keeps polling until it is cancelled.
mark = rec.mark()
r = logoff(user=ALLOWED)
check(r.ok and r.value.startswith("/org/vpc/Task/"), "Logoff as the allowed user returns a task path", r)
task = r.value if r.ok else "/org/vpc/Task/0"
p = props(task) or {}
check(p.get("Description") == "Logoff" and p.get("Target") == GUEST_PATH, "Description and Target", p)
check(p.get("Owner") == uid_of(ALLOWED), "Owner is the caller's uid", p.get("Owner"))
check(p.get("IsComplete") is False and p.get("ErrorCode") == 0 and p.get("ErrorName") == ""
      and p.get("FinishedUSec") == 0, "running: not complete, no error, not finished", p)
now_us = time.time() * 1e6
check(0 < p.get("StartedUSec", 0) <= now_us and now_us - p.get("StartedUSec", 0) < 600e6,
      "StartedUSec is a CLOCK_REALTIME time of this run", p.get("StartedUSec"))
added = rec.wait_for(lambda e: e[2] == "InterfacesAdded" and e[3][0] == task, since=mark)
check(added is not None and TASK in added[3][1], "InterfacesAdded announces the task", rec.events[mark:])
check(task in managed_objects(), "GetManagedObjects lists the running task")
ok = wait_until(lambda: vpcguest.users(GUEST) == ["carol"], 60, 0.5)
check(ok, "the ordinary user is gone, the stubborn one stays", vpcguest.users(GUEST))
check(props(task).get("IsComplete") is False, "the task still runs while carol is logged on")

# --- WaitForCompletion: polls and short timeouts ------------------------------------------------------
r = call(task, TASK, "WaitForCompletion", "i", (0,))
check(r.ok and r.value is False, "WaitForCompletion(0) polls: false", r)
t0 = time.monotonic()
r = call(task, TASK, "WaitForCompletion", "i", (300,), user=DENIED)
check(r.ok and r.value is False and time.monotonic() - t0 >= 0.3,
      "WaitForCompletion(300) as another user answers false once the timeout passed", r)
r = call(task, TASK, "WaitForCompletion", "i", (-2,))
expect_error(r, "org.freedesktop.DBus.Error.InvalidArgs", "WaitForCompletion(-2)")

# --- 1,000 parked waiters from 20 connections, and one that disconnects -------------------------------
address = os.environ["DBUS_SYSTEM_BUS_ADDRESS"]
replies, errors = [], []
conns = [dbus.bus.BusConnection(address) for _ in range(20)]
for c in conns:
    for _ in range(50):
        c.call_async("org.vpc", task, TASK, "WaitForCompletion", "i", (-1,),
                     reply_handler=lambda v: replies.append(bool(v)),
                     error_handler=lambda e: errors.append(e.get_dbus_name()), timeout=600)
quitter = subprocess.Popen(["setpriv", f"--reuid={OTHER}", f"--regid={OTHER}", "--init-groups", "--",
                            "/usr/bin/python3", os.path.join(HERE, "vpc-call"),
                            '{"path": "%s", "interface": "%s", "method": "WaitForCompletion", '
                            '"signature": "i", "args": [-1], "timeout": 600}' % (task, TASK)],
                           env={"DBUS_SYSTEM_BUS_ADDRESS": address, "PATH": "/usr/bin:/bin", "HOME": "/"},
                           stdout=subprocess.DEVNULL)
rec.pump(2.0)
check(not replies and not errors, "1,000 waiters stay parked while the task runs", (len(replies), errors[:3]))
quitter.send_signal(signal.SIGKILL)
quitter.wait()
r = call(MANAGER, "org.vpc.Manager", "ListGuestOS")
check(r.ok and any(n == GUEST for n, _, _ in r.value), "the daemon serves calls with 1,000 waiters parked", r)

# --- Cancel: others are denied by polkit, the owner may -------------------------------------------------
r = call(task, TASK, "Cancel", user=OTHER)
expect_error(r, "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
             "Cancel of another user's task, no interaction allowed")
r = call(task, TASK, "Cancel", user=DENIED, interactive=True)
expect_error(r, "org.freedesktop.DBus.Error.AccessDenied",
             "Cancel of another user's task, interaction allowed, no polkit agent")
check(props(task).get("IsComplete") is False, "a denied Cancel leaves the task running")

mark = rec.mark()
r = call(task, TASK, "Cancel", user=ALLOWED)
check(r.ok, "the owner cancels its task", r)
done = rec.wait_for(lambda e: e[0] == task and e[2] == "Completed", since=mark)
check(done is not None and done[3][0] == CANCELLED and done[3][1] == "org.vpc.Error.Cancelled"
      and done[3][2].startswith("0x800704C7: "), "Completed(0x800704C7, org.vpc.Error.Cancelled, ...)", done)
check(len(rec.of("Completed", task)) == 1, "Completed is sent once")
changed = [e for e in rec.events[mark:] if e[0] == task and e[2] == "PropertiesChanged"]
check(any(e[3][1].get("IsComplete") is True for e in changed), "PropertiesChanged says IsComplete", changed)
end = time.monotonic() + 20
while len(replies) + len(errors) < 1000 and time.monotonic() < end:
    rec.pump(0.1)
check(len(replies) == 1000 and all(replies) and not errors, "every parked waiter is answered true",
      (len(replies), sum(replies), errors[:3]))
p = props(task) or {}
check(p.get("IsComplete") is True and p.get("ErrorCode") == CANCELLED
      and p.get("ErrorName") == "org.vpc.Error.Cancelled" and p.get("ErrorMessage", "").startswith("0x800704C7")
      and p.get("FinishedUSec", 0) >= p.get("StartedUSec", 1), "the finished task's properties", p)
r = call(task, TASK, "WaitForCompletion", "i", (-1,))
check(r.ok and r.value is True, "WaitForCompletion(-1) on a finished task answers true at once", r)
check(call(task, TASK, "Cancel", user=ALLOWED).ok, "cancelling a finished task succeeds")
check(props(task).get("ErrorCode") == CANCELLED, "and changes nothing")
for c in conns:
    c.close()

# --- root may cancel anyone's task; the next Logoff is a new task ---------------------------------------
r = logoff(user=ALLOWED)
task2 = r.value if r.ok else None
check(r.ok and task2 != task, "a Logoff after the end of the last one is a new task", r)
check(call(task2, TASK, "Cancel").ok, "root cancels another user's task")
check(wait_until(lambda: (props(task2) or {}).get("ErrorCode") == CANCELLED), "it ends Cancelled")

# --- bounds: --max-tasks 2 drops the oldest finished task, --task-retention the rest ---------------------
mark = rec.mark()
r = logoff()
task3 = r.value if r.ok else None
check(r.ok and call(task3, TASK, "Cancel").ok, "a third task, cancelled by its owner (root)", r)
gone = rec.wait_for(lambda e: e[2] == "InterfacesRemoved" and e[3][0] == task, since=mark)
check(gone is not None, "with 3 finished tasks and --max-tasks 2 the oldest goes (InterfacesRemoved)")
objs = managed_objects()
check(task not in objs and task2 in objs and task3 in objs, "the two newest finished tasks stay",
      sorted(p for p in objs if p.startswith("/org/vpc/Task")))
r = call(task, TASK, "WaitForCompletion", "i", (0,))
check(not r.ok and r.error_name == "org.freedesktop.DBus.Error.UnknownObject", "a dropped task is gone", r)

check(rec.wait_for(lambda e: e[2] == "InterfacesRemoved" and e[3][0] == task3, timeout=RETENTION + 10,
                   since=mark) is not None, f"after --task-retention {RETENTION} s a finished task goes")
check(not any(p.startswith("/org/vpc/Task/") for p in managed_objects()), "no finished task is left")

# A running task is never dropped, however long it runs past the retention time.
r = logoff()
task4 = r.value if r.ok else None
rec.pump(RETENTION + 2)
check(task4 in managed_objects() and props(task4).get("IsComplete") is False,
      "a running task outlives the retention time")
check(call(task4, TASK, "Cancel").ok, "cancelled at the end")

finish()
