#!/usr/bin/python3
"""End to end, root logged in (issue 12): on a real busybox guest without logind (g1: alice and root
logged in through session-leader, real utmp records), Logoff runs linux-plain, which ends the
sessions utmp records, root's included: Completed(0), Progress rising to 100, guest-get-users and
utmp empty, no process of either session left; qemu-ga (the same process, not a respawned one),
PID 1 and every other process that was not in a session are still there. Progress steps as the
sessions end (a stubborn session ended by the test later than the other)."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import *  # noqa: E402,F403

VM = "g1"
USERS = ["alice", "root"]

# pid, ppid, sid, real uid and name of every process (and the command line of session-leader ones),
# read from /proc by a fixed script with shell builtins only (a loaded TCG guest forks slowly).
PS = ("for d in /proc/[0-9]*; do "
      "{ read -r st <$d/stat; } 2>/dev/null || continue; c=${st#*(}; c=${c%%)*}; set -- ${st##*) }; "
      "u=; while read -r k v rest; do [ \"$k\" = Uid: ] && { u=$v; break; }; done <$d/status 2>/dev/null; "
      "a=; [ \"$c\" = session-leader ] && a=$(tr '\\0' ' ' <$d/cmdline 2>/dev/null); "
      "echo \"${d#/proc/} $2 $4 $u $c $a\"; done; true")


def processes():
    procs = {}
    for line in vpcguest.sh(VM, PS, timeout=60).splitlines():
        parts = line.split(" ", 5)
        if len(parts) >= 5 and all(p.isdigit() for p in parts[:4]):
            pid, ppid, sid, uid = map(int, parts[:4])
            procs[pid] = {"ppid": ppid, "sid": sid, "uid": uid, "name": parts[4],
                          "args": parts[5] if len(parts) > 5 else ""}
    return procs


def session_of(procs, user):
    """The pids of the session session-leader started for `user`: its child leads it."""
    leaders = [p for p, v in procs.items() if v["args"].startswith(f"/usr/local/bin/session-leader {user} ")]
    children = [p for p, v in procs.items() if v["ppid"] in leaders]
    return {p for p, v in procs.items() if v["sid"] in children}


check(wait_users(VM, USERS) == USERS, "the guest starts with alice and root logged on")
before = processes()
agent_pid = [p for p, v in before.items() if v["name"] == "qemu-ga"]
root_session = session_of(before, "root")
alice_session = session_of(before, "alice")
check(len(agent_pid) == 1, "qemu-ga runs in the guest", agent_pid)
check(len(root_session) == 3 and all(before[p]["uid"] == 0 for p in root_session),
      "root's session: a shell and two sleeps, all uid 0", {p: before[p] for p in root_session})
check(len(alice_session) == 3, "alice's session: three processes", alice_session)
# Everything else that runs now must stay, but for this test's own probe (a child of qemu-ga), the
# session-leader processes, which end by design once their session has ended (as login does), and
# the kernel's threads (children of kthreadd, PID 2), whose workers come and go on their own.
others = {p for p, v in before.items()
          if p not in root_session | alice_session and v["ppid"] not in agent_pid and p not in agent_pid
          and v["name"] != "session-leader" and p != 2 and v["ppid"] != 2}
check(1 in others, "PID 1 is among the processes that must stay", sorted(others))

rec = SignalRecorder()
t0 = time.monotonic()
r = logoff(VM)
check(r.ok, "Logoff as root returns a task", r)
if r.ok:
    c = completed(rec, r.value, 60)
    print(f"# Logoff of alice and root took {time.monotonic() - t0:.2f} s from the call to Completed")
    check(c == [0, "", ""], "the task ends with Completed(0, \"\", \"\")", c)
    progress = progress_values(rec, r.value)
    print(f"# Progress signals: {progress}")
    check(len(progress) >= 1 and progress[-1] == 100 and progress == sorted(progress),
          "Progress signals rise to 100", progress)

check_gone(VM, ["alice"], "alice")
check(vpcguest.users(VM) == [], "guest-get-users is empty: root's session ended too", vpcguest.users(VM))
check(vpcguest.utmp_users(VM) == [], "the guest's utmp has no session left", vpcguest.utmp_users(VM))
end = time.monotonic() + 5
while True:
    after = processes()
    left = {p for p in root_session | alice_session if p in after}
    if not left or time.monotonic() > end:
        break
    time.sleep(0.3)
check(not left, "no process of root's or alice's session is left", {p: after.get(p) for p in left})
check(agent_pid[0] in after and after[agent_pid[0]]["name"] == "qemu-ga",
      "qemu-ga is the same process as before (never signalled)", agent_pid)
gone = {p: before[p] for p in others if p not in after or after[p]["name"] != before[p]["name"]}
check(not gone, "PID 1 and every process outside the sessions still run", gone)

# Root alone, logged in again: ended as well.
login(VM, "root", "pts/7")
check(wait_users(VM, ["root"]) == ["root"], "root logged on again")
rec = SignalRecorder()
r = logoff(VM)
if check(r.ok, "Logoff with only root logged on returns a task", r):
    c = completed(rec, r.value, 60)
    check(c == [0, "", ""], "that task ends with Completed(0)", c)
check(vpcguest.users(VM) == [], "guest-get-users is empty again", vpcguest.users(VM))

# Progress steps as sessions end: alice's ends with the program, carol's ignores SIGHUP and SIGTERM
# until this test kills it; the task sees each go.
login(VM, "alice", "pts/8")
login(VM, "carol", "pts/9", stubborn=True)
check(wait_users(VM, ["alice", "carol"]) == ["alice", "carol"], "alice and carol (stubborn) logged on")
rec = SignalRecorder()
r = logoff(VM)
if check(r.ok, "Logoff of alice and stubborn carol returns a task", r):
    half = rec.wait_for(lambda e: e[0] == r.value and e[2] == "Progress" and e[3][0] == 50, timeout=20)
    check(half is not None, "Progress 50 once alice's session ended", progress_values(rec, r.value))
    carol = sorted(p for p, v in processes().items() if v["uid"] == UIDS["carol"])
    vpcguest.sh(VM, "kill -KILL " + " ".join(map(str, carol)))
    c = completed(rec, r.value, 30)
    check(c == [0, "", ""], "the task ends with Completed(0) once carol's session is gone too", c)
    check(progress_values(rec, r.value) == [50, 100], "Progress went 50, then 100", progress_values(rec, r.value))

finish()
