#!/usr/bin/python3
"""A hostile guest agent (issue 13, defect 2): in a real QEMU guest a FAKE agent (tests/fault/
fake-agent.sh, mode "hostile") replaces qemu-ga and answers guest-get-osinfo and guest-get-users with
bytes that are not UTF-8 and with control characters, and fails guest-exec with such an error text,
which libvirt copies into its error message. Every call is answered; the task ends with Exception and
an ErrorMessage that reads back (valid UTF-8, the bytes escaped); GetAll on it, GetManagedObjects on
/org/vpc (root and an unprivileged user) and `vpcctl list`/`tasks` keep working; Completed is
emitted with the same message; the audit line carries no raw control character. Before the boundary
the task's properties could not be serialized: GetAll and GetManagedObjects failed for every client
and Completed was lost."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultenv import *  # noqa: E402,F403
import vpcguest  # noqa: E402

G = "h1"
P = encode_path(G)
FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake-agent.sh")
VPCCTL = os.environ["VPCCTL"]
CONTROLS = [chr(c) for c in range(0x20) if c not in (0x0a,)] + ["\x7f", "\x85", "\x9b"]


def fake_mode(mode, timeout=5, quiet=False):
    try:
        return vpcguest.agent(G, "fake-mode", {"mode": mode, "users": ""}, timeout=timeout) == {}
    except RuntimeError as e:
        if not quiet:
            print(f"# fake-mode {mode}: {e}")
        return False


def vpcctl(*args):
    return subprocess.run([VPCCTL, *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                          env={"DBUS_SYSTEM_BUS_ADDRESS": os.environ["DBUS_SYSTEM_BUS_ADDRESS"],
                               "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})


def no_controls(s):
    return not any(c in s for c in CONTROLS)


with open(FAKE) as f:
    fake_script = f.read()
vpcguest.sh(G, "cat >/run/fake-agent.sh <<'FAKE_AGENT_EOF'\n" + fake_script + "FAKE_AGENT_EOF\n")
vpcguest.sh(G, "touch /run/qemu-ga.disabled; (sleep 1; kill $(pidof qemu-ga); sleep 1; "
               "exec /bin/sh /run/fake-agent.sh) </dev/null >/dev/console 2>&1 &")
time.sleep(2)
check(wait_until(lambda: fake_mode("ok", timeout=2), 30), f"the FAKE agent answers in {G} in place of qemu-ga")
CONTROLS_SHOWN = "\\x1b[31m"


def reconnected():
    return wait_until(lambda: fake_mode("ok", timeout=2, quiet=True), 60)


def task_phase(mode, what, expect_in_message):
    """Logoff with the fake in mode: a task that ends with Exception; everything else keeps working."""
    check(fake_mode(mode), f"FAKE agent set to {mode}")
    rec = SignalRecorder()
    r, t = timed(logoff, P)
    check(r.ok, f"{what}: Logoff is answered with a task ({t:.2f} s)", r)
    task = r.value if r.ok else "/org/vpc/Task/0"
    w = call(task, "org.vpc.Task", "WaitForCompletion", "i", (30000,), timeout=40)
    check(w.ok and w.value is True, f"{what}: the task completes", w)
    name = get_property(task, "org.vpc.Task", "ErrorName")
    check(name == "org.vpc.Error.Exception", f"{what}: ... with Exception", name)
    message = get_property(task, "org.vpc.Task", "ErrorMessage")
    check(isinstance(message, str) and message.startswith("0x80020009: "), f"{what}: its ErrorMessage reads back",
          message)
    if isinstance(message, str):
        print(f"# {what}: ErrorMessage {message[:300]!r}")
        check(all(x in message for x in expect_in_message),
              f"{what}: ... with the guest's text escaped ({', '.join(expect_in_message)})", message)
        check(no_controls(message), f"{what}: ... and no raw control character", message)
    r = call(task, "org.freedesktop.DBus.Properties", "GetAll", "s", ("org.vpc.Task",))
    check(r.ok and r.value.get("ErrorMessage") == message, f"{what}: GetAll on the task works", r)
    for user in (None, DENIED):
        r = call(MANAGER, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", user=user)
        check(r.ok and task in r.value and P in r.value,
              f"{what}: GetManagedObjects works for {user or 'root'} and lists the task",
              r if not r.ok else sorted(r.value))
    v = vpcctl("list")
    check(v.returncode == 0 and G in v.stdout, f"{what}: vpcctl list works", (v.returncode, v.stdout, v.stderr))
    v = vpcctl("tasks")
    check(v.returncode == 0 and task in v.stdout and no_controls(v.stdout), f"{what}: vpcctl tasks works",
          (v.returncode, v.stdout, v.stderr))
    done = rec.wait_for(lambda e: e[0] == task and e[2] == "Completed", 10)
    check(done is not None and done[3][1] == "org.vpc.Error.Exception" and done[3][2] == message,
          f"{what}: Completed was emitted with the same error", done)
    ended = [line for line in daemon_log().splitlines() if "event=task-end" in line and f"task={task} " in line]
    check(ended and no_controls(ended[-1]), f"{what}: the audit line of the task's end has no raw control",
          ended[-1:])


# --- the check: guest-get-osinfo answers bytes that are not UTF-8 ---------------------------------------
check(fake_mode("hostile-osinfo"), "FAKE agent set to hostile-osinfo")
r, t = timed(logoff, P)
expect_error(r, "org.vpc.Error.Exception", f"hostile guest-get-osinfo: the Logoff is answered ({t:.2f} s)")
check(r.error_message and "\\xff\\xfe" in r.error_message and no_controls(r.error_message),
      "... its message quotes libvirt's error with the bytes escaped", r.error_message)
print(f"# hostile-osinfo: {r.error_message!r}"[:400])
check(reconnected(), "the FAKE agent is reconnected")

# --- the task: guest-get-users answers bytes that are not UTF-8 (libvirt quotes the whole reply) -------
# libvirt quotes the reply as the guest sent it: the bytes, and the controls still as JSON escapes.
task_phase("hostile-users", "hostile guest-get-users", ["\\xff\\xfe", "\\xed\\xa0\\x80", "cannot parse json"])
check(reconnected(), "the FAKE agent is reconnected")

# --- the task: guest-exec fails with control characters in its error text ------------------------------
task_phase("hostile-exec", "hostile guest-exec error", ["guest-exec", "no exec for you", CONTROLS_SHOWN, "\\xc2\\x85"])

# The next Logoff, after the guest behaves, works as usual.
check(fake_mode("ok"), "FAKE agent back to ok")
r = logoff(P)
check(r.ok, "the next Logoff starts a task", r)
if r.ok:
    call(r.value, "org.vpc.Task", "WaitForCompletion", "i", (30000,), timeout=40)
    check(get_property(r.value, "org.vpc.Task", "ErrorName") == "org.vpc.Error.NoSuchLogonSession",
          "... which ends as usual (the fake lists nobody)")
check(daemon_running(), "the daemon runs on")
finish()
