#!/usr/bin/python3
"""vpcctl on a terminal shows service text escaped (issue 13, defect 5): a VM whose name holds a tab,
a C1 control (U+009B, CSI on terminals that take 8-bit controls) and a right-to-left override
(U+202E), and messages that quote such names, come out as \\x09, \\x9b and \\u202e in list, status,
logoff's lines and errors, monitor, and on a real terminal (tmux) no colour or reordering happens;
--json keeps the exact name. Real daemon, libvirtd's test driver."""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vpctest import *  # noqa: E402,F403

VPCCTL = os.environ["VPCCTL"]
URI = os.environ["VPC_LIBVIRT_URI"]
BUS = os.environ["DBUS_SYSTEM_BUS_ADDRESS"]
ENV = {"DBUS_SYSTEM_BUS_ADDRESS": BUS, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TERM": "xterm"}
SOCK = os.path.join(os.environ["VPC_ENV_DIR"], "tmux-escape.sock")
EVIL = "evil\t\u009b31m\u202egnp.exe"
SHOWN = "evil\\x09\\x9b31m\\u202egnp.exe"
RAW = ("\t", "\u009b", "\u202e", "\x1b")


def vpcctl(*args, timeout=60):
    return subprocess.run([VPCCTL, *args], env=ENV, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def clean(text):
    """No raw control or reordering character of the hostile name (tabs vpcctl writes itself: none)."""
    return not any(c in text for c in RAW)


xml = os.path.join(os.environ["VPC_ENV_DIR"], "evil.xml")
with open(xml, "w", encoding="utf-8") as f:
    f.write("<domain type='test'><name>evil&#9;\u009b31m\u202egnp.exe</name>"
            "<uuid>11111111-2222-3333-4444-0000000000ee</uuid><memory unit='MiB'>64</memory>"
            "<os><type arch='x86_64'>hvm</type></os></domain>")
mon = subprocess.Popen([VPCCTL, "monitor", "--timeout", "20"], stdout=subprocess.PIPE, text=True, env=ENV)
time.sleep(1)
d = subprocess.run(["virsh", "-q", "-c", URI, "define", xml], capture_output=True, text=True)
check(d.returncode == 0, "libvirt takes a name with a tab, U+009B and U+202E", d.stderr)
subprocess.run(["virsh", "-q", "-c", URI, "start", EVIL], capture_output=True, text=True)
r = call(MANAGER, "org.vpc.Manager", "GetGuestOS", "s", (EVIL,))
check(wait_until(lambda: call(MANAGER, "org.vpc.Manager", "GetGuestOS", "s", (EVIL,)).ok, 10),
      "the daemon has the VM (its Name is exact on the bus)")

# --- list, list --json, status ------------------------------------------------------------------------
r = vpcctl("list")
row = [line for line in r.stdout.splitlines() if line.startswith("evil")]
check(r.returncode == 0 and row and row[0].startswith(SHOWN + " "), "list: the name is shown escaped", row or r.stdout)
check(clean(r.stdout), "list: no raw control or bidi character reaches the output", r.stdout)
r = vpcctl("list", "--no-legend")
widths = {len(line[:line.rindex(" ") + 1]) for line in r.stdout.splitlines()}
check(len(widths) == 1, "list: columns line up with the escaped name", r.stdout)
r = vpcctl("list", "--json")
names = [g.get("name") for g in json.loads(r.stdout)] if r.returncode == 0 else []
check(EVIL in names, "list --json: the exact name, control characters included", names)
r = vpcctl("status", EVIL)
check(r.returncode == 0 and r.stdout.splitlines()[0] == SHOWN and clean(r.stdout), "status: the name escaped", r.stdout)
r = vpcctl("status", "--json", EVIL)
check(r.returncode == 0 and json.loads(r.stdout).get("name") == EVIL, "status --json: the exact name", r.stdout)

# --- errors and logoff's lines quote names the service sent -----------------------------------------------
r = vpcctl("logoff", EVIL)
check(r.returncode == 5 and SHOWN in r.stderr and clean(r.stderr + r.stdout),
      "logoff (no agent in the test driver): label and message escaped", r.stderr)
r = vpcctl("status", "\u202eno-such-vm\t")
check(r.returncode == 6 and "\\u202eno-such-vm" in r.stderr and clean(r.stderr),
      "status of an unknown name: the service's message quotes it, vpcctl escapes it", r.stderr)
r = vpcctl("logoff", "--json", EVIL)
d = json.loads(r.stdout) if r.stdout.strip() else {}
check([x.get("vm") for x in d.get("results", [])] == [EVIL], "logoff --json: the exact name", r.stdout)

# --- monitor ----------------------------------------------------------------------------------------------
subprocess.run(["virsh", "-q", "-c", URI, "destroy", EVIL], capture_output=True)
time.sleep(1)
mon.terminate()
out = mon.communicate(timeout=10)[0]
check(SHOWN in out and clean(out), "monitor: events about the VM name it escaped", out[-600:])

# --- tmux: what the user sees ----------------------------------------------------------------------------
def tmux(*args):
    return subprocess.run(["tmux", "-S", SOCK, *args], capture_output=True, text=True, env=ENV)


r = tmux("new-session", "-d", "-x", "120", "-y", "20", "-s", "esc",
         f"env DBUS_SYSTEM_BUS_ADDRESS={BUS} LANG=C.UTF-8 {VPCCTL} list; echo rc=$?; sleep 60")
check(r.returncode == 0, "tmux session started", r.stderr)
screen = styled = ""
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    screen = tmux("capture-pane", "-p", "-t", "esc").stdout
    if "rc=" in screen:
        break
    time.sleep(0.1)
# -e: with the cells' attributes as escape sequences; a colour would show up as one.
styled = tmux("capture-pane", "-p", "-e", "-t", "esc").stdout
tmux("kill-server")
check(any(line.startswith(SHOWN + " ") for line in screen.splitlines()), "tmux: the row reads the escaped name",
      screen)
check("rc=0" in screen and "\x1b[31m" not in styled and "\x1b[" not in styled.replace("\x1b[0m", "").replace("\x1b[39m", ""),
      "tmux: nothing on screen is coloured or moved by the name", styled)
finish()
