#!/usr/bin/python3
"""libvirtd restarted under the real daemon (qemu:///system of the private libvirtd, whose domain
definitions persist in /etc/libvirt/qemu): stopped cleanly and SIGKILLed, with domains defined and
undefined while it is down (config files added and removed) and while it is up. The daemon must keep
serving while libvirtd is gone, reconnect, and resync to exactly libvirt's domains: no duplicate
object, no stale one, no InterfacesAdded for a domain it already had."""

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultenv import *  # noqa: E402,F403

URI = os.environ["VPC_LIBVIRT_URI"]
QEMU_DIR = "/etc/libvirt/qemu"
RECONNECT = 45 * SLOW   # the daemon's reconnect backoff grows to 30 s; libvirtd is down a few seconds


def xml(name, n):
    return (f"<domain type='qemu'><name>{name}</name><uuid>22222222-3333-4444-5555-{n:012d}</uuid>"
            "<memory unit='MiB'>64</memory><os><type arch='x86_64' machine='pc'>hvm</type></os>"
            "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>")


def virsh(*args):
    r = subprocess.run(["virsh", "-q", "-c", URI, *args], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"# virsh {' '.join(args)} failed: {r.stderr.strip()}")
    return r.returncode == 0


def define(name, n):
    path = os.path.join(ENV_DIR, f"{name}.xml")
    with open(path, "w") as f:
        f.write(xml(name, n))
    return virsh("define", path)


def listed():
    r = call(MANAGER, "org.vpc.Manager", "ListGuestOS")
    return sorted(n for n, _, _ in r.value) if r.ok else None


def objects():
    return sorted(p for p, i in managed_objects().items() if "org.vpc.GuestOS" in i)


def exactly(names):
    """The daemon shows exactly these domains, once each, in ListGuestOS and the ObjectManager."""
    want = sorted(names)
    return listed() == want and objects() == sorted(encode_path(n) for n in names)


def lost_count():
    return daemon_log().count(f"lost the connection to {URI}")


def connected_count():
    return daemon_log().count(f"connected to {URI}")


check(daemon_running(), f"the daemon runs on {URI}")
for i, name in enumerate(["fa", "fb", "fc"]):
    check(define(name, i + 1), f"domain {name} defined")
check(wait_until(lambda: exactly(["fa", "fb", "fc"]), 10 * SLOW), "the daemon shows fa, fb, fc", listed())

# --- libvirtd stopped; domains change on disk; libvirtd started -------------------------------------
rec = SignalRecorder()
mark = rec.mark()
connected = connected_count()
ok, _ = envctl("libvirtd-stop")
check(ok, "libvirtd stopped (SIGTERM)")
check(wait_until(lambda: lost_count() >= 1, 20 * SLOW), "the daemon notices the lost connection (logged)")
check(daemon_running(), "the daemon keeps running without libvirtd")
check(exactly(["fa", "fb", "fc"]), "its objects stay as last known while libvirtd is away", listed())
r, t = timed(call, encode_path("fa"), "org.vpc.GuestOS", "Logoff")
# fa is shut off as last known, but without libvirt that is only a memory: the daemon asks libvirt,
# which is not there, and says so (Exception), rather than VmNotRunning from a stale state.
expect_error(r, "org.vpc.Error.Exception", "Logoff without libvirtd")
check(t < 2.0 * SLOW, f"... at once ({t:.2f} s)", r.error_message)
os.unlink(os.path.join(QEMU_DIR, "fb.xml"))                    # undefined while libvirtd is down
with open(os.path.join(QEMU_DIR, "fd.xml"), "w") as f:         # defined while libvirtd is down
    f.write(xml("fd", 4))
ok, _ = envctl("libvirtd-start")
check(ok, "libvirtd started again")
check(wait_until(lambda: connected_count() > connected, RECONNECT), "the daemon reconnects (logged)")
check(wait_until(lambda: exactly(["fa", "fc", "fd"]), 10 * SLOW),
      "after the resync: fa, fc, fd, each once (fb gone, fd new)", listed())
rec.pump(0.5)
added = [e[3][0] for e in rec.events[mark:] if e[2] == "InterfacesAdded"]
removed = [e[3][0] for e in rec.events[mark:] if e[2] == "InterfacesRemoved"]
check(added == [encode_path("fd")], "InterfacesAdded only for fd, none for domains it had", added)
check(removed == [encode_path("fb")], "InterfacesRemoved for fb", removed)

# --- changes while libvirtd is up again reach the daemon (events on the new connection) -------------
check(define("fe", 5), "domain fe defined after the restart")
check(virsh("undefine", "fa"), "domain fa undefined after the restart")
check(wait_until(lambda: exactly(["fc", "fd", "fe"]), 10 * SLOW), "the daemon follows: fc, fd, fe", listed())

# --- libvirtd SIGKILLed ------------------------------------------------------------------------------
lost, connected = lost_count(), connected_count()
check(signal_pid(pid_of("libvirtd"), signal.SIGKILL), "libvirtd killed with SIGKILL")
check(wait_until(lambda: lost_count() > lost, 30 * SLOW), "the daemon notices libvirtd's death (logged)")
check(daemon_running(), "the daemon keeps running")
os.unlink(os.path.join(QEMU_DIR, "fc.xml"))
ok, _ = envctl("libvirtd-start")
check(ok, "libvirtd started again")
check(wait_until(lambda: connected_count() > connected, RECONNECT), "the daemon reconnects")
check(wait_until(lambda: exactly(["fd", "fe"]), 10 * SLOW), "after the resync: fd, fe, each once", listed())
r = call(MANAGER, "org.vpc.Manager", "GetGuestOS", "s", ("fc",))
expect_error(r, "org.vpc.Error.VmUnknown", "the domain removed while libvirtd was dead is unknown")
r = call(encode_path("fd"), "org.vpc.GuestOS", "Logoff")
expect_error(r, "org.vpc.Error.VmNotRunning", "Logoff on a reconnected, shut-off domain says VmNotRunning")

ok, status = envctl("daemon-stop")
check(ok and status == "0", "the daemon exits with 0 on SIGTERM (under ASan/valgrind: no leak)", status)
finish()
