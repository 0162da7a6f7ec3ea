#!/usr/bin/python3
"""Tasks survive a restart of the daemon (issue 21): on a real busybox guest (r1: alice, and carol
whose session ignores SIGHUP and SIGTERM, so a Logoff runs until the test kills her), the daemon is
stopped mid-task with SIGTERM, and with SIGKILL followed at once by a second restart, and started
again each time: the task keeps its path and owner, a client subscribed before the restart sees its
Completed(0) once carol is gone, and a waiting `vpcctl logoff` started before the restart exits 0.
A finished task's outcome is still readable after a restart; a garbage, truncated or foreign state
file is logged and skipped and the daemon serves; task ids never repeat. Real daemon, dbus-daemon,
polkitd, libvirtd, QEMU guest with qemu-ga. The daemon runs with --logoff-timeout 300
--task-retention 300. A LogoffWithOptions restarted in its grace shows its message again and waits
the whole grace again before the logoff. A Lock restarted while its lock program runs (a stand-in
loginctl that waits for the test, on this guest without logind) keeps its path, its program is
polled again rather than run twice, and it ends with Completed(0) with nobody logged off."""

import os
import subprocess
import time

from e2e import *  # noqa: F403

VM = "r1"
ENVCTL = os.path.join(os.environ["VPC_SOURCE_ROOT"], "tests", "lib", "envctl")
VPCCTL = os.environ["VPCCTL"]
ENV_DIR = os.environ["VPC_ENV_DIR"]
STATE_DIR = os.path.join(ENV_DIR, "run-vpc-guestosd")
DAEMON_ARGS = os.environ.get("VPC_DAEMON_ARGS", "").split()
T0 = time.monotonic()
seen_ids = set()


