#!/usr/bin/python3
"""Faults of polkitd under the real daemon (--polkit-timeout 3), with real dbus-daemon and libvirtd:
 - polkitd SIGKILLed while checks are pending: those callers get AccessDenied at once, the daemon
   keeps running, and once polkitd is back the allowed user passes again;
 - polkitd frozen (SIGSTOP) past the daemon's bound: AccessDenied within the bound, and root (who
   needs no polkit) is served meanwhile;
 - callers that leave the bus while their check is pending (polkitd frozen): their checks end at
   once (audited "the caller left the bus"), nothing crashes when polkitd answers later; the
   sanitizer and valgrind runs of this test prove nothing leaks (the daemon's SIGTERM exit is
   checked at the end)."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultenv import *  # noqa: E402,F403

POLKIT_TIMEOUT = 3      # the daemon runs with --polkit-timeout 3 (tests/fault/meson.build)
WEB = encode_path("web server 01")
PASSED = "org.vpc.Error.AdditionsFeatureNotAvailable"   # the test driver has no agent: past polkit
DENIED_NAME = "org.freedesktop.DBus.Error.AccessDenied"

check(daemon_running(), "the daemon runs")
expect_error(logoff(WEB, user=ALLOWED), PASSED, "allowed user passes polkit at the start")

# --- polkitd SIGKILLed with checks pending ---------------------------------------------------------
polkitd = pid_of("polkitd")
check(signal_pid(polkitd, signal.SIGSTOP), "polkitd frozen so that checks stay pending")
# 8 callers, each its own connection, each with its call sent when flood() returns (no Python
# start inside the wait below).
# polkitd is killed once the bus has routed all 8 checks to it (a bus monitor sees each as it is
# routed), not after a sleep: a check that reaches the bus while it takes in polkitd's death is
# dropped without an answer (dbus-daemon drops messages to a connection it found dead), and then
# only the daemon's bound ends it.
BUS = os.environ["DBUS_SYSTEM_BUS_ADDRESS"]
monitor = subprocess.Popen(["dbus-monitor", "--address", BUS,
                            "type='method_call',interface='org.freedesktop.PolicyKit1.Authority',"
                            "member='CheckAuthorization'", "type='signal',interface='org.vpc.Test',member='Ready'"],
                           stdout=subprocess.PIPE, text=True)
routed, ready = [0], [False]


def count_routed():
    for line in monitor.stdout:
        if line.startswith("method call ") and "member=CheckAuthorization" in line:
            routed[0] += 1
        elif "member=Ready" in line:
            ready[0] = True


in_thread(count_routed)
# The monitor sees a signal of ours, so it is attached before the first check is sent.
check(wait_until(lambda: subprocess.run(["busctl", "--address", BUS, "emit", "/org/vpc/test", "org.vpc.Test",
                                         "Ready"], capture_output=True).returncode == 0 and
                 wait_until(lambda: ready[0], 1), 20 * SLOW), "a bus monitor of polkitd's checks is attached")
pending = [flood(ALLOWED, WEB, "Logoff", 1, wait=False, started=True, timeout=30) for _ in range(8)]
check(wait_until(lambda: routed[0] >= 8, 10 * SLOW), f"all 8 checks were routed to polkitd ({routed[0]} seen)")
check(signal_pid(polkitd, signal.SIGKILL), "polkitd killed with SIGKILL")
monitor.terminate()
results = [flood_result(p, 60) for p in pending]
names = [name for r in results for name in r.get("answers", {"none": 1})]
check(names == [DENIED_NAME] * 8, "every pending caller gets AccessDenied", results)
longest = max(r.get("slowest", 0) for r in results)
print(f"# the longest of the 8 calls, from sent (polkitd frozen, then killed): {longest:.2f} s")
check((results[0].get("first_message") or "").startswith("0x%08X: " % HRESULT[DENIED_NAME]),
      "the denial carries the HRESULT", results[0].get("first_message"))
# What ended each check, from the daemon's log, rather than a time that load stretches: polkitd's
# death (the bus answers the calls it held, the rest find no polkitd), never the daemon's bound.
# (sd-bus words the daemon's own bound "Method call timed out".)
reasons = Counter(line.split(" failed: ", 1)[1] for line in daemon_log().splitlines()
                  if "polkit check of org.vpc.guestos.logoff for " in line and " failed: " in line)
print(f"# how they ended: {dict(reasons)}")
check(sum(reasons.values()) == 8 and not any("timed out" in r for r in reasons),
      "... each ended by polkitd's death, none by the daemon's polkit bound", dict(reasons))
check(daemon_running(), "the daemon keeps running after polkitd died")
expect_error(logoff(WEB, user=ALLOWED), DENIED_NAME, "with polkitd gone the allowed user is denied (fail closed)")
expect_error(logoff(WEB), PASSED, "root needs no polkit and is served")
check(wait_until(lambda: not vpc_name_has_owner("org.freedesktop.PolicyKit1"), 10), "polkitd's name is gone")
ok, _ = envctl("polkitd-start")
check(ok, "polkitd started again")
expect_error(logoff(WEB, user=ALLOWED), PASSED, "with polkitd back the allowed user passes again")
expect_error(logoff(WEB, user=DENIED), "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
             "and the unprivileged user is denied by polkit again")

# --- polkitd frozen past the bound -----------------------------------------------------------------
polkitd = pid_of("polkitd")
check(signal_pid(polkitd, signal.SIGSTOP), "polkitd frozen (SIGSTOP)")
slow = in_thread(timed, logoff, WEB, user=ALLOWED)
time.sleep(0.5)
r, t = timed(logoff, WEB)
check(r.error_name == PASSED and t < 2.0 * SLOW, f"root is served while polkitd is frozen ({t:.2f} s)", r)
r = slow(30)
check(r is not None, "the frozen check was answered")
if r:
    expect_error(r[0], DENIED_NAME, "a check polkitd does not answer is denied")
    check(POLKIT_TIMEOUT - 0.5 <= r[1] <= POLKIT_TIMEOUT + 3.0 * SLOW,
          f"... after the daemon's bound of {POLKIT_TIMEOUT} s ({r[1]:.2f} s)")
check("polkit check of org.vpc.guestos.logoff" in daemon_log(), "the failed check is logged")

# --- callers leaving the bus with checks pending (polkitd still frozen) -----------------------------
before = daemon_log().count("the caller left the bus")
out = flood(ALLOWED, WEB, "Logoff", 40, exit_after_send=True)
check(out.get("sent") == 40, "40 Logoff calls sent, then the caller left the bus", out)
check(wait_until(lambda: daemon_log().count("the caller left the bus") - before >= 40, 10 * SLOW),
      "the daemon ends all 40 checks of the departed caller at once (audited)",
      daemon_log().count("the caller left the bus") - before)
check(signal_pid(polkitd, signal.SIGCONT), "polkitd continued")
time.sleep(1.0)                         # its late answers to the departed caller's checks arrive now
check(daemon_running(), "the daemon survives polkit's late answers for departed callers")
expect_error(logoff(WEB, user=ALLOWED), PASSED, "with polkitd continued the allowed user passes again")

# --- clean exit ------------------------------------------------------------------------------------
ok, status = envctl("daemon-stop")
check(ok and status == "0", "the daemon exits with 0 on SIGTERM (under ASan/valgrind: no leak)", status)
finish()
