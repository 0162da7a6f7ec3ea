#!/usr/bin/python3
"""Logoff (and Lock) authorization with the real polkitd and the project's policy and rules: root passes, a
member of group libvirt passes through 50-org.vpc.rules, anyone else is denied with 0x80070005
(InteractiveAuthorizationRequired without interaction, AccessDenied with it and no agent), before
libvirt is asked; polkitd gone means denied; the VM checks give VmNotRunning / VmUnknown /
AdditionsFeatureNotAvailable (the test driver has no guest agent); every request is audited."""

import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vpctest import *  # noqa: E402,F403

URI = os.environ["VPC_LIBVIRT_URI"]
ALLOWED = os.environ["VPC_ALLOWED_USER"]
DENIED = os.environ["VPC_DENIED_USER"]
ENVCTL = os.path.join(os.environ["VPC_SOURCE_ROOT"], "tests", "lib", "envctl")
WEB = encode_path("web server 01")
DB = encode_path("db.prod-2")
PAUSED = encode_path("paused-vm")


def logoff(path, user=None, interactive=False):
    return call(path, "org.vpc.GuestOS", "Logoff", user=user, interactive=interactive)


def envctl(*args):
    r = subprocess.run([ENVCTL, *args], capture_output=True, text=True)
    return r.returncode == 0, r.stdout.strip()


def daemon_log():
    return envctl("daemon-log")[1]


# --- who may ---------------------------------------------------------------------------------------
expect_error(logoff(WEB), "org.vpc.Error.AdditionsFeatureNotAvailable", "root, running test-driver VM")
expect_error(logoff(WEB, user=ALLOWED), "org.vpc.Error.AdditionsFeatureNotAvailable",
             "group libvirt member (rules file), running VM")
expect_error(logoff(WEB, user=DENIED), "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
             "unprivileged user, no interaction allowed")
expect_error(logoff(WEB, user=DENIED, interactive=True), "org.freedesktop.DBus.Error.AccessDenied",
             "unprivileged user, interaction allowed but no polkit agent")
# Authorization comes first: a denied caller learns nothing about the VM's state.
expect_error(logoff(DB, user=DENIED), "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
             "unprivileged user on a shut-off VM is denied, not told VmNotRunning")
r = call(MANAGER, "org.vpc.Manager", "ListGuestOS", user=DENIED)
check(r.ok and len(r.value) == 6, "the daemon keeps serving the denied user", r)

log = daemon_log()
check("event=logoff-request" in log and "uid=30002" in log and 'vm="web server 01"' in log
      and "hresult=0x80070005" in log, "the denial is audited with uid, VM and HRESULT")
check("uid=30001" in log and "hresult=0xA0040505" in log, "the allowed request is audited too")

# --- VM checks (as root and as the allowed user) ---------------------------------------------------
expect_error(logoff(DB), "org.vpc.Error.VmNotRunning", "shut-off VM")
expect_error(logoff(PAUSED, user=ALLOWED), "org.vpc.Error.VmNotRunning", "paused VM")
r = logoff(DB)
check("shutoff" in (r.error_message or ""), "VmNotRunning says the state", r.error_message)

# A domain that was just undefined: gone from libvirt, whatever the daemon has seen yet.
xml = os.path.join(os.environ["VPC_ENV_DIR"], "brief.xml")
with open(xml, "w") as f:
    f.write("<domain type='test'><name>brief</name><uuid>11111111-2222-3333-4444-00000000000b</uuid>"
            "<memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>")
subprocess.run(["virsh", "-q", "-c", URI, "define", xml], check=True, capture_output=True)
brief = encode_path("brief")
check(wait_until(lambda: call(MANAGER, "org.vpc.Manager", "GetGuestOS", "s", ("brief",)).ok), "brief is published")
# Started just now: libvirt's word counts, not a "shutoff" whose event may still be on its way.
subprocess.run(["virsh", "-q", "-c", URI, "start", "brief"], check=True, capture_output=True)
expect_error(logoff(brief), "org.vpc.Error.AdditionsFeatureNotAvailable", "Logoff right after start")
subprocess.run(["virsh", "-q", "-c", URI, "destroy", "brief"], check=True, capture_output=True)
subprocess.run(["virsh", "-q", "-c", URI, "undefine", "brief"], check=True, capture_output=True)
expect_error(logoff(brief), "org.vpc.Error.VmUnknown", "Logoff right after undefine")

# --- many callers at once ----------------------------------------------------------------------------
results = []


