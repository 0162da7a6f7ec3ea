#!/usr/bin/python3
"""LogoffWithOptions end to end on the systemd guest tier (m1: Debian 12, systemd-logind; alice
logged in through PAM at boot; carol logs in with sshd's real pty, whose output her ssh client
relays into its unit's journal, so what reaches her terminal can be read back):
- Message and GraceSec 3: the message (with shell metacharacters and control characters in it)
  appears on carol's terminal as text, with no control character and nothing run (no /tmp/pwned in
  the guest); her session ends >= 3 s after it appeared (both times from the guest's journal);
  Progress moves during the grace; Completed(0); nobody is left.
- Cancel in a 60 s grace: Completed(Cancelled), and after it nobody was logged off.
- A 100 KiB message: InvalidArgs naming Message, nothing reaches the guest."""

import os
import sys
import time

import dbus

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import *  # noqa: E402,F403
import vpclogind  # noqa: E402

VM = "m1"
GRACE = 3
HOSTILE = "Maintenance: $(touch /tmp/pwned); `touch /tmp/pwned2`; echo x > /tmp/pwned3 ;\n" \
          "\x1b[2J\x1b]0;owned\x07\rbye \u00e4\u20ac"
SHOWN = "Maintenance: $(touch /tmp/pwned); `touch /tmp/pwned2`; echo x > /tmp/pwned3 ;"


def with_options(options):
    return call(encode_path(VM), "org.vpc.GuestOS", "LogoffWithOptions", "a{sv}", (options,))


def terminal_output(unit):
    """What carol's ssh client printed (her pty's output), with journald's receive times:
    [(seconds since the epoch, line)]."""
    out = vpcguest.sh(VM, f"journalctl -a -q --no-pager -o short-unix -u {unit}")
    lines = []
    for line in out.splitlines():
        stamp, _, rest = line.partition(" ")
        try:
            lines.append((float(stamp), rest.split(": ", 1)[1] if ": " in rest else rest))
        except ValueError:
            pass
    return lines


def session_removed_at(sid):
    """When logind said the session was removed (guest clock), or None."""
    out = vpcguest.sh(VM, "journalctl -a -q --no-pager -o short-unix -u systemd-logind.service")
    for line in out.splitlines():
        if f"Removed session {sid}." in line:
            return float(line.split(" ", 1)[0])
    return None


# --- the message, the grace, the logoff ------------------------------------------------------------
check(wait_users(VM, ["alice"], timeout=60) == ["alice"], "alice is logged on at boot", vpcguest.users(VM))
carol = vpclogind.login(VM, "carol", "ssh1", "ssh")
check(wait_users(VM, ["alice", "carol"], timeout=30) == ["alice", "carol"], "carol logged in with sshd's pty",
      vpcguest.users(VM))
rec = SignalRecorder()
t0 = time.monotonic()
r = with_options({"Message": dbus.String(HOSTILE), "GraceSec": dbus.UInt32(GRACE)})
check(r.ok and str(r.value).startswith("/org/vpc/Task/"), "LogoffWithOptions returns a task", r)
task = r.value if r.ok else None
c = completed(rec, task, 120) if task else None
elapsed = time.monotonic() - t0
print(f"# LogoffWithOptions with GraceSec {GRACE}: {elapsed:.2f} s from the call to Completed")
if not check(c == [0, "", ""], "the task ends with Completed(0)", c):
    print(vpcguest.sh(VM, "journalctl -b --no-pager | grep -v guest-exec | tail -60 | sed 's/^/# guest: /'", timeout=60))
check(elapsed >= GRACE, f"Completed came no earlier than the grace ({elapsed:.2f} s)")
progress = progress_values(rec, task)
check(any(0 < p < 50 for p in progress) and progress == sorted(progress) and progress[-1:] == [100],
      "Progress moves during the grace (0..50), then to 100, never back", progress)

seen = terminal_output("vpc-login-ssh1.service")
raw = "\n".join(l for _, l in seen)
shown = [t for t, l in seen if SHOWN in l]
check(len(shown) == 1, "the message appears once on carol's terminal, metacharacters as text", raw[-800:])
check(any("you will be logged off in 3 seconds" in l for _, l in seen), "with the grace it announces", raw[-800:])
check(any(l.strip() == "[2J]0;owned" + "bye \u00e4\u20ac" or "[2J]0;ownedbye \u00e4\u20ac" in l for _, l in seen),
      "its control characters were dropped, its UTF-8 kept", raw[-800:])
check("\x1b" not in raw and "\x07" not in raw, "no escape or bell reached the terminal", repr(raw[-300:]))
pwned = vpcguest.sh(VM, "ls /tmp/pwned /tmp/pwned2 /tmp/pwned3 2>/dev/null; true")
check(pwned.strip() == "", "nothing of the message ran in the guest (no /tmp/pwned*)", pwned)
removed = session_removed_at(carol)
if check(shown and removed is not None, "logind removed carol's session", (shown, removed)):
    gap = removed - shown[0]
    print(f"# carol's session was removed {gap:.2f} s after the message reached her terminal")
    check(gap >= GRACE, f"the logoff came >= {GRACE} s after the message ({gap:.2f} s)")
ok, left = vpclogind.wait(lambda: vpcguest.users(VM), lambda v: v == [], 30)
check(ok, "nobody is logged on afterwards", left)

# --- Cancel in the grace: nobody is logged off -----------------------------------------------------
carol = vpclogind.login(VM, "carol", "ssh2", "ssh")
rec = SignalRecorder()
r = with_options({"Message": dbus.String("This logoff will be called off."), "GraceSec": dbus.UInt32(60)})
task = r.value if r.ok else None
check(task is not None, "a second LogoffWithOptions, GraceSec 60", r)
if task:
    # Progress above 0 says the message went out and the grace runs.
    check(rec.wait_for(lambda e: e[0] == task and e[2] == "Progress" and e[3][0] > 0, timeout=60) is not None,
          "the grace started (Progress above 0)", progress_values(rec, task))
    r = call(task, TASK, "Cancel")
    check(r.ok, "Cancel in the grace", r)
    c = completed(rec, task, 30)
    check(c is not None and c[1] == "org.vpc.Error.Cancelled", "the task ends Cancelled", c)
    time.sleep(3)
    check(vpcguest.users(VM) == ["carol"], "carol is still logged on after the Cancel", vpcguest.users(VM))
    states = [s["State"] for s in vpclogind.sessions(VM) if s.get("Id") == carol]
    check(states in (["active"], ["online"]), "her session is still open in logind", vpclogind.sessions(VM))
    shown = [l for _, l in terminal_output("vpc-login-ssh2.service") if "will be called off" in l]
    check(len(shown) == 1, "she was sent the message", shown)

# --- a message of 100 KiB never reaches the guest --------------------------------------------------
before = len(terminal_output("vpc-login-ssh2.service"))
r = with_options({"Message": dbus.String("$(touch /tmp/pwned) " * 5120), "GraceSec": dbus.UInt32(0)})
expect_error(r, "org.freedesktop.DBus.Error.InvalidArgs", "a message of 100 KiB")
check("option 'Message'" in (r.error_message or ""), "the refusal names Message", r.error_message)
time.sleep(1)
check(len(terminal_output("vpc-login-ssh2.service")) == before and vpcguest.users(VM) == ["carol"],
      "nothing reached carol's terminal and she is still logged on", vpcguest.users(VM))
finish()
