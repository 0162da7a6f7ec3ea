#!/usr/bin/python3
"""End to end, on one real guest (g1: alice and bob logged in through session-leader): Logoff as
root and as an authorized unprivileged user ends every session (Progress signals, Completed(0, "",
...), guest-get-users empty, utmp empty, no process of the users left); Logoff again completes with
NoSuchLogonSession; an unprivileged user outside the rules' group is denied and the users stay;
two Logoff calls at once share one task; LogoffWithOptions' message reaches a utmp session's
terminal (a virtual console, read back from /dev/vcs2) as text, and the logoff follows. Lock on this
guest (no systemd-logind): the task ends with AdditionsFeatureNotAvailable saying why, and nobody is
logged off."""

import os
import pwd
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import *  # noqa: E402,F403

VM = "g1"
USERS = ["alice", "bob"]


def logoff_ends_sessions(user, what):
    rec = SignalRecorder()
    t0 = time.monotonic()
    r = logoff(VM, user=user)
    check(r.ok and str(r.value).startswith("/org/vpc/Task/"), f"{what}: Logoff returns a task", r)
    if not r.ok:
        return None
    task = r.value
    c = completed(rec, task, 60)
    elapsed = time.monotonic() - t0
    print(f"# {what}: Logoff took {elapsed:.2f} s from the call to Completed")
    check(c == [0, "", ""], f"{what}: the task ends with Completed(0, \"\", \"\")", c)
    progress = progress_values(rec, task)
    check(len(progress) >= 1 and progress[-1] == 100 and progress == sorted(progress),
          f"{what}: Progress signals rise to 100", progress)
    props = task_props(task)
    check(props.get("IsComplete") is True and props.get("ErrorCode") == 0 and props.get("PercentCompleted") == 100
          and props.get("Owner") == (0 if user is None else pwd.getpwnam(user).pw_uid),
          f"{what}: the task's properties say done, 0, 100 %, owned by the caller", props)
    check_gone(VM, USERS, what)
    return task


# --- Lock without logind: AdditionsFeatureNotAvailable with its reason, nobody logged off ----------
check(wait_users(VM, USERS) == USERS, "the guest starts with alice and bob logged on")
rec = SignalRecorder()
t0 = time.monotonic()
r = call(encode_path(VM), "org.vpc.GuestOS", "Lock")
check(r.ok and str(r.value).startswith("/org/vpc/Task/"), "Lock returns a task", r)
if r.ok:
    c = completed(rec, r.value, 60)
    print(f"# Lock took {time.monotonic() - t0:.2f} s from the call to Completed")
    check(c is not None and c[0] == 0xA0040505 and c[1] == "org.vpc.Error.AdditionsFeatureNotAvailable"
          and c[2].startswith("0xA0040505: ") and "no systemd-logind" in c[2] and "stay logged on" in c[2],
          "Lock on a guest without logind ends with AdditionsFeatureNotAvailable, saying why", c)
    check(task_props(r.value).get("Description") == "Lock", "its Description is Lock", task_props(r.value))
check(vpcguest.users(VM) == USERS, "after the Lock alice and bob are still logged on", vpcguest.users(VM))

# --- 8. a user outside the rules' group: denied, and nothing happens in the guest -----------------
expect_error(logoff(VM, user=DENIED, interactive=True), "org.freedesktop.DBus.Error.AccessDenied",
             "unprivileged user outside group libvirt")
expect_error(logoff(VM, user=DENIED), "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
             "the same user without interactive authorization")
time.sleep(1)
check(vpcguest.users(VM) == USERS, "after the denials alice and bob are still logged on", vpcguest.users(VM))
check(len(vpcguest.processes_of(VM, {UIDS[u] for u in USERS})) == 6,
      "after the denials their 6 processes still run", vpcguest.processes_of(VM, {UIDS[u] for u in USERS}))

# --- 1. as root --------------------------------------------------------------------------------------
logoff_ends_sessions(None, "root")

# --- 2. again, with nobody left ---------------------------------------------------------------------
rec = SignalRecorder()
r = logoff(VM)
check(r.ok, "Logoff with no user logged on still returns a task", r)
if r.ok:
    c = completed(rec, r.value, 30)
    check(c is not None and c[0] == 0x80070520 and c[1] == "org.vpc.Error.NoSuchLogonSession"
          and c[2].startswith("0x80070520: "), "that task completes with NoSuchLogonSession 0x80070520", c)
    props = task_props(r.value)
    check(props.get("ErrorCode") == 0x80070520 and props.get("ErrorName") == "org.vpc.Error.NoSuchLogonSession",
          "its ErrorCode and ErrorName properties say so", props)

# --- 1. as the authorized unprivileged user (group libvirt, 50-org.vpc.rules) ----------------------
login(VM, "alice", "pts/4")
login(VM, "bob", "pts/5")
check(wait_users(VM, USERS) == USERS, "alice and bob logged on again")
logoff_ends_sessions(ALLOWED, "group libvirt member")

# --- 7. two Logoff calls at once: one task -----------------------------------------------------------
login(VM, "alice", "pts/6")
login(VM, "bob", "pts/7")
check(wait_users(VM, USERS) == USERS, "alice and bob logged on once more")
rec = SignalRecorder()
first = in_thread(logoff, VM, private=True)
second = in_thread(logoff, VM, user=ALLOWED)
r1, r2 = first(60), second(60)
check(r1 is not None and r2 is not None and r1.ok and r2.ok and r1.value == r2.value,
      "two concurrent Logoff calls (root, group member) get the same task path", (r1, r2))
if r1 is not None and r1.ok:
    c = completed(rec, r1.value, 60)
    check(c == [0, "", ""], "the shared task completes with 0", c)
    check(len(rec.of("Completed", r1.value)) == 1, "Completed comes once", rec.of("Completed", r1.value))
    check_gone(VM, USERS, "shared task")

# --- LogoffWithOptions on busybox: the message reaches a utmp session's terminal --------------------
# The terminal is a virtual console (tty2): what is written to it can be read back from /dev/vcs2.
login(VM, "alice", "tty2")
check(wait_users(VM, ["alice"]) == ["alice"], "alice logged on on tty2 (utmp only, no logind)")
rec = SignalRecorder()
r = call(encode_path(VM), "org.vpc.GuestOS", "LogoffWithOptions", "a{sv}",
         ({"Message": dbus.String("Busybox says $(touch /tmp/pwned) bye"), "GraceSec": dbus.UInt32(1)},))
check(r.ok, "LogoffWithOptions on the busybox guest returns a task", r)
if r.ok:
    c = completed(rec, r.value, 60)
    check(c == [0, "", ""], "it completes with 0", c)
    screen = " ".join(vpcguest.sh(VM, "cat /dev/vcs2 2>&1; true").split())
    check("Busybox says $(touch /tmp/pwned) bye" in screen and "logged off in 1 seconds" in screen,
          "the message is on alice's terminal (tty2), as text", screen[-400:])
    check(vpcguest.sh(VM, "ls /tmp/pwned 2>/dev/null; true").strip() == "", "nothing of it ran (no /tmp/pwned)")
    check_gone(VM, ["alice"], "LogoffWithOptions on busybox")

finish()
