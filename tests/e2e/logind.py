#!/usr/bin/python3
"""End to end on the systemd guest tier (s1: Debian 12, systemd-logind; alice and root logged in
through PAM at boot, dave lingering with his own service): what a user of the guest would see.
- Lock as the authorized group member: each logind session receives logind's Lock signal (a bus
  monitor in the guest records them), the task ends with Completed(0), nobody is logged off.
- Logoff as root and as the authorized group member, with a session left "closing" (bob logged out
  and left a process behind) beside the open ones (and, as root, carol's sshd key login): Progress up to 100, Completed(0), no session left
  in loginctl, guest-get-users and utmp empty, no process of the sessions left, qemu-ga and the
  system services still running, dave's own service left alone.
- Logoff with nobody logged on: NoSuchLogonSession.
- A session whose processes ignore SIGTERM: ended by logind's escalation to SIGKILL (the guest's
  stop timeout is 10 s, within --logoff-timeout), or Timeout when it outlives --logoff-timeout
  (the daemon restarted with --logoff-timeout 4), after which logind still ends it.
- A user the guest logs straight back in (a getty with autologin): his session ends, a new one
  starts by itself; the program reports the autologin, the daemon waits for him to come back, and
  the task ends with Timeout naming him (the daemon restarted with --logoff-timeout 20)."""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import *  # noqa: E402,F403
import vpclogind  # noqa: E402

VM = "s1"
UIDS = vpclogind.UIDS
ENVCTL = os.path.join(os.environ["VPC_SOURCE_ROOT"], "tests", "lib", "envctl")


def logoff_task(user, what):
    """Logoff as `user` (None: root); (task path or None, Completed args or None, SignalRecorder)."""
    rec = SignalRecorder()
    t0 = time.monotonic()
    r = logoff(VM, user=user)
    check(r.ok and str(r.value).startswith("/org/vpc/Task/"), f"{what}: Logoff returns a task", r)
    if not r.ok:
        return None, None, rec
    c = completed(rec, r.value, 90)
    elapsed = time.monotonic() - t0
    print(f"# {what}: Logoff took {elapsed:.2f} s from the call to Completed")
    if elapsed > 8:     # say why (a stop job's escalation shows in the guest's journal)
        print(vpcguest.sh(VM, "journalctl -b --no-pager -n 400 | grep -E 'Stopping|timed out|Killing' | tail -n 12 | "
                              "sed 's/^/# guest: /'", timeout=60))
    return r.value, c, rec


def check_guest_left_alone(what):
    """The agent and the guest's system services run; dave's own service (not a login) too."""
    states = vpclogind.units_state(VM, vpclogind.SYSTEM_SERVICES + [f"user@{UIDS['dave']}.service"])
    check(all(s == "active" for s in states.values()),
          f"{what}: qemu-ga, dbus, logind, journald, udevd, sshd and dave's user manager still run", states)
    worker = vpclogind.cgroup_processes(VM, "/vpc-worker.service")
    check(len(worker) == 1, f"{what}: dave's own service (lingering, no session) still runs", worker)


def check_all_gone(users, what):
    """No session in loginctl (the closing one included), no user in guest-get-users or utmp, no
    process in a session scope, no process of the (non-root) users left."""
    ok, left = vpclogind.wait(lambda: vpclogind.sessions(VM), lambda v: v == [], 30)
    if not check(ok, f"{what}: loginctl lists no session, not even a closing one", left):
        print(vpcguest.sh(VM, "systemctl status --no-pager 'session-*.scope' 'vpc-login-*' 2>&1 | tail -40; "
                              "journalctl -b --no-pager | grep -v guest-exec | tail -40", timeout=60))
    # PID 1 writes the DEAD_PROCESS record when the session's shell is gone: allow it a moment.
    ok, got = vpclogind.wait(lambda: vpcguest.users(VM), lambda v: v == [], 10)
    check(ok, f"{what}: guest-get-users lists nobody", got)
    check(vpcguest.utmp_users(VM) == [], f"{what}: the guest's utmp (who) has no session", vpcguest.utmp_users(VM))
    ok, procs = vpclogind.wait(lambda: vpclogind.session_processes(VM), lambda v: v == [], 20)
    check(ok, f"{what}: no process is left in any session scope", procs)
    uids = {UIDS[u] for u in users if u != "root"}
    # With UserStopDelaySec=0 the users' managers (user@UID.service) stop with their last session.
    ok, procs = vpclogind.wait(lambda: vpclogind.processes_of(VM, uids), lambda v: v == [], 30)
    check(ok, f"{what}: no process of {sorted(u for u in users if u != 'root')} is left", procs)
    check_guest_left_alone(what)


def logoff_ends_everything(user, what, users):
    task, c, rec = logoff_task(user, what)
    if task is None:
        return
    check(c == [0, "", ""], f"{what}: the task ends with Completed(0, \"\", \"\")", c)
    progress = progress_values(rec, task)
    check(len(progress) >= 1 and progress[-1] == 100 and progress == sorted(progress),
          f"{what}: Progress signals rise to 100", progress)
    check_all_gone(users, what)


