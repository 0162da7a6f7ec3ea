#!/usr/bin/python3
"""vpcctl against the real daemon, dbus-daemon, polkitd and libvirtd (test driver): list and status
output, --json parsed and checked, logoff's error paths with their exit statuses, HRESULTs and error
names (AccessDenied's message shown, unlike busctl), --all, non-TTY plain output, tasks/wait/cancel
on unknown tasks, usage errors, an unreachable service, monitor's events, and bash completion."""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vpctest import *  # noqa: E402,F403

VPCCTL = os.environ["VPCCTL"]
URI = os.environ["VPC_LIBVIRT_URI"]
ENVCTL = os.path.join(os.environ["VPC_SOURCE_ROOT"], "tests", "lib", "envctl")
COMPLETION = os.path.join(os.environ["VPC_SOURCE_ROOT"], "client", "vpcctl.bash-completion")
ALLOWED = os.environ["VPC_ALLOWED_USER"]
DENIED = os.environ["VPC_DENIED_USER"]
DOMAINS = {  # name: (state, uuid or None)
    "db.prod-2": ("shutoff", "11111111-2222-3333-4444-000000000002"),
    "paused-vm": ("paused", "11111111-2222-3333-4444-000000000004"),
    "1vm": ("shutoff", "11111111-2222-3333-4444-000000000005"),
    "test": ("running", None),
    "web server 01": ("running", "11111111-2222-3333-4444-000000000001"),
    "ünïcode-vm": ("running", "11111111-2222-3333-4444-000000000003"),
}
RUNNING = sorted(n for n, (s, _) in DOMAINS.items() if s == "running")


class Run:
    def __init__(self, p):
        self.rc, self.out, self.err = p.returncode, p.stdout, p.stderr

    def json(self):
        try:
            return json.loads(self.out)
        except ValueError:
            return None

    def __repr__(self):
        return f"rc={self.rc} out={self.out[-600:]!r} err={self.err[-600:]!r}"


def vpcctl(*args, user=None, timeout=60):
    cmd = [VPCCTL, *args]
    env = {"DBUS_SYSTEM_BUS_ADDRESS": os.environ["DBUS_SYSTEM_BUS_ADDRESS"], "PATH": "/usr/bin:/bin",
           "LANG": "C.UTF-8"}
    if user:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--"] + cmd
    # stdin, stdout and stderr are pipes: no terminal, so no polkit agent and plain output.
    return Run(subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL))


def expect_failure(r, rc, name, hresult, what):
    check(r.rc == rc, f"{what}: exit status {rc}", r)
    check(name in r.err, f"{what}: the D-Bus error name {name} is printed", r.err)
    check(hresult in r.err, f"{what}: the HRESULT {hresult} is printed", r.err)


# --- list -----------------------------------------------------------------------------------------
r = vpcctl("list")
check(r.rc == 0, "list: exit status 0", r)
lines = r.out.splitlines()
check(lines and lines[0].split() == ["NAME", "STATE", "UUID"], "list: header NAME STATE UUID", lines[:1])
check(lines[-1] == f"{len(DOMAINS)} VMs listed.", f"list: footer counts {len(DOMAINS)} VMs", lines[-1:])
rows = lines[1:1 + len(DOMAINS)]
check([row.split("  ")[0] for row in rows] == sorted(DOMAINS), "list: rows in name order", rows)
for row in rows:
    name = next(n for n in DOMAINS if row.startswith(n + " "))
    state, uuid = DOMAINS[name]
    check(row.split()[-2] == state and (uuid is None or row.split()[-1] == uuid),
          f"list: row of {name!r} shows {state} and its UUID", row)
# Columns line up even with the non-ASCII name (widths in characters, not bytes).
check(len({len(row[:row.rindex(' ') + 1]) for row in rows}) == 1, "list: the UUID column is aligned", rows)

r = vpcctl("list", "--json")
data = r.json()
check(r.rc == 0 and isinstance(data, list), "list --json: a JSON array", r)
if isinstance(data, list):
    by_name = {d["name"]: d for d in data}
    check(sorted(by_name) == sorted(DOMAINS), "list --json: every domain", sorted(by_name))
    for name, (state, uuid) in DOMAINS.items():
        d = by_name.get(name, {})
        check(d.get("state") == state and d.get("path") == encode_path(name) and (uuid is None or d.get("uuid") == uuid),
              f"list --json: {name!r} has state {state}, its UUID and path {encode_path(name)}", d)

