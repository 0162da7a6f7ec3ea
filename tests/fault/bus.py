#!/usr/bin/python3
"""The system bus going away under the real daemon: dbus-daemon SIGKILLed while a caller's polkit
check is pending (polkitd frozen). The daemon must notice at once, say so in one clear log line,
and exit with a non-zero status (so systemd's Restart=on-failure brings it back) through its normal
exit path: no crash, and under the sanitizer and valgrind runs no leak of the parked call."""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultenv import *  # noqa: E402,F403

WEB = encode_path("web server 01")

check(daemon_running(), "the daemon runs")
expect_error(logoff(WEB, user=ALLOWED), "org.vpc.Error.AdditionsFeatureNotAvailable", "the daemon serves")

polkitd = pid_of("polkitd")
check(signal_pid(polkitd, signal.SIGSTOP), "polkitd frozen, so that a check stays pending")
pending = in_thread(logoff, WEB, user=ALLOWED)
time.sleep(0.5 * SLOW)
check(daemon_running(), "the daemon still runs with the check pending")

bus_pid = pid_of("dbus")
t0 = time.monotonic()
check(signal_pid(bus_pid, signal.SIGKILL), "dbus-daemon killed with SIGKILL")
status = daemon_status(10)
elapsed = time.monotonic() - t0
check(status == "1", f"the daemon exits with status 1 ({elapsed:.2f} s after the bus died)", status)
check(elapsed < 3.0 * SLOW, "... at once")
log = daemon_log()
check("lost the connection to the system bus, exiting" in log, "the log says why it exits",
      log.strip().splitlines()[-3:])
check("Segmentation" not in log and "Aborted" not in log and "AddressSanitizer" not in log,
      "no crash on the way out")
r = pending(30)
check(r is not None and not r.ok, "the pending caller got an error, not a hang", r)
signal_pid(polkitd, signal.SIGCONT)
finish()