def logged_in(expected_sessions, users, what):
    """The guest shows these sessions: {user: state}, and guest-get-users lists `users`."""
    got = {s["Name"]: s["State"] for s in vpclogind.sessions(VM)}
    check(got == expected_sessions, f"{what}: loginctl lists {expected_sessions}", got)
    check(wait_users(VM, users) == sorted(users), f"{what}: guest-get-users lists {sorted(users)}",
          vpcguest.users(VM))


# --- Lock: logind sends Lock to every session, nobody is logged off ---------------------------------
LOCK_MATCH = "type='signal',interface='org.freedesktop.login1.Session',member='Lock'"
READY_MATCH = "type='signal',interface='org.vpc.Test',member='Ready'"
LOCK_SEEN = "/run/vpc-lock-signals"


def session_paths(session_ids):
    """logind's object paths of these sessions, in one guest-exec."""
    out = vpcguest.sh(VM, "".join(f"busctl call org.freedesktop.login1 /org/freedesktop/login1 "
                                  f"org.freedesktop.login1.Manager GetSession s {i}; " for i in session_ids))
    return sorted(line.split('"')[1] for line in out.splitlines() if '"' in line)


def start_lock_listener():
    """A bus monitor in the guest (the test's own program, started through qemu-ga) that records
    logind's Lock signals; ready once it has seen a marker signal of the test's own."""
    vpcguest.sh(VM, f"rm -f {LOCK_SEEN}; systemd-run --unit=vpc-lock-listener -p StandardOutput=file:{LOCK_SEEN} "
                    f"busctl monitor --json=short --match \"{LOCK_MATCH}\" --match \"{READY_MATCH}\"")
    return vpclogind.wait(lambda: vpcguest.sh(VM, f"busctl emit /org/vpc/test org.vpc.Test Ready; "
                                                  f"cat {LOCK_SEEN} 2>/dev/null; true"),
                          lambda out: "org.vpc.Test" in out, 60, interval=1)[0]


def lock_signals():
    """The object paths that got a Lock signal, as the listener recorded them."""
    paths = []
    for line in vpcguest.sh(VM, f"cat {LOCK_SEEN}").splitlines():
        try:
            m = json.loads(line)
        except ValueError:
            continue
        if m.get("member") == "Lock" and m.get("interface") == "org.freedesktop.login1.Session":
            paths.append(m.get("path"))
    return paths


check(wait_users(VM, ["alice", "root"]) == ["alice", "root"], "the guest starts with alice and root logged on")
check_guest_left_alone("at boot")
lock_t0 = time.monotonic()
before = {s["Id"]: (s["Name"], s["State"]) for s in vpclogind.sessions(VM)}
paths = session_paths(sorted(before))
if check(start_lock_listener(), "a listener in the guest follows logind's Lock signals"):
    rec = SignalRecorder()
    t0 = time.monotonic()
    r = call(encode_path(VM), "org.vpc.GuestOS", "Lock", user=ALLOWED)
    check(r.ok and str(r.value).startswith("/org/vpc/Task/"), "Lock (group libvirt member) returns a task", r)
    if r.ok:
        c = completed(rec, r.value, 60)
        print(f"# Lock took {time.monotonic() - t0:.2f} s from the call to Completed")
        check(c == [0, "", ""], "the Lock task ends with Completed(0, \"\", \"\")", c)
        props = task_props(r.value)
        check(props.get("Description") == "Lock" and props.get("PercentCompleted") == 100,
              "the task's Description is Lock, 100 %", props)
        ok, got = vpclogind.wait(lambda: sorted(set(lock_signals())), lambda v: v == paths, 20)
        check(ok, f"every logind session ({len(paths)}) received logind's Lock signal", (got, paths))
    after = {s["Id"]: (s["Name"], s["State"]) for s in vpclogind.sessions(VM)}
    check(after == before, "after the Lock the same sessions are there, in the same state", (before, after))
    check(vpcguest.users(VM) == ["alice", "root"], "after the Lock alice and root are still logged on",
          vpcguest.users(VM))
vpcguest.sh(VM, "systemctl stop vpc-lock-listener.service; true")
print(f"# the Lock checks took {time.monotonic() - lock_t0:.1f} s in all (listener, Lock, the sessions read twice)")

# --- as root, with root logged in and a closing session beside ------------------------------------
vpclogind.login(VM, "bob", "pts/3", "closing")
vpclogind.login(VM, "carol", "ssh1", "ssh")
logged_in({"alice": "active", "root": "active", "bob": "closing", "carol": "active"}, ["alice", "carol", "root"],
          "bob logged out leaving a process behind, carol logged in through sshd")
check(len(vpclogind.processes_of(VM, {UIDS["bob"]})) >= 1, "bob's leftover process runs",
      vpclogind.processes_of(VM, {UIDS["bob"]}))