r = vpcctl("-q", "list")
check(r.rc == 0 and r.out.splitlines() == sorted(DOMAINS), "list -q: just the names", r)
r = vpcctl("--no-legend", "list")
check(r.rc == 0 and len(r.out.splitlines()) == len(DOMAINS) and "NAME" not in r.out, "list --no-legend: rows only", r)

# --- status ---------------------------------------------------------------------------------------
r = vpcctl("status", "web server 01")
check(r.rc == 0 and r.out.splitlines()[0] == "web server 01", "status: the VM's name first", r)
check("State: running" in r.out and "UUID: 11111111-2222-3333-4444-000000000001" in r.out
      and f"Path: {encode_path('web server 01')}" in r.out and "Tasks: none" in r.out,
      "status: state, UUID, path and tasks", r.out)
r = vpcctl("status", "11111111-2222-3333-4444-000000000002", "--json")
d = r.json()
check(r.rc == 0 and d and d["name"] == "db.prod-2" and d["state"] == "shutoff" and d["tasks"] == [],
      "status --json by UUID: db.prod-2, shutoff, no tasks", r)
r = vpcctl("status", "nope")
expect_failure(r, 6, "org.vpc.Error.VmUnknown", "0xA0040207", "status of an unknown VM")
r = vpcctl("status", "nope", "--json")
d = r.json()
check(r.rc == 6 and d and d["error"]["error_name"] == "org.vpc.Error.VmUnknown" and d["error"]["hresult"] == "0xA0040207"
      and d["error"]["exit_status"] == 6 and d["error"]["error_message"].startswith("0xA0040207: "),
      "status --json of an unknown VM: a JSON error object", r)

# --- logoff: every error class the test driver can produce ----------------------------------------
r = vpcctl("logoff", "db.prod-2")
expect_failure(r, 4, "org.vpc.Error.VmNotRunning", "0xA0040206", "logoff of the shut-off VM")
check("shutoff" in r.err, "logoff of the shut-off VM: the message says its state", r.err)
r = vpcctl("logoff", "paused-vm")
expect_failure(r, 4, "org.vpc.Error.VmNotRunning", "0xA0040206", "logoff of the paused VM")
r = vpcctl("logoff", "web server 01")
expect_failure(r, 5, "org.vpc.Error.AdditionsFeatureNotAvailable", "0xA0040505",
               "logoff of a running test-driver VM (no guest agent)")
check("qemu-ga" in r.err, "... with a hint about the guest agent", r.err)
r = vpcctl("logoff", "nope")
expect_failure(r, 6, "org.vpc.Error.VmUnknown", "0xA0040207", "logoff of an unknown VM")
check("\033" not in r.out + r.err and "\r" not in r.out + r.err, "not a terminal: no escape sequences, no \\r", r)

r = vpcctl("logoff", "--json", "nope", "web server 01", "db.prod-2")
d = r.json()
check(r.rc == 6, "logoff of three VMs failing three ways: the worst status, 6 (unknown)", r)
if check(d and [x["vm"] for x in d["results"]] == ["nope", "web server 01", "db.prod-2"], "logoff --json: one result per VM, in order", d):
    got = [(x["exit_status"], x["error_name"], x["hresult"], x["task"]) for x in d["results"]]
    check(got == [(6, "org.vpc.Error.VmUnknown", "0xA0040207", None),
                  (5, "org.vpc.Error.AdditionsFeatureNotAvailable", "0xA0040505", None),
                  (4, "org.vpc.Error.VmNotRunning", "0xA0040206", None)],
          "logoff --json: each VM's exit status, error name, HRESULT, no task", got)
    check(all(x["error_message"].startswith(x["hresult"] + ": ") for x in d["results"]),
          "logoff --json: messages start with the HRESULT", d["results"])
    check(d["results"][1]["guest"] == encode_path("web server 01") and d["exit_status"] == 6,
          "logoff --json: the guest path and the overall exit status", d)

r = vpcctl("logoff", "--all", "--json")
d = r.json()
check(r.rc == 5 and d and sorted(x["vm"] for x in d["results"]) == RUNNING,
      "logoff --all: one attempt per running VM (not the shut-off or paused ones), status 5", r)
