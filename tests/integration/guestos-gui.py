#!/usr/bin/python3
"""What a GUI reads of the GuestOS objects, on the test driver (no guest agent there): every object
has AgentConnected (b, false) and OSName (s, "") in GetAll and GetManagedObjects, read by anyone;
ListUsers() is authorized first with polkit org.vpc.guestos.list-users (root, a member of group
libvirt through 50-org.vpc.rules, anyone else denied with 0x80070005 before libvirt is asked), then
answers as Logoff's guest check does: AdditionsFeatureNotAvailable for a running domain without an
agent, VmNotRunning for a shut-off or paused one, VmUnknown for a domain that is gone; every call
is audited as list-users-request; `vpcctl status` shows the agent, OS and users lines and `vpcctl
users` says each error with its exit status and HRESULT. A started domain keeps AgentConnected false (the XML read finds no
agent channel). Real dbus-daemon, polkitd, libvirtd."""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vpctest import *  # noqa: E402,F403

URI = os.environ["VPC_LIBVIRT_URI"]
ALLOWED = os.environ["VPC_ALLOWED_USER"]
DENIED = os.environ["VPC_DENIED_USER"]
ENVCTL = os.path.join(os.environ["VPC_SOURCE_ROOT"], "tests", "lib", "envctl")
GUESTOS = "org.vpc.GuestOS"
WEB = encode_path("web server 01")
DB = encode_path("db.prod-2")
PAUSED = encode_path("paused-vm")


def list_users(path, user=None, interactive=False):
    return call(path, GUESTOS, "ListUsers", user=user, interactive=interactive)


def virsh(*args):
    return subprocess.run(["virsh", "-q", "-c", URI, *args], capture_output=True, text=True).returncode == 0


# --- the properties ------------------------------------------------------------------------------------
objs = managed_objects()
guests = {p: i[GUESTOS] for p, i in objs.items() if GUESTOS in i}
check(len(guests) == 6, "six GuestOS objects", sorted(guests))
check(all(type(g.get("AgentConnected")) is bool and g["AgentConnected"] is False for g in guests.values()),
      "every object has AgentConnected, a boolean, false on the test driver",
      {p: g.get("AgentConnected") for p, g in guests.items()})
check(all(g.get("OSName") == "" for g in guests.values()), "every object has OSName \"\" (unknown)",
      {p: g.get("OSName") for p, g in guests.items()})
for user in (None, ALLOWED, DENIED):
    r = call(WEB, "org.freedesktop.DBus.Properties", "GetAll", "s", (GUESTOS,), user=user)
    check(r.ok and r.value.get("AgentConnected") is False and r.value.get("OSName") == "",
          f"GetAll as {user or 'root'} has both (properties are not behind polkit)", r)
r = call("/org/vpc/GuestOS/web_20server_2001", "org.freedesktop.DBus.Introspectable", "Introspect")
check(r.ok and '<property name="AgentConnected" type="b" access="read">' in r.value
      and '<property name="OSName" type="s" access="read">' in r.value
      and '<method name="ListUsers">' in r.value and '<arg type="a(sst)" name="users" direction="out"/>' in r.value,
      "Introspect shows AgentConnected (b), OSName (s), ListUsers -> a(sst) users", r)

# --- who may -------------------------------------------------------------------------------------------
expect_error(list_users(WEB), "org.vpc.Error.AdditionsFeatureNotAvailable", "root, running VM without an agent")
expect_error(list_users(WEB, user=ALLOWED), "org.vpc.Error.AdditionsFeatureNotAvailable",
             "group libvirt member (rules file), running VM")
expect_error(list_users(WEB, user=DENIED), "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
             "unprivileged user, no interaction allowed")
expect_error(list_users(WEB, user=DENIED, interactive=True), "org.freedesktop.DBus.Error.AccessDenied",
             "unprivileged user, interaction allowed but no polkit agent")
expect_error(list_users(DB, user=DENIED), "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
             "unprivileged user on a shut-off VM is denied, not told VmNotRunning")
r = list_users(WEB, user=DENIED)
check("list the users of 'web server 01'" in (r.error_message or ""), "the denial names the VM", r.error_message)

# --- the VM checks -------------------------------------------------------------------------------------
expect_error(list_users(DB), "org.vpc.Error.VmNotRunning", "shut-off VM")
r = list_users(DB)
check("shutoff" in (r.error_message or ""), "VmNotRunning says the state", r.error_message)
expect_error(list_users(PAUSED, user=ALLOWED), "org.vpc.Error.VmNotRunning", "paused VM")
expect_error(list_users(encode_path("no such vm")), "org.vpc.Error.VmUnknown", "a path without a domain")

