#!/usr/bin/python3
"""vpcctl end to end, on one real guest (g1: alice and bob logged in): logoff in a pseudo-terminal
draws a progress bar and ends with "logged off", exit 0, and the users are gone; in a pipe it prints
plain progress lines; again with nobody logged on: exit 3 and 0x80070520; --all --json reports the
finished task; --no-wait then wait; --timeout (exit 9) then wait; cancel; monitor sees the task's
events; the commands of vpc-logoff@g1.service and vpc-logoff-all.service (systemd/, run as systemd
would, tests/lib/unitexec.py) exit 0, then 3, which the units count as success;
tasks lists them. lock on this guest (no systemd-logind): exit 5 with the reason, nobody logged off."""

import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from vpctest import *  # noqa: E402,F403
import unitexec  # noqa: E402
import vpcguest  # noqa: E402

VPCCTL = os.environ["VPCCTL"]
VM = "g1"
USERS = ["alice", "bob"]
ENV = {"DBUS_SYSTEM_BUS_ADDRESS": os.environ["DBUS_SYSTEM_BUS_ADDRESS"], "PATH": "/usr/bin:/bin",
       "LANG": "C.UTF-8", "TERM": "xterm"}


def vpcctl(*args, timeout=120):
    return subprocess.run([VPCCTL, *args], capture_output=True, text=True, env=ENV, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def users_are(expected, timeout=30):
    return wait_until(lambda: vpcguest.users(VM) == expected, timeout=timeout, interval=0.3)


def log_in_again():
    """alice and bob log in again, through the guest's own login helper (tests/guest/rootfs)."""
    vpcguest.sh(VM, "/etc/vpc-login alice pts/1 && /etc/vpc-login bob pts/2")
    return check(users_are(USERS), "alice and bob are logged on again", vpcguest.users(VM))


check(users_are(USERS), "the guest starts with alice and bob logged on", vpcguest.users(VM))

# --- lock: the guest has no logind, so exit 5 (no guest agent to do it) with the reason -----------
p = vpcctl("lock", VM)
check(p.returncode == 5 and "0xA0040505" in p.stderr and "org.vpc.Error.AdditionsFeatureNotAvailable" in p.stderr
      and "no systemd-logind" in p.stderr, "lock without logind: exit 5, the HRESULT, the name and why",
      (p.returncode, p.stdout, p.stderr))
check(vpcguest.users(VM) == USERS, "after vpcctl lock alice and bob are still logged on", vpcguest.users(VM))
p = vpcctl("lock")
check(p.returncode == 2 and "lock takes VM names" in p.stderr, "lock without a VM: usage, exit 2", (p.returncode, p.stderr))

# --- a terminal: the progress bar, then the final line --------------------------------------------
p = subprocess.run(["script", "-qefc", f"{VPCCTL} logoff {VM}", "/dev/null"], capture_output=True, env=ENV,
                   stdin=subprocess.DEVNULL, timeout=120)
out = p.stdout.decode("utf-8", "replace")
check(p.returncode == 0, "terminal: logoff exits 0", (p.returncode, out[-400:]))
bars = re.findall(r"\r\x1b\[K" + VM + r"  \[([#-]+)\] +(\d+)%  (/org/vpc/Task/\d+)", out)
check(len(bars) >= 1 and all(len(b[0]) == len(bars[0][0]) for b in bars), "terminal: a progress bar is drawn", out[-600:])
percents = [int(b[1]) for b in bars]
check(percents == sorted(percents) and all(b[0].count("#") == int(b[1]) * len(b[0]) // 100 for b in bars),
      "terminal: the bar fills with the percentage, never backwards", bars)
task = bars[0][2] if bars else "?"
final = out[out.rindex("\x1b[J"):] if "\x1b[J" in out else ""
check(f"{VM}  logged off ({task})" in final, "terminal: the bar is replaced by the final line", final)
check(users_are([]), "terminal: alice and bob are gone from the guest", vpcguest.users(VM))

# --- nobody left: exit 3 with the HRESULT ------------------------------------------------------------
r = vpcctl("logoff", VM)
check(r.returncode == 3 and "0x80070520" in r.stderr and "org.vpc.Error.NoSuchLogonSession" in r.stderr,
      "nobody logged on: exit 3, 0x80070520, NoSuchLogonSession", (r.returncode, r.stdout, r.stderr))

# --- a pipe: plain progress lines ---------------------------------------------------------------------
log_in_again()
r = vpcctl("logoff", VM)
lines = r.stdout.splitlines()
check(r.returncode == 0 and "\x1b" not in r.stdout and "\r" not in r.stdout, "pipe: exit 0, no escape sequences", r)
m = re.fullmatch(rf"{VM}: task (/org/vpc/Task/\d+)", lines[0] if lines else "")
check(m is not None, "pipe: the first line names the task", lines)
steps = [int(x.group(1)) for x in (re.fullmatch(rf"{VM}: (\d+)%", line) for line in lines[1:-1]) if x]
check(len(steps) == len(lines) - 2 and steps == sorted(steps), "pipe: progress lines in between, rising", lines)
check(m and lines[-1] == f"{VM}: logged off ({m.group(1)}, 100%)", "pipe: the last line says logged off", lines)
check(users_are([]), "pipe: the users are gone", vpcguest.users(VM))

# --- --all --json, with monitor watching ------------------------------------------------------------
log_in_again()
mon = subprocess.Popen([VPCCTL, "monitor", "--json", "--timeout", "120"], stdout=subprocess.PIPE, text=True, env=ENV)
check(json.loads(mon.stdout.readline() or "{}").get("event") == "monitoring", "monitor is subscribed")
r = vpcctl("logoff", "--all", "--json")
try:
    d = json.loads(r.stdout)
except ValueError:
    d = {}
res = d.get("results", [{}])
check(r.returncode == 0 and d.get("exit_status") == 0 and len(res) == 1, "--all --json: one result, exit 0", r)
x = res[0]
check(x.get("vm") == VM and x.get("complete") is True and x.get("percent") == 100 and x.get("error_code") == 0
      and x.get("hresult") == "0x00000000" and x.get("error_name") == "" and str(x.get("task")).startswith("/org/vpc/Task/"),
      "--all --json: g1 complete, 100 %, 0x00000000, with its task", x)
events = []
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    line = mon.stdout.readline()
    if not line:
        break
    e = json.loads(line)
    if e.get("task") == x.get("task"):
        events.append(e)
        if e["event"] == "task-completed":
            break
mon.terminate()
mon.wait(timeout=10)
kinds = [e["event"] for e in events]
check(kinds[:1] == ["task-added"] and kinds[-1:] == ["task-completed"] and events[-1].get("error_code") == 0
      and all(e.get("vm") == VM for e in events), "monitor: task-added ... task-completed(0) for g1", events)

# --- --no-wait, then wait ---------------------------------------------------------------------------
log_in_again()
r = vpcctl("--no-wait", "logoff", VM)
m = re.fullmatch(rf"{VM}: task (/org/vpc/Task/(\d+))\n", r.stdout)
check(r.returncode == 0 and m is not None, "--no-wait: prints the task and returns 0", r)
if m:
    w = vpcctl("wait", m.group(2), "--json")
    try:
        d = json.loads(w.stdout)
    except ValueError:
        d = {}
    res = d.get("results", [{}])[0]
    check(w.returncode == 0 and res.get("task") == m.group(1) and res.get("complete") is True
          and res.get("details", {}).get("description") == "Logoff" and res.get("vm") == VM,
          "wait N --json: the task ends with 0, labelled with its VM", w)
check(users_are([]), "--no-wait + wait: the users are gone", vpcguest.users(VM))

# --- --timeout: vpcctl stops waiting, the task goes on ----------------------------------------------
log_in_again()
r = vpcctl("--timeout", "0.1", "logoff", VM)
m = re.search(r"still running at \d+%: (/org/vpc/Task/(\d+)) \(vpcctl wait \2\)", r.stderr)
check(r.returncode == 9 and m is not None, "--timeout 0.1: exit 9, the task named as still running", r)
if m:
    w = vpcctl("wait", m.group(1))
    check(w.returncode == 0 and w.stdout.splitlines()[-1:] == [f"{VM}: logged off ({m.group(1)}, 100%)"],
          "wait PATH: the task went on and ends with 0", w)
check(users_are([]), "--timeout + wait: the users are gone", vpcguest.users(VM))

# --- cancel: whether it catches the task running or just after, it succeeds ----------------------------
log_in_again()
r = vpcctl("--no-wait", "logoff", VM)
m = re.fullmatch(rf"{VM}: task (/org/vpc/Task/(\d+))\n", r.stdout)
if check(m is not None, "a task to cancel", r):
    c = vpcctl("cancel", m.group(2), "--json")
    try:
        d = json.loads(c.stdout)
    except ValueError:
        d = {}
    res = d.get("results", [{}])[0]
    check(c.returncode == 0 and res.get("complete") is True
          and res.get("error_name") in ("", "org.vpc.Error.Cancelled"),
          "cancel: exit 0; the task ended, cancelled (0x800704C7) or already done", c)
    print(f"# cancel found the task {'running' if res.get('error_name') else 'already done'}")
    # Cancel starts nothing new, but a logoff program already started in the guest runs to its end
    # (docs/logoff.md, "Cancel"): wait for it, or it ends the sessions the next test logs in.
    check(wait_until(lambda: vpcguest.guest_exec(VM, ["/bin/sh", "-c", "! grep -l 'linux_[p]lain' /proc/[0-9]*/cmdline"])[0] == 0,
                     60, interval=0.3),
          "no logoff program left running in the guest after the cancel")

# --- the logoff units (systemd/): their commands as systemd runs them, and what their exit statuses mean ---
ONE = os.path.join(os.environ["VPC_UNIT_DIR"], "vpc-logoff@.service")
ALL = os.path.join(os.environ["VPC_UNIT_DIR"], "vpc-logoff-all.service")
log_in_again()
argv = unitexec.exec_argv(ONE, unitexec.escape_instance("vpc-logoff@.service", VM)[0])
r = vpcctl(*argv[1:])
check(argv[-1] == VM and r.returncode == 0 and unitexec.succeeds(ONE, 0) and users_are([]),
      "vpc-logoff@g1.service's command logs g1 off: exit 0, the unit succeeds", r)
r = vpcctl(*argv[1:])
check(r.returncode == 3 and unitexec.succeeds(ONE, 3), "again with nobody logged on: exit 3, which the unit counts as success",
      r)
log_in_again()
argv = unitexec.exec_argv(ALL, "vpc-logoff-all.service")
r = vpcctl(*argv[1:])
try:
    d = json.loads(r.stdout)
except ValueError:
    d = {}
check(r.returncode == 0 and d.get("exit_status") == 0 and [x["vm"] for x in d.get("results", [])] == [VM],
      "vpc-logoff-all.service's command logs g1 off: exit 0, JSON", r)
r = vpcctl(*argv[1:])
check(r.returncode == 3 and unitexec.succeeds(ALL, 3), "run again with nobody logged on: exit 3, which the unit counts as success",
      r)

r = vpcctl("-q", "tasks")
paths = r.stdout.split()
check(r.returncode == 0 and len(paths) >= 8 and all(re.fullmatch(r"/org/vpc/Task/\d+", x) for x in paths),
      "tasks -q: the task paths only", r.stdout)
completion = subprocess.run(["bash", "-c", f"source {os.environ['VPC_SOURCE_ROOT']}/client/vpcctl.bash-completion; "
                             f"COMP_WORDS=({VPCCTL} wait ''); COMP_CWORD=2; _vpcctl; echo ${{COMPREPLY[@]}}"],
                            capture_output=True, text=True, env=ENV).stdout.split()
check(sorted(completion, key=int) == [x.rsplit("/", 1)[1] for x in paths], "completion of wait offers the task numbers",
      completion)
r = vpcctl("tasks")
check(r.returncode == 0 and "done 0x00000000" in r.stdout and "failed 0x80070520 org.vpc.Error.NoSuchLogonSession" in r.stdout,
      "tasks: the finished tasks with their results", r.stdout)
finish()