r = vpcctl("logoff", "--all")
check(r.rc == 5 and all(f"vpcctl: {n}: 0xA0040505" in r.err for n in RUNNING),
      "logoff --all: each VM's result reported", r)
check(r.err.count("hint:") == 1, "logoff --all: the same hint once, not per VM", r.err)

# --- authorization: the message of a denial is shown (busctl hides it) ------------------------------
r = vpcctl("logoff", "web server 01", user=DENIED)
expect_failure(r, 10, "org.freedesktop.DBus.Error.AccessDenied", "0x80070005", "logoff as vpc-denied")
check("not authorized" in r.err, "logoff as vpc-denied: the service's message is printed", r.err)
r = vpcctl("--no-ask-password", "logoff", "web server 01", user=DENIED)
expect_failure(r, 10, "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired", "0x80070005",
               "logoff --no-ask-password as vpc-denied")
r = vpcctl("logoff", "db.prod-2", user=DENIED)
check(r.rc == 10, "vpc-denied on the shut-off VM is denied before learning its state", r)
r = vpcctl("logoff", "web server 01", user=ALLOWED)
expect_failure(r, 5, "org.vpc.Error.AdditionsFeatureNotAvailable", "0xA0040505",
               "logoff as vpc-allowed (group libvirt) passes polkit")
r = vpcctl("list", user=DENIED)
check(r.rc == 0 and len(r.out.splitlines()) == len(DOMAINS) + 3, "anyone may list", r)

# --- lock: the same checks and exit statuses as logoff -------------------------------------------
r = vpcctl("lock", "db.prod-2")
expect_failure(r, 4, "org.vpc.Error.VmNotRunning", "0xA0040206", "lock of the shut-off VM")
check("cannot lock 'db.prod-2'" in r.err, "lock of the shut-off VM: the refusal says lock", r.err)
r = vpcctl("lock", "web server 01", user=ALLOWED)
expect_failure(r, 5, "org.vpc.Error.AdditionsFeatureNotAvailable", "0xA0040505",
               "lock as vpc-allowed (group libvirt) passes polkit, the VM has no guest agent")
r = vpcctl("--no-ask-password", "lock", "web server 01", user=DENIED)
expect_failure(r, 10, "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired", "0x80070005",
               "lock --no-ask-password as vpc-denied")
r = vpcctl("lock", "nope")
expect_failure(r, 6, "org.vpc.Error.VmUnknown", "0xA0040207", "lock of an unknown VM")
r = vpcctl("lock")
check(r.rc == 2 and "lock takes VM names" in r.err, "lock without a VM: usage, exit 2", r)

# --- tasks, wait, cancel --------------------------------------------------------------------------
r = vpcctl("tasks")
check(r.rc == 0 and r.out.splitlines()[-1] == "0 tasks listed.", "tasks: none yet", r)
r = vpcctl("tasks", "--json")
check(r.rc == 0 and r.json() == [], "tasks --json: []", r)
r = vpcctl("wait", "4242")
check(r.rc == 6 and "org.freedesktop.DBus.Error.UnknownObject" in r.err and "/org/vpc/Task/4242" in r.err,
      "wait for an unknown task: exit 6, UnknownObject, the task's path", r)
r = vpcctl("cancel", "/org/vpc/Task/4242", "--json")
d = r.json()
check(r.rc == 6 and d and d["error"]["error_name"] == "org.freedesktop.DBus.Error.UnknownObject",
      "cancel --json of an unknown task: exit 6, JSON error", r)

# --- usage ----------------------------------------------------------------------------------------
for args, what in [((), "no command"), (("frobnicate",), "an unknown command"), (("logoff",), "logoff without VMs"),
                   (("logoff", "--all", "test"), "logoff --all with a VM"), (("--timeout", "-1", "list"), "a negative --timeout"),
                   (("wait", "abc"), "wait with a non-task"), (("status",), "status without a VM"),
                   (("--all", "list"), "--all with list")]:
    r = vpcctl(*args)
    check(r.rc == 2 and r.err.startswith("vpcctl: "), f"usage error ({what}): exit status 2 and a message", r)

