#!/usr/bin/python3
"""The installed logoff units (systemd/vpc-logoff@.service, vpc-logoff-all.service) as systemd would
run them, against the real daemon, dbus-daemon, polkitd and libvirtd (test driver): the instance is
what systemd-escape makes of a VM name with spaces, non-ASCII and a dash, ExecStart= is split and
its specifiers resolved as systemd does (tests/lib/unitexec.py), the build's vpcctl runs the result,
and its exit status is checked against vpcctl's table and the unit's SuccessExitStatus=: 5 (no guest
agent), 4 (shut off) and 6 (undefined) fail the unit, 0 (no running VM for --all) passes it. With %i
instead of %I the escaped name would reach the service: 6. The success of 0 and 3 on a real guest
is tests/e2e/vpcctl.py's."""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vpctest import *  # noqa: E402,F403
import unitexec  # noqa: E402

VPCCTL = os.environ["VPCCTL"]
URI = os.environ["VPC_LIBVIRT_URI"]
UNITS = os.environ["VPC_UNIT_DIR"]
ENV = {"DBUS_SYSTEM_BUS_ADDRESS": os.environ["DBUS_SYSTEM_BUS_ADDRESS"], "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
VM = "Nóminas 2026 año-fiscal"
ONE = os.path.join(UNITS, "vpc-logoff@.service")
ALL = os.path.join(UNITS, "vpc-logoff-all.service")


def virsh(*args):
    return subprocess.run(["virsh", "-q", "-c", URI, *args], capture_output=True, text=True)


def run_unit(path, unit):
    """Runs the unit's command as systemd would, with the build's vpcctl for the installed one."""
    argv = unitexec.exec_argv(path, unit)
    check(os.path.isabs(argv[0]) and os.path.basename(argv[0]) == "vpcctl",
          f"{unit}: ExecStart= runs the installed vpcctl by its absolute path", argv[0])
    return argv, subprocess.run([VPCCTL, *argv[1:]], env=ENV, capture_output=True, text=True, timeout=120,
                                stdin=subprocess.DEVNULL)


s = unitexec.service_settings(ONE)
check(s.get("Type") == ["oneshot"] and s.get("SuccessExitStatus") == ["3"], "vpc-logoff@: Type=oneshot, SuccessExitStatus=3", s)
s = unitexec.service_settings(ALL)
check(s.get("Type") == ["oneshot"] and s.get("SuccessExitStatus") == ["3"], "vpc-logoff-all: Type=oneshot, SuccessExitStatus=3", s)

xml = os.path.join(os.environ["VPC_ENV_DIR"], "nominas.xml")
with open(xml, "w", encoding="utf-8") as f:
    f.write(f"<domain type='test'><name>{VM}</name><uuid>11111111-2222-3333-4444-0000000000a1</uuid>"
            "<memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>")
r = virsh("define", xml)
check(r.returncode == 0 and virsh("start", VM).returncode == 0, "the test driver runs a VM named " + VM, r.stderr)
check(wait_until(lambda: call(MANAGER, "org.vpc.Manager", "GetGuestOS", "s", (VM,)).ok, 10), "the daemon has the VM")

unit, instance = unitexec.escape_instance("vpc-logoff@.service", VM)
check(instance == "N\\xc3\\xb3minas\\x202026\\x20a\\xc3\\xb1o\\x2dfiscal" and instance.isascii(),
      "systemd-escape: an ASCII instance without spaces (\\x20, the UTF-8 bytes, the dash as \\x2d)", instance)

# --- vpc-logoff@: the name arrives whole and exact ----------------------------------------------------
argv, r = run_unit(ONE, unit)
check(argv[-2:] == ["--", VM], "%I gives the VM's name back unescaped, as one argument after --", argv)
check(r.returncode == 5 and f"vpcctl: {VM}: 0xA0040505" in r.stderr and "[org.vpc.Error.AdditionsFeatureNotAvailable]" in r.stderr,
      "running, no guest agent: exit 5 (vpcctl's table), the VM named exactly", (r.returncode, r.stderr))
check(not unitexec.succeeds(ONE, r.returncode), "... which fails the unit", r.returncode)
wrong = [instance if a == VM else a for a in argv]
w = subprocess.run([VPCCTL, *wrong[1:]], env=ENV, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
check(w.returncode == 6, "with %i the service would be asked for the escaped name: exit 6, no such VM", (w.returncode, w.stderr))

check(virsh("destroy", VM).returncode == 0, "the VM shut off")
argv, r = run_unit(ONE, unit)
check(r.returncode == 4 and "[org.vpc.Error.VmNotRunning]" in r.stderr and not unitexec.succeeds(ONE, 4),
      "shut off: exit 4, the unit fails", (r.returncode, r.stderr))
check(virsh("undefine", VM).returncode == 0, "the VM undefined")
check(wait_until(lambda: not call(MANAGER, "org.vpc.Manager", "GetGuestOS", "s", (VM,)).ok, 10), "the daemon dropped it")
argv, r = run_unit(ONE, unit)
check(r.returncode == 6 and "[org.vpc.Error.VmUnknown]" in r.stderr and not unitexec.succeeds(ONE, 6),
      "undefined: exit 6, the unit fails", (r.returncode, r.stderr))

# --- vpc-logoff-all -----------------------------------------------------------------------------------
running = sorted(g["name"] for g in json.loads(subprocess.run([VPCCTL, "--json", "list"], env=ENV, capture_output=True,
                                                               text=True).stdout) if g["state"] == "running")
argv, r = run_unit(ALL, "vpc-logoff-all.service")
d = json.loads(r.stdout) if r.stdout.strip() else {}
check(r.returncode == 5 and sorted(x["vm"] for x in d.get("results", [])) == running and d.get("exit_status") == 5
      and not unitexec.succeeds(ALL, 5), f"--all over {len(running)} running VMs without agents: exit 5 in the JSON too, the unit fails",
      (r.returncode, r.stdout[-400:]))
for name in running:
    virsh("destroy", name)
argv, r = run_unit(ALL, "vpc-logoff-all.service")
d = json.loads(r.stdout) if r.stdout.strip() else {}
check(r.returncode == 0 and d.get("results") == [] and unitexec.succeeds(ALL, 0),
      "no VM running: exit 0 and no results, the unit succeeds", (r.returncode, r.stdout))
check(unitexec.succeeds(ONE, 3) and unitexec.succeeds(ALL, 3) and not unitexec.succeeds(ONE, 9),
      "SuccessExitStatus=3: nobody logged on is success, --timeout passing (9) is not")
finish()
