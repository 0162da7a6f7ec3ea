#!/usr/bin/python3
"""vpcctl on a terminal: run in a pseudo-terminal by script(1), logoff redraws its per-VM lines in
place (cursor up, clear) and ends with each VM's outcome; run in tmux, the final screen holds exactly
those outcome lines even where they wrap; a denial on a terminal (pkttyagent started, no login
session here to register it for) still shows the HRESULT; list looks the same as in a pipe.
The progress bar of a running task needs a real guest: tests/e2e/vpcctl.py."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vpctest import *  # noqa: E402,F403

VPCCTL = os.environ["VPCCTL"]
BUS = os.environ["DBUS_SYSTEM_BUS_ADDRESS"]
SOCK = os.path.join(os.environ["VPC_ENV_DIR"], "tmux.sock")
RUNNING = ["test", "web server 01", "ünïcode-vm"]
AGENTLESS = "[org.vpc.Error.AdditionsFeatureNotAvailable]"
ENV = {"DBUS_SYSTEM_BUS_ADDRESS": BUS, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TERM": "xterm"}

# --- script(1): the bytes vpcctl writes to a terminal ------------------------------------------------
# Bytes, not text: universal newlines would turn the \r of the redraw into \n.
p = subprocess.run(["script", "-qefc", f"{VPCCTL} logoff --all", "/dev/null"], capture_output=True,
                   env=ENV, stdin=subprocess.DEVNULL, timeout=60)
out = p.stdout.decode("utf-8", "replace")
check(p.returncode == 5, "script: logoff --all exits 5 (no guest agent in the test driver)", (p.returncode, out[-300:]))
check("\x1b[3A" in out and "\x1b[J" in out, "script: the 3 lines are redrawn in place (cursor up 3, clear below)",
      out[-500:])
check(out.count("\r\x1b[K") >= 6, "script: each line is cleared before it is drawn", out.count("\r\x1b[K"))
final = out[out.rindex("\x1b[J"):]
for name in RUNNING:
    check(f"{name}  " in final and f"cannot log off '{name}'" in final,
          f"script: the final lines name {name!r} and its error", final)
check(final.count("failed: 0xA0040505: ") == 3 and final.count(AGENTLESS) == 3,
      "script: each final line has the HRESULT and the D-Bus error name", final)


# --- tmux: what the user sees -----------------------------------------------------------------------
def tmux(*args):
    return subprocess.run(["tmux", "-S", SOCK, *args], capture_output=True, text=True, env=ENV)


def screen(session, columns, command):
    """Runs COMMAND in a new tmux window COLUMNS wide; returns the screen, wrapped lines joined."""
    r = tmux("new-session", "-d", "-x", str(columns), "-y", "40", "-s", session, command + "; echo rc=$?; sleep 60")
    check(r.returncode == 0, f"tmux session {session} started", r.stderr)
    text = ""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = tmux("capture-pane", "-p", "-J", "-t", session).stdout
        if "rc=" in text:
            break
        time.sleep(0.1)
    tmux("kill-session", "-t", session)
    return [line.rstrip() for line in text.splitlines() if line.strip()]


# One idle session keeps the tmux server up between screens: when the last session goes, the server
# exits, and a new-session racing with that exit fails with "server exited unexpectedly".
check(tmux("new-session", "-d", "-s", "keep", "sleep 600").returncode == 0, "tmux server started")
env_prefix = f"env DBUS_SYSTEM_BUS_ADDRESS={BUS} LANG=C.UTF-8"
lines = screen("all", 70, f"{env_prefix} {VPCCTL} logoff --all")
check(len(lines) == 4 and lines[-1] == "rc=5", "tmux: logoff --all leaves 3 result lines and exit status 5", lines)
for line, name in zip(lines, RUNNING):
    check(line.startswith(name + " ") and line.endswith(AGENTLESS) and "failed: 0xA0040505: cannot log off" in line,
          f"tmux: {name!r}'s line, wrapped at 70 columns, is whole and clean", line)

lines = screen("denied", 100, f"setpriv --reuid=vpc-denied --regid=vpc-denied --init-groups -- {env_prefix} "
                              f"{VPCCTL} logoff 'web server 01'")
check(lines[-1:] == ["rc=10"], "tmux: vpc-denied on a terminal: exit 10", lines)
check(any("0x80070005" in line and "org.freedesktop.DBus.Error.AccessDenied" in line for line in lines),
      "tmux: the denial shows the HRESULT and the error name", lines)
lines = screen("noask", 100, f"setpriv --reuid=vpc-denied --regid=vpc-denied --init-groups -- {env_prefix} "
                             f"{VPCCTL} --no-ask-password logoff 'web server 01'")
check(lines[-1:] == ["rc=10"] and any("InteractiveAuthorizationRequired" in line for line in lines),
      "tmux: --no-ask-password on a terminal: InteractiveAuthorizationRequired, exit 10", lines)

piped = subprocess.run([VPCCTL, "list"], capture_output=True, text=True, env=ENV).stdout.splitlines()
lines = screen("list", 100, f"{env_prefix} {VPCCTL} list")
check(lines[:-1] == [x.rstrip() for x in piped if x.strip()] and lines[-1] == "rc=0",
      "tmux: list on a terminal shows the same table as in a pipe", lines)
tmux("kill-server")
finish()