# --- addresses and an unreachable service ------------------------------------------------------------
r = vpcctl("--address", os.environ["DBUS_SYSTEM_BUS_ADDRESS"], "-q", "list")
check(r.rc == 0 and r.out.splitlines() == sorted(DOMAINS), "--address of the bus: works", r)
r = vpcctl("--address", "unix:path=/nonexistent/bus", "list")
check(r.rc == 11 and "cannot connect" in r.err, "--address of no bus: exit 11 (unreachable)", r)
r = vpcctl("--address", "unix:path=/nonexistent/bus", "--json", "list")
d = r.json()
check(r.rc == 11 and d and d["error"]["exit_status"] == 11, "... and a JSON error with --json", r)
stopped = subprocess.run([ENVCTL, "daemon-stop"], capture_output=True, text=True)
check(stopped.returncode == 0, "the daemon stopped", stopped.stderr)
r = vpcctl("logoff", "web server 01")
check(r.rc == 11 and "org.freedesktop.DBus.Error.ServiceUnknown" in r.err and "vpc-guestosd running" in r.err,
      "daemon not running: exit 11, ServiceUnknown, a hint", r)
started = subprocess.run([ENVCTL, "daemon-start"], capture_output=True, text=True)
check(started.returncode == 0, "the daemon started again", started.stderr)

# --- monitor: VM events as libvirt changes ------------------------------------------------------------
mon = subprocess.Popen([VPCCTL, "monitor", "--json", "--timeout", "30"], stdout=subprocess.PIPE, text=True,
                       env={"DBUS_SYSTEM_BUS_ADDRESS": os.environ["DBUS_SYSTEM_BUS_ADDRESS"], "PATH": "/usr/bin:/bin"})
first = json.loads(mon.stdout.readline() or "{}")
check(first.get("event") == "monitoring", "monitor --json: first line says it is subscribed", first)
xml = os.path.join(os.environ["VPC_ENV_DIR"], "mon.xml")
with open(xml, "w") as f:
    f.write("<domain type='test'><name>mon vm</name><uuid>11111111-2222-3333-4444-00000000000c</uuid>"
            "<memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>")
for verb in (["define", xml], ["start", "mon vm"], ["destroy", "mon vm"], ["undefine", "mon vm"]):
    subprocess.run(["virsh", "-q", "-c", URI, *verb], check=True, capture_output=True)
    time.sleep(0.3)
events = []
deadline = time.monotonic() + 15
while time.monotonic() < deadline:
    line = mon.stdout.readline()
    if not line:
        break
    e = json.loads(line)
    if e.get("vm") == "mon vm":
        events.append((e["event"], e.get("state")))
    if e["event"] == "vm-removed" and e.get("vm") == "mon vm":
        break
mon.terminate()
mon.wait(timeout=10)
kinds = [k for k, _ in events]
check(kinds[:1] == ["vm-added"] and kinds[-1:] == ["vm-removed"] and ("vm-state", "running") in events
      and ("vm-state", "shutoff") in events, "monitor: added, running, shut off, removed, in order", events)

r = vpcctl("monitor", "--timeout", "0.5")
check(r.rc == 0 and r.out.split()[1] == "monitoring" and f"{len(DOMAINS)} VMs" in r.out, "monitor --timeout: text, ends with 0", r)

# --- bash completion asks the live service -------------------------------------------------------------
def complete(*words):
    script = (f"source {COMPLETION}; COMP_WORDS=({' '.join(repr(w) for w in (VPCCTL,) + words)}); "
              f"COMP_CWORD={len(words)}; _vpcctl; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
    p = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                       env={"DBUS_SYSTEM_BUS_ADDRESS": os.environ["DBUS_SYSTEM_BUS_ADDRESS"], "PATH": "/usr/bin:/bin"})
    return [x for x in p.stdout.splitlines() if x]


check(complete("lo") == ["logoff", "lock"], "completion of a command", complete("lo"))
check(complete("lock", "we") == ["web\\ server\\ 01"], "lock completes VM names too", complete("lock", "we"))
check(complete("logoff", "we") == ["web\\ server\\ 01"], "completion of a VM name from the service, shell-quoted",
      complete("logoff", "we"))
every = complete("status", "")
check(len(every) == len(DOMAINS) and {"db.prod-2", "paused-vm", "test", "web\\ server\\ 01"} <= set(every),
      "completion offers every VM", every)
check("--no-wait" in complete("logoff", "--no"), "completion of options", complete("logoff", "--no"))

finish()
