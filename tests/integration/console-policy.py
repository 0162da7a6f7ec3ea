#!/usr/bin/python3
"""The console-disconnect policy's settings against the real daemon, dbus-daemon, polkitd and
libvirtd (test driver, which has metadata but no graphics events; the trigger is tested on a real
guest in tests/e2e/console.py): SetConsoleDisconnectPolicy and `vpcctl set-policy` on a running,
a paused, a shut-off and a transient domain (libvirt wants other flags for each) store the element
in the domain's metadata and emit PropertiesChanged; polkit decides (group libvirt may, others get
0x80070005, audited); bad arguments are InvalidArgs or usage errors; `virsh metadata` changes it,
and an element the daemon does not understand counts as none; `vpcctl status` shows it; a daemon
restart reads it back."""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vpctest import *  # noqa: E402,F403

VPCCTL = os.environ["VPCCTL"]
URI = os.environ["VPC_LIBVIRT_URI"]
ENVCTL = os.path.join(os.environ["VPC_SOURCE_ROOT"], "tests", "lib", "envctl")
ALLOWED = os.environ["VPC_ALLOWED_USER"]
DENIED = os.environ["VPC_DENIED_USER"]
NS = "https://vpc.org/xmlns/guestos/1"
GUESTOS = "org.vpc.GuestOS"
WEB = "web server 01"


def vpcctl(*args, user=None):
    cmd = [VPCCTL, *args]
    if user:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--"] + cmd
    env = {"DBUS_SYSTEM_BUS_ADDRESS": os.environ["DBUS_SYSTEM_BUS_ADDRESS"], "PATH": "/usr/bin:/bin",
           "LANG": "C.UTF-8"}
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def virsh(*args):
    r = subprocess.run(["virsh", "-q", "-c", URI, *args], capture_output=True, text=True, timeout=60)
    return r.returncode == 0, (r.stdout + r.stderr).strip()


def policy_of(vm):
    path = encode_path(vm)
    return (get_property(path, GUESTOS, "ConsoleDisconnectPolicy"), get_property(path, GUESTOS, "ConsoleDisconnectDelaySec"))


def metadata(vm, *flags):
    ok, out = virsh("metadata", vm, "--uri", NS, *flags)
    return out if ok else None


def set_policy(vm, policy, delay, user=None, interactive=False):
    return call(encode_path(vm), GUESTOS, "SetConsoleDisconnectPolicy", "su", (policy, delay), user=user,
                interactive=interactive)


# --- the defaults, and what status shows ----------------------------------------------------------
check(policy_of(WEB) == ("none", 30) and get_property(encode_path(WEB), GUESTOS, "ConsoleClients") == 0,
      "a domain without the element: none, 30 s, no client", policy_of(WEB))
r = vpcctl("status", WEB)
check(r.returncode == 0 and "   Console: none on disconnect; 0 client(s) connected\n" in r.stdout,
      "vpcctl status shows the policy and the clients", r.stdout)

# --- set through the bus and through vpcctl, on each kind of domain --------------------------------
rec = SignalRecorder()
mark = rec.mark()
r = set_policy(WEB, "logoff", 45)
check(r.ok and policy_of(WEB) == ("logoff", 45), "root sets logoff, 45 s on a running domain", (r, policy_of(WEB)))
changed = rec.wait_for(lambda e: e[0] == encode_path(WEB) and e[2] == "PropertiesChanged"
                       and "ConsoleDisconnectPolicy" in e[3][1] and "ConsoleDisconnectDelaySec" in e[3][1], since=mark)
check(changed is not None and changed[3][1]["ConsoleDisconnectPolicy"] == "logoff"
      and changed[3][1]["ConsoleDisconnectDelaySec"] == 45, "PropertiesChanged carries both", changed)
for flag in ("--live", "--config"):
    md = metadata(WEB, flag)
    check(md is not None and 'console-disconnect="logoff"' in md and 'delay="45"' in md,
          f"the element is in the running domain's {flag[2:]} metadata", md)

r = vpcctl("set-policy", WEB, "--console-disconnect=none")
check(r.returncode == 0 and policy_of(WEB) == ("none", 45), "vpcctl set-policy --console-disconnect=none keeps the delay",
      (r.stdout, r.stderr, policy_of(WEB)))
r = vpcctl("set-policy", WEB, "--console-disconnect", "logoff", "--delay", "0")
check(r.returncode == 0 and policy_of(WEB) == ("logoff", 0) and "log off 0 s after" in r.stdout,
      "vpcctl set-policy --console-disconnect logoff --delay 0", (r.stdout, r.stderr, policy_of(WEB)))
r = vpcctl("status", WEB, "--json")
j = json.loads(r.stdout) if r.returncode == 0 else {}
check(j.get("console_disconnect_policy") == "logoff" and j.get("console_disconnect_delay_sec") == 0
      and j.get("console_clients") == 0, "vpcctl status --json has the policy and the clients", j)

r = set_policy("db.prod-2", "logoff", 86400)
md = metadata("db.prod-2", "--config")
check(r.ok and policy_of("db.prod-2") == ("logoff", 86400) and md and 'delay="86400"' in md,
      "a shut-off domain gets it in its config (CONFIG alone)", (r, md))
r = set_policy("paused-vm", "logoff", 5)
check(r.ok and policy_of("paused-vm") == ("logoff", 5), "a paused domain gets it", r)

transient = os.path.join(os.environ["VPC_ENV_DIR"], "transient.xml")
with open(transient, "w") as f:
    f.write("<domain type='test'><name>transient-vm</name><memory unit='MiB'>64</memory>"
            "<os><type arch='x86_64'>hvm</type></os></domain>")