def one(user):
    results.append(logoff(WEB, user=user))


threads = [threading.Thread(target=one, args=(ALLOWED if i % 2 else DENIED,)) for i in range(24)]
for t in threads:
    t.start()
for t in threads:
    t.join()
ok_allowed = sum(1 for r in results if r.error_name == "org.vpc.Error.AdditionsFeatureNotAvailable")
ok_denied = sum(1 for r in results if r.error_name == "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired")
check(ok_allowed == 12 and ok_denied == 12, "24 concurrent callers each get their own verdict",
      [r.error_name for r in results])

# --- polkitd gone: fail closed; back: allowed again ------------------------------------------------
ok, _ = envctl("polkitd-stop")
check(ok, "polkitd stopped")
expect_error(logoff(WEB, user=ALLOWED), "org.freedesktop.DBus.Error.AccessDenied",
             "with polkitd gone the allowed user is denied")
expect_error(logoff(WEB), "org.vpc.Error.AdditionsFeatureNotAvailable", "root needs no polkit")
ok, _ = envctl("polkitd-start")
check(ok, "polkitd restarted")
expect_error(logoff(WEB, user=ALLOWED), "org.vpc.Error.AdditionsFeatureNotAvailable",
             "with polkitd back the allowed user passes again")

# --- Lock: its own action, org.vpc.guestos.lock, decided as Logoff's ---------------------------------
def lock(path, user=None, interactive=False):
    return call(path, "org.vpc.GuestOS", "Lock", user=user, interactive=interactive)


expect_error(lock(WEB), "org.vpc.Error.AdditionsFeatureNotAvailable", "Lock: root, running test-driver VM")
expect_error(lock(WEB, user=ALLOWED), "org.vpc.Error.AdditionsFeatureNotAvailable",
             "Lock: group libvirt member (rules file), running VM")
expect_error(lock(WEB, user=DENIED), "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
             "Lock: unprivileged user, no interaction allowed")
expect_error(lock(WEB, user=DENIED, interactive=True), "org.freedesktop.DBus.Error.AccessDenied",
             "Lock: unprivileged user, interaction allowed but no polkit agent")
expect_error(lock(DB, user=DENIED), "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
             "Lock: unprivileged user on a shut-off VM is denied, not told VmNotRunning")
expect_error(lock(DB, user=ALLOWED), "org.vpc.Error.VmNotRunning", "Lock: shut-off VM")
r = lock(DB)
check(r.error_name == "org.vpc.Error.VmNotRunning" and "shutoff" in (r.error_message or "")
      and (r.error_message or "").startswith("0xA0040206: cannot lock 'db.prod-2'"),
      "Lock's VmNotRunning names the refusal, the VM and its state", r.error_message)
lines = [line for line in daemon_log().splitlines() if "event=lock-request" in line]
check(any("uid=30002" in line and 'vm="web server 01"' in line and "hresult=0x80070005" in line
          and "message_id=05e58a7deb3f450b8811de2ef1325184" in line for line in lines),
      "a denied Lock is audited as lock-request with its own MESSAGE_ID, uid, VM and HRESULT", lines[-3:])
check(any("uid=30001" in line and "hresult=0xA0040505" in line for line in lines),
      "an allowed Lock is audited too", lines[-3:])

# --- the bus policy: only the daemon's user owns org.vpc; polkit, not the bus, answers calls -------
r = subprocess.run(["setpriv", f"--reuid={DENIED}", f"--regid={DENIED}", "--init-groups", "--",
                    "busctl", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                    "RequestName", "su", "org.vpc", "0"], capture_output=True, text=True,
                   env={"DBUS_SYSTEM_BUS_ADDRESS": os.environ["DBUS_SYSTEM_BUS_ADDRESS"], "PATH": "/usr/bin:/bin"})
check(r.returncode != 0 and "ccess denied" in (r.stderr + r.stdout), "an unprivileged process cannot own org.vpc",
      r.stderr)
r = subprocess.run(["busctl", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                    "RequestName", "su", "org.vpc", "0"], capture_output=True, text=True,
                   env={"DBUS_SYSTEM_BUS_ADDRESS": os.environ["DBUS_SYSTEM_BUS_ADDRESS"], "PATH": "/usr/bin:/bin"})
check(r.returncode != 0 and "ccess denied" in (r.stderr + r.stdout),
      f"root cannot own org.vpc either (only {os.environ['VPC_DAEMON_USER']} may)", r.stderr + r.stdout)

finish()
