"""Reaching the inside of a test guest (tests/guest) from the tests: through its qemu-ga, via
libvirt (`virsh qemu-agent-command`), independently of the daemon under test. guest_exec() runs a
program of the test's own (a fixed argv) with guest-exec and returns its exit status and output;
it works only while the agent runs, so tests read what they need before they stop or freeze it."""

import base64
import json
import os
import subprocess
import time

URI = os.environ.get("VPC_GUEST_URI", "qemu:///system")


def agent(name, command, args=None, timeout=10):
    """One guest-agent command; returns the parsed "return" value, or raises RuntimeError."""
    doc = {"execute": command}
    if args is not None:
        doc["arguments"] = args
    r = subprocess.run(["virsh", "-c", URI, "qemu-agent-command", "--timeout", str(timeout), name,
                        json.dumps(doc)], capture_output=True, text=True, timeout=timeout + 20)
    if r.returncode != 0:
        raise RuntimeError(f"{command} on {name}: {r.stderr.strip()}")
    return json.loads(r.stdout)["return"]


def users(name):
    """The user names guest-get-users lists, sorted (a user with two sessions appears once)."""
    return sorted({u["user"] for u in agent(name, "guest-get-users")})


def guest_exec(name, argv, timeout=60):
    """Runs argv in the guest and waits for it: (exit code, stdout, stderr). -1 if signalled."""
    pid = agent(name, "guest-exec", {"path": argv[0], "arg": list(argv[1:]), "capture-output": True})["pid"]
    end = time.monotonic() + timeout
    while True:
        st = agent(name, "guest-exec-status", {"pid": pid})
        if st.get("exited"):
            out = base64.b64decode(st.get("out-data", "")).decode(errors="replace")
            err = base64.b64decode(st.get("err-data", "")).decode(errors="replace")
            return st.get("exitcode", -1), out, err
        if time.monotonic() > end:
            raise RuntimeError(f"{argv} did not end in {timeout} s in {name}")
        time.sleep(0.1)


def sh(name, script, timeout=60):
    """guest_exec of /bin/sh -c SCRIPT; returns stdout, raises on a non-zero exit."""
    rc, out, err = guest_exec(name, ["/bin/sh", "-c", script], timeout)
    if rc != 0:
        raise RuntimeError(f"sh -c {script!r} in {name}: exit {rc}: {err.strip()}")
    return out


def processes_of(name, uids):
    """PIDs (with their state letter) of live processes whose real uid is in uids."""
    out = sh(name, "for s in /proc/[0-9]*/status; do "
                   "printf '%s %s %s\\n' \"${s#/proc/}\" \"$(sed -n 's/^Uid:[[:space:]]*\\([0-9]*\\).*/\\1/p' $s)\" "
                   "\"$(sed -n 's/^State:[[:space:]]*\\(.\\).*/\\1/p' $s)\"; done 2>/dev/null; true")
    found = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) in uids:
            found.append((int(parts[0].split("/")[0]), parts[2]))
    return found


def utmp_users(name):
    """The USER_PROCESS records of the guest's utmp as `who` shows them (user and line)."""
    return sorted(tuple(l.split()[:2]) for l in sh(name, "who").splitlines() if l.strip())