ok, out = virsh("create", transient)
check(ok and wait_until(lambda: call(MANAGER, "org.vpc.Manager", "GetGuestOS", "s", ("transient-vm",)).ok, 10),
      "a transient domain appears", out)
r = set_policy("transient-vm", "logoff", 7)
md = metadata("transient-vm", "--live")
check(r.ok and policy_of("transient-vm") == ("logoff", 7) and md and 'delay="7"' in md,
      "a transient domain gets it live (LIVE alone)", (r, md))

# --- who may -----------------------------------------------------------------------------------
before = policy_of(WEB)
expect_error(set_policy(WEB, "none", 1, user=DENIED, interactive=True), "org.freedesktop.DBus.Error.AccessDenied",
             "a user outside group libvirt")
r = vpcctl("--no-ask-password", "set-policy", WEB, "--console-disconnect=none", user=DENIED)
check(r.returncode == 10 and "0x80070005" in r.stderr, "vpcctl set-policy as that user: exit 10, 0x80070005", r.stderr)
check(policy_of(WEB) == before, "the policy is unchanged after the denials", policy_of(WEB))
r = set_policy(WEB, "logoff", 60, user=ALLOWED)
check(r.ok and policy_of(WEB) == ("logoff", 60), "a member of group libvirt may (50-org.vpc.rules)", r)
log = subprocess.run([ENVCTL, "daemon-log"], capture_output=True, text=True).stdout
check(any("event=set-policy-request" in l and "error=org.freedesktop.DBus.Error.AccessDenied" in l and 'policy="none 1"' in l
          for l in log.splitlines()), "the denial is audited with the policy asked for")

# --- bad arguments -------------------------------------------------------------------------------
expect_error(set_policy(WEB, "shutdown", 5), "org.freedesktop.DBus.Error.InvalidArgs", "policy 'shutdown'")
expect_error(set_policy(WEB, "warn-then-logoff", 3601), "org.freedesktop.DBus.Error.InvalidArgs",
             "warn-then-logoff's delay above the grace's 3600")
expect_error(set_policy(WEB, "", 5), "org.freedesktop.DBus.Error.InvalidArgs", "policy ''")
expect_error(set_policy(WEB, "logoff", 86401), "org.freedesktop.DBus.Error.InvalidArgs", "delay 86401")
expect_error(call(encode_path(WEB), GUESTOS, "SetConsoleDisconnectPolicy", "ss", ("logoff", "5")),
             "org.freedesktop.DBus.Error.InvalidArgs", "arguments of the wrong type")
check(policy_of(WEB) == ("logoff", 60), "the policy is unchanged after bad arguments", policy_of(WEB))
for args, what in [(["set-policy", WEB], "set-policy without --console-disconnect"),
                   (["set-policy", WEB, "--console-disconnect=shutdown"], "--console-disconnect=shutdown"),
                   (["set-policy", WEB, "--console-disconnect=lock", "--grace", "5"], "--grace with set-policy"),
                   (["set-policy", WEB, "--console-disconnect=logoff", "--delay", "86401"], "--delay 86401"),
                   (["set-policy", WEB, "--console-disconnect=logoff", "--delay", "-1"], "--delay -1"),
                   (["status", WEB, "--console-disconnect=logoff"], "--console-disconnect with status"),
                   (["set-policy", "--console-disconnect=logoff"], "set-policy without a VM")]:
    r = vpcctl(*args)
    check(r.returncode == 2, f"vpcctl {what}: usage error (2)", (r.returncode, r.stderr))
r = vpcctl("set-policy", "no-such-vm", "--console-disconnect=logoff")
check(r.returncode == 6 and "0xA0040207" in r.stderr, "vpcctl set-policy on an unknown VM: exit 6, VmUnknown", r.stderr)

# --- virsh metadata, understood or not --------------------------------------------------------------
ok, out = virsh("metadata", WEB, "--uri", NS, "--key", "vpc", "--set", "<policy console-disconnect='none' delay='9'/>",
                "--live", "--config")
check(ok and wait_until(lambda: policy_of(WEB) == ("none", 9), 10), "virsh metadata changes it (metadata-change event)",
      (out, policy_of(WEB)))
ok, out = virsh("metadata", WEB, "--uri", NS, "--key", "vpc", "--set",
                "<policy console-disconnect='logoff' delay='9' lock='yes'/>", "--live", "--config")
check(ok and wait_until(lambda: policy_of(WEB) == ("none", 30), 10),
      "an element with an attribute it does not know counts as none", (out, policy_of(WEB)))
check("ignoring its console policy metadata" in subprocess.run([ENVCTL, "daemon-log"], capture_output=True,
                                                                 text=True).stdout, "... and the daemon says so")
ok, out = virsh("metadata", WEB, "--uri", NS, "--key", "vpc", "--set", "<policy console-disconnect='logoff' delay='11'/>",
                "--live", "--config")
check(ok and wait_until(lambda: policy_of(WEB) == ("logoff", 11), 10), "a good element again: logoff, 11 s", policy_of(WEB))

# --- a daemon restart reads it back -------------------------------------------------------------------
r1 = subprocess.run([ENVCTL, "daemon-stop"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
r2 = subprocess.run([ENVCTL, "daemon-start"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
check(r1.stdout.strip() == "0" and r2.returncode == 0, "the daemon restarted (exit 0)", r1.stdout)
# The name comes with the listing; the policies follow from the scan, each with PropertiesChanged.
check(wait_until(lambda: policy_of(WEB) == ("logoff", 11) and policy_of("db.prod-2") == ("logoff", 86400)
                 and policy_of("transient-vm") == ("logoff", 7), 10),
      "after the restart every policy is read back from the metadata",
      (policy_of(WEB), policy_of("db.prod-2"), policy_of("transient-vm")))
finish()