logoff_ends_everything(None, "root", ["alice", "root", "bob", "carol"])

# --- again, with nobody left: NoSuchLogonSession (dave's service is no logon session) --------------
task, c, _ = logoff_task(None, "nobody logged on")
check(c is not None and c[0] == 0x80070520 and c[1] == "org.vpc.Error.NoSuchLogonSession"
      and c[2].startswith("0x80070520: "), "with nobody logged on the task ends with NoSuchLogonSession", c)
check_guest_left_alone("after the empty Logoff")

# --- as the authorized group member -----------------------------------------------------------------
vpclogind.login(VM, "alice", "pts/4")
vpclogind.login(VM, "root", "pts/5")
vpclogind.login(VM, "bob", "pts/6", "closing")
logged_in({"alice": "active", "root": "active", "bob": "closing"}, ["alice", "root"], "logged in again")
logoff_ends_everything(ALLOWED, "group libvirt member", ["alice", "root", "bob"])

# --- processes that ignore SIGTERM: logind's escalation (10 s stop timeout) ends them ----------------
vpclogind.login(VM, "alice", "pts/7")
vpclogind.login(VM, "carol", "pts/8", "stubborn")
logged_in({"alice": "active", "carol": "active"}, ["alice", "carol"], "carol's session ignores SIGTERM")
t0 = time.monotonic()
logoff_ends_everything(None, "SIGTERM ignored, within --logoff-timeout", ["alice", "carol"])
print(f"# the stubborn session ended {time.monotonic() - t0:.1f} s after the call (guest stop timeout 10 s)")

# --- the same, outliving --logoff-timeout: Timeout; logind still ends it afterwards -----------------
subprocess.run([ENVCTL, "daemon-stop"], check=True, capture_output=True)
subprocess.run([ENVCTL, "daemon-start", "--logoff-timeout", "4"], check=True)
vpclogind.login(VM, "carol", "pts/9", "stubborn")
logged_in({"carol": "active"}, ["carol"], "carol's stubborn session again")
task, c, _ = logoff_task(None, "SIGTERM ignored, --logoff-timeout 4")
check(c is not None and c[0] == 0xA0040202 and c[1] == "org.vpc.Error.Timeout"
      and c[2].startswith("0xA0040202: ") and "1 user(s) still logged on" in c[2],
      "a session outliving --logoff-timeout: the task ends with Timeout, one user still there", c)
check(vpcguest.users(VM) == ["carol"], "at the Timeout carol is still logged on", vpcguest.users(VM))
check_all_gone(["carol"], "logind's escalation after the Timeout")

# --- a user the guest logs straight back in (getty autologin): Timeout naming who is there ----------
vpcguest.sh(VM, "systemctl unmask serial-getty@ttyS0.service && "
                "mkdir -p /run/systemd/system/serial-getty@ttyS0.service.d && "
                "printf '[Service]\\nExecStart=\\nExecStart=-/sbin/agetty -o \"-p -f -- \\\\\\\\u\" --autologin bob "
                "--noclear --keep-baud 115200,38400,9600 %%I $TERM\\n' "
                ">/run/systemd/system/serial-getty@ttyS0.service.d/autologin.conf && "
                "systemctl daemon-reload && systemctl start serial-getty@ttyS0.service", timeout=60)
check(wait_users(VM, ["bob"], timeout=60) == ["bob"], "the guest's getty logs bob in (autologin)", vpcguest.users(VM))
first = [s["Id"] for s in vpclogind.sessions(VM) if s["Name"] == "bob"]
# The getty logs bob back in 2-4 s after his session ended (TCG); the program tells the daemon so,
# and the daemon gives him 10 s to come back: within --logoff-timeout 20 he is back for good.
subprocess.run([ENVCTL, "daemon-stop"], check=True, capture_output=True)
subprocess.run([ENVCTL, "daemon-start", "--logoff-timeout", "20"], check=True)
task, c, _ = logoff_task(None, "autologin")
print(f"# autologin: the task ended with {c}")
check(c is not None and c[0] == 0xA0040202 and c[1] == "org.vpc.Error.Timeout"
      and c[2] == "0xA0040202: 1 user(s) still logged on after 20 s: bob",
      "a user logged straight back in: the task ends with Timeout naming him", c)
ok, again = vpclogind.wait(lambda: [s["Id"] for s in vpclogind.sessions(VM) if s["Name"] == "bob"
                                    and s["State"] == "active" and s["Id"] not in first], bool, 30)
check(ok and wait_users(VM, ["bob"], timeout=30) == ["bob"],
      "bob's session was ended and the getty logged him straight back in (a new session; guest-get-users: bob)",
      (first, again, vpcguest.users(VM)))
check_guest_left_alone("after the autologin Timeout")
vpcguest.sh(VM, "systemctl stop serial-getty@ttyS0.service", timeout=60)

finish()