def envctl(*args):
    r = subprocess.run([ENVCTL, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    return r.returncode == 0, r.stdout.strip()


def daemon_log():
    return envctl("daemon-log")[1]


def restart(how):
    """Stops the daemon (SIGTERM through envctl, or SIGKILL) and starts it again; True if it serves."""
    if how == "KILL":
        with open(os.path.join(ENV_DIR, "daemon.pid")) as f:
            os.kill(int(f.read()), 9)
        status = os.path.join(ENV_DIR, "daemon.status")
        wait_until(lambda: os.path.exists(status) and open(status).read().strip(), 30, 0.1)
        stopped = open(status).read().strip() == "137"
    else:
        ok, status = envctl("daemon-stop")
        stopped = ok and status == "0"
    check(stopped, f"the daemon stopped ({how})")
    started = envctl("daemon-start", *DAEMON_ARGS)[0]
    check(started, f"the daemon started again after the {how}")
    return started


def task_id(path):
    return int(path.rsplit("/", 1)[1])


def note(path):
    seen_ids.add(task_id(path))


def start_vpcctl_logoff(rec):
    """A waiting `vpcctl logoff` (as root, plain output); returns (process, task path)."""
    mark = rec.mark()
    proc = subprocess.Popen([VPCCTL, "logoff", VM], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    added = rec.wait_for(lambda e: e[2] == "InterfacesAdded" and e[3][0].startswith("/org/vpc/Task/"),
                         timeout=30, since=mark)
    return proc, added[3][0] if added else None


def kill_carol():
    vpcguest.sh(VM, "for s in /proc/[0-9]*/status; do u=; while read -r k v rest; do "
                    "[ \"$k\" = Uid: ] && { u=$v; break; }; done <$s; "
                    "[ \"$u\" = 1003 ] && { p=${s#/proc/}; kill -KILL ${p%/status}; }; done 2>/dev/null; true")


def ride_through(how, restarts):
    """A Logoff of alice and stubborn carol, the daemon restarted `restarts` times while it waits
    for carol, then carol killed: the same task ends with Completed(0)."""
    login(VM, "alice", "pts/1")
    login(VM, "carol", "pts/2", stubborn=True)
    check(wait_users(VM, ["alice", "carol"]) == ["alice", "carol"], f"{how}: alice and carol (stubborn) logged on")
    rec = SignalRecorder()
    proc, task = start_vpcctl_logoff(rec)
    if not check(task is not None, f"{how}: vpcctl logoff started a task", rec.events):
        proc.kill()
        return
    check(task_id(task) not in seen_ids, f"{how}: the new task's id {task} was never used before", sorted(seen_ids))
    note(task)
    check(wait_users(VM, ["carol"], 60) == ["carol"], f"{how}: alice is gone, stubborn carol stays")
    deadline = time.monotonic() + 30
    before = task_props(task)
    while before.get("PercentCompleted", 0) == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
        before = task_props(task)
    check(before.get("IsComplete") is False and before.get("PercentCompleted", 0) > 0,
          f"{how}: the task still runs before the restart, alice's logoff counted in its progress", before)
    for i in range(restarts):
        if not restart(how if i == 0 else "TERM"):
            proc.kill()
            return
    after = task_props(task)
    check(after.get("IsComplete") is False and after.get("Owner") == before.get("Owner") and
          after.get("StartedUSec") == before.get("StartedUSec") and after.get("Target") == before.get("Target"),
          f"{how}: after {restarts} restart(s) the same path names the same running task", after)
    check(after.get("PercentCompleted", 0) >= before.get("PercentCompleted", 0),
          f"{how}: the progress goes on from where it was, never back", (before, after))
    check(task in managed_objects(), f"{how}: GetManagedObjects lists it again")
    check(proc.poll() is None, f"{how}: the waiting vpcctl logoff still waits", proc.poll())
    kill_carol()
    c = completed(rec, task, 60)
    check(c == [0, "", ""], f"{how}: the client subscribed before the restart sees Completed(0)", c)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    check(proc.returncode == 0 and "logged off" in out, f"{how}: the waiting vpcctl logoff exits 0",
          (proc.returncode, out, err))
    check(vpcguest.users(VM) == [], f"{how}: nobody is logged on to the guest any more", vpcguest.users(VM))
    p = task_props(task)
    check(p.get("IsComplete") is True and p.get("ErrorCode") == 0 and p.get("PercentCompleted") == 100,
          f"{how}: the task reads complete, ErrorCode 0, 100 %", p)
    return task


check(wait_users(VM, ["alice", "carol"]) == ["alice", "carol"], "r1 starts with alice and carol")
kill_carol()
check(wait_users(VM, ["alice"]) == ["alice"], "carol's boot session is gone")

# --- SIGTERM mid-task ---------------------------------------------------------------------------
t0 = time.monotonic()
term_task = ride_through("TERM", 1)
print(f"# SIGTERM scenario: {time.monotonic() - t0:.1f} s")

# --- SIGKILL mid-task, and a second restart right after ------------------------------------------
t0 = time.monotonic()
kill_task = ride_through("KILL", 2)
print(f"# SIGKILL + SIGTERM scenario: {time.monotonic() - t0:.1f} s")

# --- a finished task's outcome after a restart ----------------------------------------------------
# A task that fails: nobody logged on.
r = logoff(VM)
failed = r.value if r.ok else None
if check(failed is not None, "a Logoff with nobody logged on returns a task", r):
    note(failed)
    wait_until(lambda: task_props(failed).get("IsComplete"), 30, 0.2)
    before = task_props(failed)
    check(before.get("ErrorName") == "org.vpc.Error.NoSuchLogonSession", "it ends with NoSuchLogonSession", before)
restart("TERM")
for path in (term_task, kill_task, failed):
    if not path:
        continue
    p = task_props(path)
    check(p.get("IsComplete") is True and p.get("FinishedUSec", 0) > 0,
          f"after a restart the finished task {path} is still there, complete", p)
if failed:
    p = task_props(failed)
    check(p.get("ErrorName") == before.get("ErrorName") and p.get("ErrorMessage") == before.get("ErrorMessage")
          and p.get("ErrorCode") == before.get("ErrorCode") and p.get("FinishedUSec") == before.get("FinishedUSec"),
          "its outcome reads the same as before the restart", (before, p))

# --- hostile state files --------------------------------------------------------------------------
owner = os.stat(STATE_DIR).st_uid
hostile = {
    "task-900001": b'{"version":1,"id":900001,"vm_uuid":"',                           # truncated
    "task-900002": bytes(range(256)) * 4,                                            # garbage
    "task-900003": b'{"version":1,"id":"900003"}',                                   # wrong type
    "task-900004": b'{"version":1}' + b' ' * 20000,                                  # too big
}
for name, data in hostile.items():
    with open(os.path.join(STATE_DIR, name), "wb") as f:
        f.write(data)
    os.chown(os.path.join(STATE_DIR, name), owner, -1)
os.symlink("/etc/passwd", os.path.join(STATE_DIR, "task-900005"))
# One real finished task's file cut in half: it is skipped, the others come back.
if failed:
    path = os.path.join(STATE_DIR, f"task-{task_id(failed)}")
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[:len(data) // 2])
restart("TERM")
log = daemon_log()
for name in list(hostile) + ["task-900005"]:
    check(f"skipping the task state file {STATE_DIR}/{name}:" in log, f"the daemon logs that it skipped {name}")
    check(not os.path.lexists(os.path.join(STATE_DIR, name)), f"and removed {name}")
check(os.path.exists("/etc/passwd"), "what the symlink named is untouched")
if failed:
    check(task_props(failed) == {}, "the task whose file was truncated is not restored", task_props(failed))
if term_task:
    check(task_props(term_task).get("IsComplete") is True, "the other finished tasks are", task_props(term_task))
check(call(encode_path(VM), "org.freedesktop.DBus.Properties", "Get", "ss", ("org.vpc.GuestOS", "State")).ok,
      "the daemon serves")

# --- a LogoffWithOptions in its grace: after the restart the message again, and the whole grace ----
# alice on a virtual console (tty2), so what reached her terminal is read back from /dev/vcs2.
login(VM, "alice", "tty2")
check(wait_users(VM, ["alice"]) == ["alice"], "grace: alice logged on on tty2")
rec = SignalRecorder()
r = call(encode_path(VM), "org.vpc.GuestOS", "LogoffWithOptions", "a{sv}",
         ({"Message": dbus.String("Restart-proof warning"), "GraceSec": dbus.UInt32(6)},))
if check(r.ok, "grace: LogoffWithOptions returns a task", r):
    task = r.value
    note(task)
    check(rec.wait_for(lambda e: e[0] == task and e[2] == "Progress" and e[3][0] > 0, timeout=60) is not None,
          "grace: the message went out and the grace runs (Progress above 0)")
    if restart("TERM"):
        t_restart = time.monotonic()
        p = task_props(task)
        check(p.get("IsComplete") is False, "grace: after the restart the same path names the running task", p)
        c = completed(rec, task, 90)
        waited = time.monotonic() - t_restart
        print(f"# grace: Completed {waited:.1f} s after the restart (grace 6 s)")
        check(c == [0, "", ""], "grace: the task ends with Completed(0)", c)
        check(waited >= 6, f"grace: the whole grace was waited again after the restart ({waited:.1f} s >= 6 s)")
        screen = " ".join(vpcguest.sh(VM, "cat /dev/vcs2 2>&1; true").split())
        check(screen.count("Restart-proof warning") == 2, "grace: alice was shown the message again after the restart",
              screen[-400:])
        check(vpcguest.users(VM) == [], "grace: alice is logged off at the end", vpcguest.users(VM))

# --- a Lock mid-program: the same task goes on after the restart, its program runs once ---------------
# The busybox guest has no logind, so the lock program would refuse at once: a stand-in loginctl
# (and logind's marker directory) make it run until the test removes the hold file. Every run of it
# is counted in the guest.
HOLD = "/run/vpc-lock-hold"
RUNS = "/run/vpc-lock-runs"
vpcguest.sh(VM, f"mkdir -p /run/systemd/system; touch {HOLD}; rm -f {RUNS}; "
                "printf '#!/bin/sh\\necho run >>%s\\nwhile [ -e %s ]; do sleep 0.2; done\\nexit 0\\n' "
                f"{RUNS} {HOLD} >/run/vpc-loginctl; chmod 755 /run/vpc-loginctl; rm -f /bin/loginctl; "
                "mv /run/vpc-loginctl /bin/loginctl")
login(VM, "alice", "pts/4")
check(wait_users(VM, ["alice"]) == ["alice"], "lock: alice logged on")
rec = SignalRecorder()
r = call(encode_path(VM), "org.vpc.GuestOS", "Lock")
if check(r.ok, "lock: Lock returns a task", r):
    task = r.value
    note(task)
    runs = lambda: vpcguest.sh(VM, f"cat {RUNS} 2>/dev/null; true").split()
    check(wait_until(lambda: runs() == ["run"], 30, 0.2), "lock: the lock program runs in the guest", runs())
    before = task_props(task)
    check(before.get("IsComplete") is False and before.get("Description") == "Lock",
          "lock: the Lock task runs before the restart", before)
    state = os.path.join(STATE_DIR, f"task-{task_id(task)}")
    saved = open(state).read() if os.path.exists(state) else ""
    check('"kind":"lock"' in saved and '"guest_pid":0' not in saved,
          "lock: its state file says lock, with the program's guest pid", saved)
    if restart("TERM"):
        after = task_props(task)
        check(after.get("IsComplete") is False and after.get("Description") == "Lock" and
              after.get("StartedUSec") == before.get("StartedUSec") and after.get("Owner") == before.get("Owner"),
              "lock: after the restart the same path names the same running Lock task", after)
        check("taking up the Lock of" in daemon_log(), "lock: the daemon logs that it took the Lock up again")
        vpcguest.sh(VM, f"rm -f {HOLD}")
        c = completed(rec, task, 60)
        check(c == [0, "", ""], "lock: the client subscribed before the restart sees Completed(0)", c)
        check(runs() == ["run"], "lock: the lock program ran once, not again after the restart", runs())
        check(vpcguest.users(VM) == ["alice"], "lock: alice is still logged on", vpcguest.users(VM))
vpcguest.sh(VM, f"rm -f /bin/loginctl {HOLD} {RUNS}; rmdir /run/systemd/system /run/systemd 2>/dev/null; true")
r = logoff(VM)
if r.ok:
    note(r.value)
    wait_until(lambda: task_props(r.value).get("IsComplete"), 60, 0.2)
check(vpcguest.users(VM) == [], "lock: alice logged off after the Lock checks", vpcguest.users(VM))

# --- ids never repeat -------------------------------------------------------------------------------
login(VM, "alice", "pts/3")
check(wait_users(VM, ["alice"]) == ["alice"], "alice logged on again")
rec = SignalRecorder()
r = logoff(VM)
if check(r.ok, "a Logoff after the restarts returns a task", r):
    check(task_id(r.value) > max(seen_ids) and task_id(r.value) not in seen_ids,
          f"its id {r.value} is above every id handed out before ({sorted(seen_ids)})")
    check(completed(rec, r.value, 60) == [0, "", ""], "it ends with Completed(0)")

print(f"# restart.py wall time: {time.monotonic() - T0:.1f} s")
finish()
