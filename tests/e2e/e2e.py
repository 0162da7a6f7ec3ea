"""Shared steps of the end-to-end tests (tests/e2e/*.py): Logoff through the real daemon and wait for
its task's signals, and look inside the real guest (through its own qemu-ga via libvirt, see
tests/lib/vpcguest.py) to see whether the users and their processes are really gone."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from vpctest import *  # noqa: E402,F403
import vpcguest  # noqa: E402

ALLOWED = os.environ["VPC_ALLOWED_USER"]
DENIED = os.environ["VPC_DENIED_USER"]
# The guest's users (tests/guest/rootfs/passwd).
UIDS = {"alice": 1001, "bob": 1002, "carol": 1003, "dave": 1004}
TASK = "org.vpc.Task"


def logoff(vm, user=None, interactive=False, timeout=60, private=False):
    """Logoff on the VM named vm. private=True calls on a connection of its own: libdbus serializes
    blocking calls from several threads on one shared connection, which would make a call look as
    if it waited for another one in the daemon."""
    if private and user is None:
        return call_here(encode_path(vm), "org.vpc.GuestOS", "Logoff", interactive=interactive,
                         timeout=timeout, conn=dbus.SystemBus(private=True))
    return call(encode_path(vm), "org.vpc.GuestOS", "Logoff", user=user, interactive=interactive,
                timeout=timeout)


def timed_logoff(vm, user=None, private=False):
    """(CallResult, seconds the call took)."""
    t0 = time.monotonic()
    r = logoff(vm, user=user, private=private)
    return r, time.monotonic() - t0


def completed(rec, task, timeout):
    """The task's Completed signal's arguments [code, name, message], or None."""
    e = rec.wait_for(lambda e: e[0] == task and e[2] == "Completed", timeout=timeout)
    return e[3] if e else None


def progress_values(rec, task):
    return [e[3][0] for e in rec.of("Progress", task)]


def task_props(task):
    r = call(task, "org.freedesktop.DBus.Properties", "GetAll", "s", (TASK,))
    return r.value if r.ok else {}


def login(vm, user, tty, stubborn=False):
    """Logs `user` in again inside the guest (tests/guest/rootfs/vpc-login, a real session leader)."""
    argv = ["/etc/vpc-login", user, tty] + (["stubborn"] if stubborn else [])
    rc, _, err = vpcguest.guest_exec(vm, argv)
    if rc != 0:
        raise RuntimeError(f"vpc-login {user} in {vm}: {err}")


def wait_users(vm, users, timeout=15):
    """Waits until guest-get-users lists exactly `users`; returns the last list seen."""
    got = None
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            got = vpcguest.users(vm)
        except RuntimeError as e:
            got = str(e)
        if got == sorted(users):
            break
        time.sleep(0.2)
    return got


def check_gone(vm, users, what):
    """guest-get-users, the guest's utmp (busybox who) and its process table agree: `users` are gone,
    with no process left (not even a zombie)."""
    remaining = vpcguest.users(vm)
    check(not set(users) & set(remaining), f"{what}: guest-get-users no longer lists {users}", remaining)
    who = vpcguest.utmp_users(vm)
    check(not set(users) & {u for u, _ in who}, f"{what}: the guest's utmp has no session of {users}", who)
    # Killed processes whose shell died first are orphans: PID 1 (busybox init) reaps them, but only
    # on its next pass (it sleeps up to a second between passes), so allow it some seconds (one
    # look at the process table takes seconds itself on a loaded TCG guest).
    end = time.monotonic() + 20
    while True:
        procs = vpcguest.processes_of(vm, {UIDS[u] for u in users})
        if procs == [] or time.monotonic() > end:
            break
        time.sleep(0.3)
    check(procs == [], f"{what}: no process of {users} is left in the guest, not even a zombie", procs)


def in_thread(fn, *args, **kw):
    """Runs fn in a thread; returns a function that joins it and gives fn's result."""
    box = {}

    def run():
        box["v"] = fn(*args, **kw)

    t = threading.Thread(target=run)
    t.start()

    def join(timeout=None):
        t.join(timeout)
        return box.get("v")
    return join
