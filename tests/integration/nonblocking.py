#!/usr/bin/python3
"""The bus loop never waits on libvirt: with libvirtd frozen (SIGSTOP), Logoff calls that need
libvirt stay pending on the worker threads, while every call that does not (ListGuestOS, GetGuestOS,
GetAll, GetManagedObjects, Peer.Ping, and a denied Logoff, which polkit answers) is still answered;
once libvirtd runs again the pending Logoff calls get their answers. Real dbus-daemon, polkitd,
libvirtd."""

import os
import signal
import sys
import time
import json
import subprocess

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vpctest import *  # noqa: E402,F403


DENIED = os.environ["VPC_DENIED_USER"]
WEB = encode_path("web server 01")
libvirtd = int(open(os.path.join(os.environ["VPC_ENV_DIR"], "libvirtd.pid")).read())

# The daemon's libvirt connection is up and the objects are there before libvirtd freezes.
check(call(MANAGER, "org.vpc.Manager", "ListGuestOS").ok, "the daemon serves before the freeze")

os.kill(libvirtd, signal.SIGSTOP)
try:
    # Each pending Logoff is a process of its own with its own bus connection, so nothing on the
    # client side serializes the calls below behind them.
    req = json.dumps({"path": WEB, "interface": "org.vpc.GuestOS", "method": "Logoff", "timeout": 120})
    workers = [subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "vpc-call"), req],
                                stdout=subprocess.PIPE, text=True) for _ in range(3)]
    time.sleep(1.0)  # let them reach the daemon and its workers
    # The Logoff calls are on the workers, waiting for libvirtd; the loop goes on. Each call below
    # fails the test if it is not answered within 5 s (a blocked loop would never answer it).
    for i in range(5):
        r = call(MANAGER, "org.vpc.Manager", "ListGuestOS", timeout=5)
        check(r.ok and len(r.value) == 6, f"ListGuestOS answers with libvirtd frozen (#{i + 1})", r)
    r = call(MANAGER, "org.vpc.Manager", "GetGuestOS", "s", ("db.prod-2",), timeout=5)
    check(r.ok, "GetGuestOS answers with libvirtd frozen", r)
    r = call(WEB, "org.freedesktop.DBus.Properties", "GetAll", "s", ("org.vpc.GuestOS",), timeout=5)
    check(r.ok and r.value.get("State") == "running", "GetAll answers from memory with libvirtd frozen", r)
    r = call(MANAGER, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", timeout=5)
    check(r.ok and WEB in r.value, "GetManagedObjects answers with libvirtd frozen", r)
    r = call(MANAGER, "org.freedesktop.DBus.Peer", "Ping", timeout=5)
    check(r.ok, "Peer.Ping answers with libvirtd frozen", r)
    r = call(WEB, "org.vpc.GuestOS", "Logoff", user=DENIED, timeout=5)
    expect_error(r, "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
                 "a denied Logoff is answered by polkit alone with libvirtd frozen")
    check(all(w.poll() is None for w in workers), "the Logoff calls that need libvirt are still pending")
finally:
    os.kill(libvirtd, signal.SIGCONT)

pending = []
for w in workers:
    out, _ = w.communicate(timeout=130)
    d = json.loads(out)
    pending.append(CallResult(d.get("value"), d.get("error_name"), d.get("error_message")))
check(len(pending) == 3 and all(r.error_name == "org.vpc.Error.AdditionsFeatureNotAvailable" for r in pending),
      "once libvirtd runs again every pending Logoff is answered (the test driver has no agent)", pending)
check(call(MANAGER, "org.vpc.Manager", "ListGuestOS").ok, "the daemon still serves")

finish()