# A domain defined, started, undefined while the daemon runs.
xml = os.path.join(os.environ["VPC_ENV_DIR"], "gui.xml")
with open(xml, "w") as f:
    f.write("<domain type='test'><name>gui-vm</name><uuid>11111111-2222-3333-4444-00000000000c</uuid>"
            "<memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>")
check(virsh("define", xml), "gui-vm defined")
gui = encode_path("gui-vm")
check(wait_until(lambda: call(MANAGER, "org.vpc.Manager", "GetGuestOS", "s", ("gui-vm",)).ok), "gui-vm is published")
check(virsh("start", "gui-vm"), "gui-vm started")
# libvirt's word counts, not a "shutoff" whose event may still be on its way.
expect_error(list_users(gui), "org.vpc.Error.AdditionsFeatureNotAvailable", "ListUsers right after start")
check(wait_until(lambda: get_property(gui, GUESTOS, "State") == "running"), "gui-vm is running")
check(get_property(gui, GUESTOS, "AgentConnected") is False and get_property(gui, GUESTOS, "OSName") == "",
      "a started domain without an agent channel: AgentConnected false, OSName \"\"")
virsh("destroy", "gui-vm")
virsh("undefine", "gui-vm")
expect_error(list_users(gui), "org.vpc.Error.VmUnknown", "ListUsers right after undefine")

# --- audit ---------------------------------------------------------------------------------------------
log = subprocess.run([ENVCTL, "daemon-log"], capture_output=True, text=True).stdout
lines = [line for line in log.splitlines() if "event=list-users-request" in line]
check(any("uid=30002" in line and 'vm="web server 01"' in line and "hresult=0x80070005" in line for line in lines),
      "the denial is audited with uid, VM and HRESULT", lines[-3:])
check(any("uid=30001" in line and "hresult=0xA0040505" in line for line in lines),
      "the allowed request is audited too", lines[-3:])
check(any("message_id=44e547bbab0b4472be133cb5f68289c7" in line for line in lines),
      "... with its own MESSAGE_ID", lines[-1:])

# --- vpcctl -----------------------------------------------------------------------------------------
VPCCTL = os.environ["VPCCTL"]


def vpcctl(*args, user=None):
    cmd = [VPCCTL, *args]
    if user:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--"] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                          env={"DBUS_SYSTEM_BUS_ADDRESS": os.environ["DBUS_SYSTEM_BUS_ADDRESS"],
                               "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})


v = vpcctl("status", "web server 01")
check(v.returncode == 0 and "     Agent: not connected\n" in v.stdout and "        OS: -\n" in v.stdout
      and "     Users: -\n" in v.stdout, "vpcctl status: agent not connected, no OS, no users", (v.returncode, v.stdout))
v = vpcctl("--json", "status", "web server 01")
try:
    o = json.loads(v.stdout)
except ValueError:
    o = {}
check(v.returncode == 0 and o.get("agent_connected") is False and o.get("os_name") == "" and "users" in o
      and o["users"] is None, "vpcctl --json status: agent_connected, os_name, users null", v.stdout)
v = vpcctl("--json", "list")
check(v.returncode == 0 and all("agent_connected" in g and "os_name" in g for g in json.loads(v.stdout)),
      "vpcctl --json list has agent_connected and os_name", v.stdout[:300])
for args, user, rc, hresult, what in [
        (("users", "web server 01"), None, 5, "0xA0040505", "no guest agent"),
        (("users", "db.prod-2"), ALLOWED, 4, "0xA0040206", "VM not running"),
        (("--no-ask-password", "users", "web server 01"), DENIED, 10, "0x80070005", "denied"),
        (("users", "no such vm"), None, 6, "0xA0040207", "no such VM")]:
    v = vpcctl(*args, user=user)
    check(v.returncode == rc and hresult in v.stderr, f"vpcctl users, {what}: exit status {rc}, {hresult}",
          (v.returncode, v.stderr))
v = vpcctl("users")
check(v.returncode == 2, "vpcctl users without a VM: usage, exit status 2", v.returncode)

# --- polkitd gone: fail closed; root needs none --------------------------------------------------------
ok = subprocess.run([ENVCTL, "polkitd-stop"], capture_output=True).returncode == 0
check(ok, "polkitd stopped")
expect_error(list_users(WEB, user=ALLOWED), "org.freedesktop.DBus.Error.AccessDenied",
             "with polkitd gone the allowed user is denied")
expect_error(list_users(WEB), "org.vpc.Error.AdditionsFeatureNotAvailable", "root needs no polkit")
ok = subprocess.run([ENVCTL, "polkitd-start"], capture_output=True).returncode == 0
check(ok, "polkitd restarted")
expect_error(list_users(WEB, user=ALLOWED), "org.vpc.Error.AdditionsFeatureNotAvailable",
             "with polkitd back the allowed user passes again")
finish()
