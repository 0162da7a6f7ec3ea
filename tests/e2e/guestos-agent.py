#!/usr/bin/python3
"""End to end, on one real guest (g1: alice and bob logged in), what a GUI reads of a GuestOS:
AgentConnected is true once the guest booted (read when the daemon connected); OSName is what the
guest's own qemu-ga says (guest-get-osinfo's pretty-name); ListUsers() lists exactly the users and login
times guest-get-users gives, for root and for a member of group libvirt, and is denied with 0x80070005
to anyone else (and vpcctl status/users show the same); qemu-ga going away and coming back turns
AgentConnected false and true again through PropertiesChanged (libvirt's agent-lifecycle events); the
domain destroyed turns it false and OSName empty, ListUsers says VmNotRunning; started again, the
agent's connection is seen and OSName read again, ListUsers agrees with guest-get-users; last, qemu-ga
stopped while libvirtd is down is seen by the read at the reconnection. Every wait is for a signal or a
state, with generous bounds."""

import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import *  # noqa: E402,F403

VM = "g1"
P = encode_path(VM)
GUESTOS = "org.vpc.GuestOS"
URI = os.environ.get("VPC_GUEST_URI", "qemu:///system")


def prop(name):
    return get_property(P, GUESTOS, name)


def list_users(user=None):
    return call(P, GUESTOS, "ListUsers", user=user)


def changed(rec, name, value, since, timeout):
    """The first PropertiesChanged of GuestOS on P after `since` that sets name to value."""
    return rec.wait_for(lambda e: e[0] == P and e[2] == "PropertiesChanged" and e[3][0] == GUESTOS
                        and name in e[3][1] and e[3][1][name] == value, timeout=timeout, since=since)


# --- after boot --------------------------------------------------------------------------------------
check(wait_until(lambda: prop("AgentConnected") is True, 60), "AgentConnected is true once the guest booted",
      prop("AgentConnected"))
osinfo = vpcguest.agent(VM, "guest-get-osinfo")
expected_os = osinfo.get("pretty-name") or osinfo.get("name")
print(f"# guest-get-osinfo: {osinfo}")
check(wait_until(lambda: prop("OSName") == expected_os, 30), "OSName is the guest's pretty-name", prop("OSName"))
check(expected_os == "vpc-guestosd test guest (Debian kernel, busybox, qemu-ga)",
      "... which is the PRETTY_NAME of the guest's /etc/os-release", expected_os)
r = call(MANAGER, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")
check(r.ok and r.value[P][GUESTOS].get("AgentConnected") is True and r.value[P][GUESTOS].get("OSName") == expected_os,
      "GetManagedObjects carries both", r.value.get(P) if r.ok else r)

# --- ListUsers ---------------------------------------------------------------------------------------
agent_users = vpcguest.agent(VM, "guest-get-users")
expected = sorted([u["user"], u.get("domain", ""), int(u["login-time"] * 1000000)] for u in agent_users)
r = list_users()
check(r.ok, "ListUsers as root is answered", r)
got = sorted(r.value) if r.ok else None
check(got is not None and [u[:2] for u in got] == [["alice", ""], ["bob", ""]],
      "ListUsers lists alice and bob, without a domain", got)
check(got is not None and len(got) == len(expected) and all(abs(g[2] - e[2]) <= 1 for g, e in zip(got, expected)),
      "... with guest-get-users' login times in microseconds", (got, expected))
now = time.time() * 1e6
check(got is not None and all(0 < g[2] <= now + 60e6 for g in got), "... which are in the past", got)
r = list_users(user=ALLOWED)
check(r.ok and sorted(u[0] for u in r.value) == ["alice", "bob"], "a member of group libvirt may list them", r)
expect_error(list_users(user=DENIED), "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
             "anyone else is denied")

# Calls at once (each on a connection of its own) share one agent query; each gets the whole answer.
box = []
joins = [in_thread(lambda: box.append(call_here(P, GUESTOS, "ListUsers", conn=dbus.SystemBus(private=True))))
         for _ in range(8)]
for j in joins:
    j(60)
check(len(box) == 8 and all(r.ok and sorted(r.value) == got for r in box),
      "8 ListUsers at once each get alice and bob", box)

# --- vpcctl shows the same --------------------------------------------------------------------------
VPCCTL = os.environ["VPCCTL"]


def vpcctl(*args, user=None):
    cmd = [VPCCTL, *args]
    if user:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--"] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                          env={"DBUS_SYSTEM_BUS_ADDRESS": os.environ["DBUS_SYSTEM_BUS_ADDRESS"],
                               "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TZ": "UTC"})


v = vpcctl("status", VM)
print("# vpcctl status:\n" + v.stdout)
check(v.returncode == 0 and "     Agent: connected\n" in v.stdout and f"        OS: {expected_os}\n" in v.stdout
      and any(f"     Users: {a} since 20" in v.stdout and f"            {b} since 20" in v.stdout
              for a, b in (("alice", "bob"), ("bob", "alice"))),
      "vpcctl status: agent connected, the OS, alice and bob with their login times", v.stdout)
v = vpcctl("--no-ask-password", "status", VM, user=DENIED)
check(v.returncode == 0 and "     Users: unknown (0x80070005" in v.stdout and "        OS: " + expected_os in v.stdout,
      "vpcctl status as a denied user: the OS, and why the users are not shown", (v.returncode, v.stdout))
