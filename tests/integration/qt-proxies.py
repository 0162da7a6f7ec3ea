#!/usr/bin/python3
"""A C++ Qt client of the daemon: the proxies qdbusxml2cpp generates from introspection/*.xml, with
introspection/vpc-qt-types.h (tests/unit/test-qt-proxies.cpp --list). Its ListGuestOS, demarshalled
into VpcGuestList, has every domain with its name (non-ASCII too), UUID and path, GetGuestOS through
the proxy agrees, and the Version property reads. Real dbus-daemon, polkitd, libvirtd."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vpctest import *  # noqa: E402,F403

r = subprocess.run([os.environ["VPC_QT_PROXY_CLIENT"], "--list"], capture_output=True, text=True, timeout=60)
check(r.returncode == 0 and r.stderr == "", "the Qt client runs without an error", (r.returncode, r.stderr))
rows = [line.split("\t") for line in r.stdout.splitlines()]
version = [row[1] for row in rows if row[0] == "Version"]
guests = sorted(tuple(row) for row in rows if row[0] != "Version")

listed = call(MANAGER, "org.vpc.Manager", "ListGuestOS")
want = sorted((n, u, p, p) for n, u, p in listed.value) if listed.ok else None
check(listed.ok and len(want) == 6, "ListGuestOS has the environment's six domains", listed)
check(guests == want, "the Qt client's ListGuestOS and GetGuestOS: every domain, name, UUID and path", (guests, want))
check(any(g[0] == "ünïcode-vm" for g in guests), "... a non-ASCII name intact", guests)
check(version == [get_property(MANAGER, "org.vpc.Manager", "Version")], "the Version property through the proxy", version)
finish()
