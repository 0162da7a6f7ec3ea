"""Helpers of the fault-injection tests (suite 'fault'): the environment's processes by their pid
files (daemon, polkitd, libvirtd, dbus-daemon), envctl, the daemon's memory, and a flood client run
as another user. Builds on tests/lib/vpctest.py."""

import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from vpctest import *  # noqa: E402,F403

ENV_DIR = os.environ["VPC_ENV_DIR"]
SRC = os.environ["VPC_SOURCE_ROOT"]
ENVCTL = os.path.join(SRC, "tests", "lib", "envctl")
FLOOD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "flood-client.py")
ALLOWED = os.environ["VPC_ALLOWED_USER"]
DENIED = os.environ["VPC_DENIED_USER"]
OTHER = os.environ["VPC_OTHER_USER"]
# Under valgrind (10-sanitizers) everything the daemon does is ~20x slower: bounds on time grow.
SLOW = 4.0 if os.environ.get("VPC_DAEMON_WRAPPER") else 1.0


def pid_of(name):
    """pid from the environment's NAME.pid file, or None."""
    try:
        with open(os.path.join(ENV_DIR, f"{name}.pid")) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def alive(pid):
    if pid is None:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def daemon_running():
    return alive(pid_of("daemon")) and not os.path.exists(os.path.join(ENV_DIR, "daemon.status"))


def daemon_status(timeout=10):
    """The daemon's exit status once it has exited (the env's keeper records it), else None."""
    path = os.path.join(ENV_DIR, "daemon.status")
    if not wait_until(lambda: os.path.exists(path) and open(path).read().strip(), timeout * SLOW):
        return None
    return open(path).read().strip()


def polkitd_stalls():
    """How often polkitd's rule engine waited out its 15 s runaway-script timer (polkit 122's lost
    wakeup, docs/security.md): each time every check at polkitd waits 15 s."""
    try:
        with open(os.path.join(ENV_DIR, "polkitd.log"), errors="replace") as f:
            return f.read().count("Terminating runaway script")
    except OSError:
        return 0


POLKITD_STALL = 15.0    # polkit's RUNAWAY_KILLER_TIMEOUT


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def envctl(*args):
    # Files, not pipes: what envctl starts in the background (libvirtd's test-driver holder) keeps
    # its stderr open, and a pipe would never see EOF.
    import tempfile
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        r = subprocess.run([ENVCTL, *args], stdin=subprocess.DEVNULL, stdout=out, stderr=err, text=True)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if r.returncode != 0:
        print(f"# envctl {' '.join(args)} failed: {stderr.strip()[-500:]}")
    return r.returncode == 0, stdout.strip()


def daemon_log():
    return envctl("daemon-log")[1]


def signal_pid(pid, sig):
    try:
        os.kill(pid, sig)
        return True
    except (ProcessLookupError, TypeError):
        return False


def logoff(path, user=None, timeout=30):
    return call(path, "org.vpc.GuestOS", "Logoff", user=user, timeout=timeout)


def timed(f, *args, **kw):
    t0 = time.monotonic()
    r = f(*args, **kw)
    return r, time.monotonic() - t0


def in_thread(f, *args, **kw):
    """Runs f in a thread; returns a function that joins it (with a timeout) and gives the result."""
    import threading
    box = {}

    def run():
        box["r"] = f(*args, **kw)

    t = threading.Thread(target=run, daemon=True)
    t.start()

    def join(timeout=60):
        t.join(timeout)
        return box.get("r")
    return join


def flood(user, path, method, count, interface="org.vpc.GuestOS", signature="", args=(), exit_after_send=False,
          timeout=60, wait=True, sequential=False, started=False):
    """Runs tests/fault/flood-client.py as `user`: `count` calls sent at once on one connection.
    Returns its JSON summary (error names counted, latencies), or the Popen when wait is False.
    sequential: a probe, connected when this returns; probe_go() starts its calls. started: returns
    once the flood's calls are queued and being sent (with wait False)."""
    import pwd
    pw = pwd.getpwnam(user)
    req = {"path": path, "interface": interface, "method": method, "signature": signature, "args": list(args),
           "count": count, "exit_after_send": exit_after_send, "timeout": timeout, "sequential": sequential}
    cmd = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--init-groups", "--",
           "/usr/bin/python3", FLOOD, json.dumps(req)]
    env = {"DBUS_SYSTEM_BUS_ADDRESS": os.environ["DBUS_SYSTEM_BUS_ADDRESS"], "PATH": "/usr/bin:/bin", "HOME": "/"}
    p = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE if sequential else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if sequential or started:
        p.stdout.readline()     # "ready", "flooding" (or "" if it failed: flood_result() says why)
        return p
    if not wait:
        return p
    return flood_result(p, timeout + 30)


def probe_go(p):
    p.stdin.write("go\n")
    p.stdin.flush()


def flood_result(p, timeout=90):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": err.strip()[-1000:]}


def vpc_name_has_owner(name):
    return bool(bus().name_has_owner(name))