v = vpcctl("users", VM, user=ALLOWED)
print("# vpcctl users:\n" + v.stdout)
lines = v.stdout.splitlines()
check(v.returncode == 0 and lines[0].split() == ["USER", "LOGIN"] and sorted(l.split()[0] for l in lines[1:3]) == ["alice", "bob"]
      and "2 users logged on." in v.stdout, "vpcctl users: a table of alice and bob", v.stdout)
v = vpcctl("--json", "users", VM)
check(v.returncode == 0 and sorted([u["user"], u["domain"], u["login_usec"]] for u in json.loads(v.stdout)) == got,
      "vpcctl --json users is ListUsers", v.stdout)
v = vpcctl("-q", "users", VM)
check(v.returncode == 0 and sorted(v.stdout.splitlines()) == ["alice", "bob"], "vpcctl -q users: the names", v.stdout)
v = vpcctl("--no-ask-password", "users", VM, user=DENIED)
check(v.returncode == 10 and "0x80070005" in v.stderr, "vpcctl users as a denied user: exit 10, 0x80070005",
      (v.returncode, v.stderr))

# --- qemu-ga goes away and comes back (init respawns it) --------------------------------------------
rec = SignalRecorder()
mark = rec.mark()
t0 = time.monotonic()
vpcguest.sh(VM, "(sleep 1; kill $(pidof qemu-ga)) </dev/null >/dev/null 2>&1 &")
down = changed(rec, "AgentConnected", False, mark, 30)
check(down is not None, f"qemu-ga killed: PropertiesChanged AgentConnected false ({time.monotonic() - t0:.1f} s)")
up = changed(rec, "AgentConnected", True, mark, 60)
check(up is not None, f"qemu-ga respawned: PropertiesChanged AgentConnected true ({time.monotonic() - t0:.1f} s)")
check(prop("OSName") == expected_os, "OSName stays across the agent's restart", prop("OSName"))
r = list_users()
check(r.ok and sorted(u[0] for u in r.value) == ["alice", "bob"], "ListUsers works again", r)

# --- the domain stops and starts -------------------------------------------------------------------------
mark = rec.mark()
subprocess.run(["virsh", "-q", "-c", URI, "destroy", VM], check=True, capture_output=True)
down = changed(rec, "AgentConnected", False, mark, 30)
check(down is not None and down[3][1].get("OSName") == "",
      "destroyed: PropertiesChanged AgentConnected false, OSName \"\"", down)
check(prop("AgentConnected") is False and prop("OSName") == "", "... and the properties read so")
expect_error(list_users(), "org.vpc.Error.VmNotRunning", "ListUsers on the stopped domain")
expect_error(list_users(user=ALLOWED), "org.vpc.Error.VmNotRunning", "... as a member of group libvirt too")
expect_error(list_users(user=DENIED), "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
             "... while anyone else is still denied first")

mark = rec.mark()
t0 = time.monotonic()
subprocess.run(["virsh", "-q", "-c", URI, "start", VM], check=True, capture_output=True)
up = changed(rec, "AgentConnected", True, mark, 240)
check(up is not None, f"started again: PropertiesChanged AgentConnected true when qemu-ga is up "
      f"({time.monotonic() - t0:.1f} s)")
os_again = changed(rec, "OSName", expected_os, mark, 60)
check(os_again is not None, "... and OSName is read again", prop("OSName"))


def same_users():
    r = list_users()
    return r.ok and sorted({u[0] for u in r.value}) == vpcguest.users(VM)


check(wait_until(same_users, 30, 0.5), "after the new boot ListUsers and guest-get-users agree", list_users())

# --- qemu-ga goes away while libvirtd is down: the reconnection reads it ----------------------------------
# libvirt replays no agent event: what changed while the daemon was not connected is seen only by the
# read at the (re)connection. qemu-ga is stopped for good (init does not respawn it) a few seconds
# after libvirtd has gone; the guest's QEMU keeps running meanwhile.
ENVCTL = os.path.join(os.environ["VPC_SOURCE_ROOT"], "tests", "lib", "envctl")


def envctl(*args):
    # Files, not pipes: the libvirtd that envctl starts keeps its output open, a pipe would never end.
    with tempfile.TemporaryFile() as out:
        return subprocess.run([ENVCTL, *args], stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                              timeout=120).returncode == 0


vpcguest.sh(VM, "(sleep 4; touch /run/qemu-ga.disabled; kill $(pidof qemu-ga)) </dev/null >/dev/null 2>&1 &")
mark = rec.mark()
check(envctl("libvirtd-stop"), "libvirtd stopped")
time.sleep(8)   # the guest's own timer: qemu-ga ends while nobody listens
check(envctl("libvirtd-start"), "libvirtd started again")
down = changed(rec, "AgentConnected", False, mark, 60)
check(down is not None, "after the reconnection AgentConnected turns false: read, not told by an event")
check(prop("OSName") == expected_os, "OSName stays (the OS did not change)", prop("OSName"))
expect_error(list_users(), "org.vpc.Error.AdditionsFeatureNotAvailable", "ListUsers without the agent")
finish()
