#!/usr/bin/python3
"""End to end, the failure cases, on two real guests in one daemon (--agent-timeout 5,
--logoff-timeout 8): g1 (alice, bob) and g2 (alice, bob, and carol whose processes ignore SIGHUP
and SIGTERM).
 - qemu-ga frozen (SIGSTOP) in g1: Logoff on g1 fails with Timeout 0xA0040202 within the agent
   timeout, while a Logoff on g2 is answered at once meanwhile; g1's agent, continued, works again.
 - stubborn user on g2: the task ends with Timeout after --logoff-timeout; alice and bob are gone,
   carol and her processes are still there.
 - qemu-ga stopped in g1 (killed, not respawned): Logoff -> AdditionsFeatureNotAvailable 0xA0040505
   at once (libvirt knows the agent's port is closed: "not connected"). Only an agent that is
   connected but silent gives Timeout.
 - g2 destroyed mid-task: the task ends with VmNotRunning 0xA0040206; g2's State becomes shutoff."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import *  # noqa: E402,F403

AGENT_TIMEOUT = 5
LOGOFF_TIMEOUT = 8
G1, G2 = "g1", "g2"

check(wait_users(G1, ["alice", "bob"]) == ["alice", "bob"], "g1 starts with alice and bob")
check(wait_users(G2, ["alice", "bob", "carol"]) == ["alice", "bob", "carol"], "g2 starts with alice, bob, carol")

# --- 4. qemu-ga frozen in g1; 5. meanwhile the stubborn user's logoff on g2 --------------------------
# The freeze is scheduled inside the guest through the agent itself (it cannot be reached once
# frozen): SIGSTOP after 1 s, SIGCONT 14 s later.
vpcguest.sh(G1, "p=$(pidof qemu-ga); (sleep 1; kill -STOP $p; sleep 14; kill -CONT $p) </dev/null >/dev/null 2>&1 &")
frozen_at = time.monotonic() + 1
time.sleep(2)
rec = SignalRecorder()
g1_call = in_thread(timed_logoff, G1, private=True)
time.sleep(0.5)                        # g1's call is now waiting on the frozen agent
r2, t2 = timed_logoff(G2)
print(f"# Logoff on g2 answered in {t2:.2f} s while g1's agent is frozen")
check(r2.ok and t2 < 2.0, "a Logoff on g2 answers at once while g1's agent is frozen", (r2, t2))
r1, t1 = g1_call(60)
print(f"# Logoff on g1 (frozen agent) failed after {t1:.2f} s")
expect_error(r1, "org.vpc.Error.Timeout", "Logoff on g1 with its qemu-ga frozen")
check(AGENT_TIMEOUT - 1 <= t1 <= AGENT_TIMEOUT + 3, f"... after about --agent-timeout ({AGENT_TIMEOUT} s)", t1)

if r2.ok:
    task2 = r2.value
    c = completed(rec, task2, LOGOFF_TIMEOUT + 20)
    props = task_props(task2)
    took = (props.get("FinishedUSec", 0) - props.get("StartedUSec", 0)) / 1e6
    print(f"# g2's task (stubborn carol) ended after {took:.2f} s")
    check(c is not None and c[0] == 0xA0040202 and c[1] == "org.vpc.Error.Timeout" and c[2].startswith("0xA0040202: ")
          and c[2].endswith(": carol"),
          "g2's task with a stubborn user ends with Timeout 0xA0040202", c)
    check(LOGOFF_TIMEOUT - 0.5 <= took <= LOGOFF_TIMEOUT + 5, f"... after about --logoff-timeout ({LOGOFF_TIMEOUT} s)", took)
    progress = progress_values(rec, task2)
    check(progress and 0 < progress[-1] < 100, "its progress shows the share of sessions ended (not 100)", progress)
    check_gone(G2, ["alice", "bob"], "g2 after the stubborn logoff")
    check(vpcguest.users(G2) == ["carol"], "carol is still logged on to g2", vpcguest.users(G2))
    check(len(vpcguest.processes_of(G2, {UIDS["carol"]})) == 3, "carol's 3 processes still run",
          vpcguest.processes_of(G2, {UIDS["carol"]}))

# g1's agent, continued, answers again and nothing was logged off there.
remaining = frozen_at + 14 - time.monotonic()
check(wait_users(G1, ["alice", "bob"], timeout=max(remaining, 0) + 20) == ["alice", "bob"],
      "g1's agent answers again after SIGCONT, alice and bob still logged on")

# --- 3. qemu-ga stopped in g1 ------------------------------------------------------------------------
vpcguest.sh(G1, "touch /run/qemu-ga.disabled; (sleep 1; kill $(pidof qemu-ga)) </dev/null >/dev/null 2>&1 &")


def agent_gone():
    try:
        vpcguest.agent(G1, "guest-ping", timeout=2)
        return False
    except RuntimeError as e:
        return "not connected" in str(e)


check(wait_until(agent_gone, timeout=20), "libvirt sees g1's agent disconnected")
r, t = timed_logoff(G1)
print(f"# Logoff on g1 (agent stopped) failed after {t:.2f} s")
expect_error(r, "org.vpc.Error.AdditionsFeatureNotAvailable", "Logoff on g1 with its qemu-ga stopped")
check(t < 2.0, "... at once", t)

# --- 6. g2 destroyed mid-task ------------------------------------------------------------------------
rec = SignalRecorder()
r = logoff(G2)
check(r.ok, "Logoff on g2 (carol still there) starts a task", r)
if r.ok:
    task = r.value
    time.sleep(2)
    check(task_props(task).get("IsComplete") is False, "the task is still running after 2 s")
    subprocess.run(["virsh", "-q", "-c", vpcguest.URI, "destroy", G2], check=True, capture_output=True)
    c = completed(rec, task, 15)
    check(c is not None and c[0] == 0xA0040206 and c[1] == "org.vpc.Error.VmNotRunning"
          and c[2].startswith("0xA0040206: "), "the task ends with VmNotRunning 0xA0040206", c)
    g2 = encode_path(G2)
    check(wait_until(lambda: get_property(g2, "org.vpc.GuestOS", "State") == "shutoff", timeout=10),
          "g2's State is shutoff", get_property(g2, "org.vpc.GuestOS", "State"))
    changed = rec.wait_for(lambda e: e[0] == g2 and e[2] == "PropertiesChanged"
                           and e[3][1].get("State") == "shutoff", timeout=5)
    check(changed is not None, "PropertiesChanged announced State=shutoff", rec.of("PropertiesChanged", g2))
    expect_error(logoff(G2), "org.vpc.Error.VmNotRunning", "Logoff on the destroyed g2")

finish()
