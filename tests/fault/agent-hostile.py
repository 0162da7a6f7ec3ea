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
GUESTOS = "org.vpc.GuestOS"


def os_name():
    return get_property(P, GUESTOS, "OSName")


def gui_reads(what):
    """GetAll on the GuestOS works for root and an unprivileged user; OSName has no raw control."""
    for user in (None, DENIED):
        r = call(P, "org.freedesktop.DBus.Properties", "GetAll", "s", (GUESTOS,), user=user)
        check(r.ok and isinstance(r.value.get("OSName"), str) and no_controls(r.value["OSName"])
              and isinstance(r.value.get("AgentConnected"), bool),
              f"{what}: GetAll on the GuestOS works for {user or 'root'}, OSName without raw controls", r)


# The fake connected in mode ok: its osinfo has a name and no pretty-name.
check(wait_until(lambda: os_name() == "Fake", 30), "OSName is read when the FAKE agent connects: its name", os_name())
check(get_property(P, GUESTOS, "AgentConnected") is True, "AgentConnected is true")


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
check(os_name() == "Fake", "the OSName a reconnection could not read (not UTF-8) keeps its value", os_name())
gui_reads("hostile guest-get-osinfo")

# --- ListUsers: guest-get-users answers bytes that are not UTF-8; the reconnection reads OSName ------
check(fake_mode("hostile-users"), "FAKE agent set to hostile-users")
rec = SignalRecorder()
r = call(P, GUESTOS, "ListUsers")
expect_error(r, "org.vpc.Error.Exception", "ListUsers on a guest-get-users that is not UTF-8")
check(r.error_message and "\\xff\\xfe" in r.error_message and no_controls(r.error_message),
      "... its message quotes libvirt's error with the bytes escaped", r.error_message)
# The fake reopens its port after such a reply: the reconnection reads OSName in the same mode.
e = rec.wait_for(lambda e: e[0] == P and e[2] == "PropertiesChanged" and str(e[3][1].get("OSName", "")).startswith("Evil"),
                 30)
name = os_name()
print(f"# OSName from the hostile osinfo: {name!r}")
check(e is not None and isinstance(name, str) and name.startswith("Evil ") and CONTROLS_SHOWN in name
      and no_controls(name), "OSName from a pretty-name with controls: PropertiesChanged, the controls escaped", name)
gui_reads("hostile OSName")
check(reconnected(), "the FAKE agent is reconnected")

# --- the task: guest-get-users answers bytes that are not UTF-8 (libvirt quotes the whole reply) -------
# libvirt quotes the reply as the guest sent it: the bytes, and the controls still as JSON escapes.
task_phase("hostile-users", "hostile guest-get-users", ["\\xff\\xfe", "\\xed\\xa0\\x80", "cannot parse json"])
check(reconnected(), "the FAKE agent is reconnected")

# --- the task: guest-exec fails with control characters in its error text ------------------------------
task_phase("hostile-exec", "hostile guest-exec error", ["guest-exec", "no exec for you", CONTROLS_SHOWN, "\\xc2\\x85"])

# ListUsers on guest-get-users with controls (valid UTF-8): answered, the controls escaped.
r = call(P, GUESTOS, "ListUsers")
check(r.ok and len(r.value) == 1 and r.value[0][0].startswith("evil") and CONTROLS_SHOWN in r.value[0][0]
      and no_controls(r.value[0][0]) and r.value[0][1] == "" and r.value[0][2] == 1000000,
      "ListUsers on a user name with controls: answered, the controls escaped, login time 1 s", r)
v = vpcctl("list")
check(v.returncode == 0 and no_controls(v.stdout), "vpcctl list still works", (v.returncode, v.stdout, v.stderr))

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
