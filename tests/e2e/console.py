#!/usr/bin/python3
"""End to end, the console-disconnect policy (docs/dbus-api.md, "The console-disconnect policy") on
one real guest (g1: alice and bob logged in) with a VNC server on a UNIX socket (with-env --vnc) and real RFB
clients (tests/lib/vpcrfb.py): QEMU reports them, libvirt turns that into graphics events, the
daemon counts them. With policy logoff, the last client leaving starts an ordinary Logoff task
(Owner 0, "Logoff (console disconnected)") after the delay and the users are gone; nothing happens
for a client that comes back within the delay, while a second client stays, for a connection that
never passed its handshake, with policy none, for a client that was connected before the daemon
restarted, or when the VM is destroyed during the delay; a VM paused during the delay runs the
delay again, in full, once it resumes with nobody at its console. Only authorized callers set the policy;
it lives in the domain's metadata, so it survives daemon and libvirtd restarts, and `virsh
metadata` changes it. "Nothing happens" is waited for past the delay plus a margin, then checked:
no Task object appeared and the users are still logged on. Prints the time from the last client's
disconnect to the task's start and to its Completed."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import *  # noqa: E402,F403
import vpcrfb  # noqa: E402

VM = "g1"
PATH = encode_path(VM)
USERS = ["alice", "bob"]
GUESTOS = "org.vpc.GuestOS"
SOCKET = os.path.join(os.environ["VPC_ENV_DIR"], f"guest-{VM}.vnc")
NS = "https://vpc.org/xmlns/guestos/1"
URI = os.environ.get("VPC_GUEST_URI", "qemu:///system")
ENVCTL = os.path.join(os.environ["VPC_SOURCE_ROOT"], "tests", "lib", "envctl")
# Past the delay, how long "nothing happens" is watched: a DISCONNECT reaches the daemon ~20 ms
# after the close (up to ~300 ms after boot), the guest check takes a round trip to the agent.
MARGIN = 5.0
measured = []


def prop(name):
    return get_property(PATH, GUESTOS, name)


def wait_prop(name, value, timeout=20):
    return wait_until(lambda: prop(name) == value, timeout)


def set_policy(policy, delay, user=None, interactive=False):
    return call(PATH, GUESTOS, "SetConsoleDisconnectPolicy", "su", (policy, delay), user=user,
                interactive=interactive)


def virsh(*args):
    r = subprocess.run(["virsh", "-q", "-c", URI, *args], capture_output=True, text=True, timeout=60)
    return r.returncode == 0, (r.stdout + r.stderr).strip()


def envctl(*args):
    """(succeeded, its standard output); daemon-stop prints the daemon's exit status."""
    # Files, not pipes: what envctl starts in the background keeps its stderr open.
    import tempfile
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        r = subprocess.run([ENVCTL, *args], stdin=subprocess.DEVNULL, stdout=out, stderr=err, text=True)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().strip(), err.read().strip()
    if r.returncode != 0:
        print(f"# envctl {' '.join(args)} failed: {stderr[-500:]}")
    return r.returncode == 0, stdout


def daemon_log():
    with open(os.path.join(os.environ["VPC_ENV_DIR"], "daemon.log"), errors="replace") as f:
        return f.read()


def tasks_added(rec, since):
    """(path, properties) of every Task that appeared since the mark."""
    rec.drain()
    return [(e[3][0], e[3][1].get(TASK, {})) for e in rec.events[since:]
            if e[2] == "InterfacesAdded" and str(e[3][0]).startswith("/org/vpc/Task/")]


def wait_task_added(rec, since, timeout):
    """The first Task that appeared since the mark and when it was seen (monotonic), or (None, None)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        added = tasks_added(rec, since)
        if added:
            return added[0], time.monotonic()
        time.sleep(0.005)
    return None, None


def nothing_happens(rec, since, delay, what):
    """Waits past the delay plus the margin, then: no task appeared, the users are still there."""
    rec.pump(delay + MARGIN)
    added = tasks_added(rec, since)
    check(added == [], f"{what}: no Logoff task within {delay} s + {MARGIN} s", added)
    check(vpcguest.users(VM) == USERS, f"{what}: alice and bob are still logged on", vpcguest.users(VM))


def connect(n=1):
    """n clients past their handshake, and ConsoleClients saying so."""
    clients = [vpcrfb.handshake(SOCKET) for _ in range(n)]
    check(wait_prop("ConsoleClients", n), f"ConsoleClients is {n} with {n} client(s) connected", prop("ConsoleClients"))
    return clients


def leave(client, left):
    client.close()
    check(wait_prop("ConsoleClients", left), f"a client left: ConsoleClients is {left}", prop("ConsoleClients"))


def log_in_again():
    login(VM, "alice", "pts/4")
    login(VM, "bob", "pts/5")
    check(wait_users(VM, USERS) == USERS, "alice and bob logged on again")


def console_logoff(rec, client, delay, what):
    """The last client leaves (the policy is logoff with this delay): a Logoff task of the console
    policy starts after the delay and logs everybody off."""
    since = rec.mark()
    t_close = time.monotonic()
    client.close()
    (task, props), t_task = wait_task_added(rec, since, delay + 30)
    check(task is not None, f"{what}: a Logoff task starts after the last client left")
    if task is None:
        return None
    check(props.get("Description") == "Logoff (console disconnected)" and props.get("Owner") == 0,
          f"{what}: it is the console policy's Logoff, owned by uid 0", props)
    after = t_task - t_close
    # Not before the delay (the daemon's timer starts only when the DISCONNECT reached it).
    check(after >= delay - 0.05, f"{what}: it started no earlier than the delay ({after:.2f} s >= {delay} s)")
    # A Logoff call meanwhile joins the running task, as any concurrent Logoff does.
    r = logoff(VM)
    replied_usec = time.time() * 1e6
    finished = task_props(task).get("FinishedUSec", 0)
    check(r.ok and (r.value == task or 0 < finished <= replied_usec),
          f"{what}: a Logoff call gets that task (unless it had ended by the reply)", (r, task, finished))
    print(f"# {what}: the Logoff call {'joined the task' if r.value == task else 'came after its end'}")
    c = completed(rec, task, 60)
    t_done = time.monotonic()
    check(c == [0, "", ""], f"{what}: the task completes with 0", c)
    check_gone(VM, USERS, what)
    print(f"# {what}: last client's close -> task {after:.2f} s (delay {delay} s), -> Completed {t_done - t_close:.2f} s")
    measured.append((what, delay, after, t_done - t_close))
    return task


rec = SignalRecorder()

# --- the start: no policy, no client -----------------------------------------------------------
check(wait_users(VM, USERS) == USERS, "the guest starts with alice and bob logged on")
check(prop("ConsoleDisconnectPolicy") == "none" and prop("ConsoleDisconnectDelaySec") == 30 and prop("ConsoleClients") == 0,
      "a VM without the metadata: policy none, delay 30, no client",
      (prop("ConsoleDisconnectPolicy"), prop("ConsoleDisconnectDelaySec"), prop("ConsoleClients")))

# --- who may set it, and what ------------------------------------------------------------------
expect_error(set_policy("logoff", 2, user=DENIED, interactive=True), "org.freedesktop.DBus.Error.AccessDenied",
             "SetConsoleDisconnectPolicy by a user outside group libvirt")
expect_error(set_policy("logoff", 2, user=DENIED), "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
             "the same user without interactive authorization")
ok, md = virsh("metadata", VM, "--uri", NS)
check(prop("ConsoleDisconnectPolicy") == "none" and not ok, "after the denials the policy and the metadata are unchanged", md)
expect_error(set_policy("shutdown", 2), "org.freedesktop.DBus.Error.InvalidArgs", "policy 'shutdown'")
expect_error(set_policy("logoff", 86401), "org.freedesktop.DBus.Error.InvalidArgs", "delay 86401")
r = set_policy("none", 1, user=ALLOWED)
check(r.ok, "a member of group libvirt sets policy none, delay 1", r)
check(prop("ConsoleDisconnectDelaySec") == 1, "the reply comes once the property says so", prop("ConsoleDisconnectDelaySec"))

# --- policy none: a client leaves, nothing happens ----------------------------------------------
since = rec.mark()
leave(connect()[0], 0)
nothing_happens(rec, since, 1, "policy none")

# --- policy logoff, delay 2, in the metadata -----------------------------------------------------
r = set_policy("logoff", 2)
check(r.ok and prop("ConsoleDisconnectPolicy") == "logoff" and prop("ConsoleDisconnectDelaySec") == 2,
      "root sets policy logoff, delay 2", r)
ok, md = virsh("metadata", VM, "--uri", NS)
check(ok and "console-disconnect=\"logoff\"" in md and "delay=\"2\"" in md,
      "the domain's metadata holds <policy console-disconnect='logoff' delay='2'/>", md)

# --- a bare connection (no handshake) arms nothing ------------------------------------------------
since = rec.mark()
probe = vpcrfb.bare(SOCKET)
rec.pump(1.0)
check(prop("ConsoleClients") == 0, "a bare connection is no client", prop("ConsoleClients"))
probe.close()
nothing_happens(rec, since, 2, "a bare connection came and went")

# --- two clients, one leaves: nothing; the other leaves: Logoff -----------------------------------
first, second = connect(2)
since = rec.mark()
leave(first, 1)
nothing_happens(rec, since, 2, "one of two clients left")
task = console_logoff(rec, second, 2, "the last of two clients left")
log = daemon_log()
check(task is not None and "event=console-logoff" in log and f"task={task}" in log and 'client="unix"' in log,
      "the console-disconnect Logoff is audited as its own kind, with the client's address")

# --- a client that comes back within the delay: nothing ---------------------------------------------
log_in_again()
r = set_policy("logoff", 3)
check(r.ok, "policy logoff, delay 3", r)
since = rec.mark()
leave(connect()[0], 0)
back = connect()
nothing_happens(rec, since, 3, "a client came back within the delay")
# ... and a policy changed to none while it is connected: its leaving does nothing either.
r = set_policy("none", 3)
check(r.ok and prop("ConsoleDisconnectPolicy") == "none", "policy none while a client is connected", r)
since = rec.mark()
leave(back[0], 0)
nothing_happens(rec, since, 3, "policy none when the client left")

# --- a policy set with virsh metadata takes effect (metadata-change event) --------------------------
ok, md = virsh("metadata", VM, "--uri", NS, "--key", "vpc", "--set",
               "<policy console-disconnect='logoff' delay='1'/>", "--live", "--config")
check(ok, "virsh metadata sets logoff, delay 1", md)
check(wait_prop("ConsoleDisconnectPolicy", "logoff") and wait_prop("ConsoleDisconnectDelaySec", 1),
      "the daemon picks it up", (prop("ConsoleDisconnectPolicy"), prop("ConsoleDisconnectDelaySec")))
console_logoff(rec, connect()[0], 1, "policy set with virsh metadata")

# --- the daemon restarts: the policy is read back, the count starts at 0 --------------------------
log_in_again()
r = set_policy("logoff", 2)
check(r.ok, "policy logoff, delay 2", r)
early = connect()
ok, status = envctl("daemon-stop")
check(ok and status == "0", "the daemon stops with exit status 0 (under ASan/valgrind: no leak)", status)
check(envctl("daemon-start", *os.environ.get("VPC_DAEMON_ARGS", "").split())[0], "the daemon started again")
rec = SignalRecorder()
check(wait_prop("ConsoleDisconnectPolicy", "logoff") and prop("ConsoleDisconnectDelaySec") == 2,
      "after a daemon restart the policy is read back from the metadata",
      (prop("ConsoleDisconnectPolicy"), prop("ConsoleDisconnectDelaySec")))
check(prop("ConsoleClients") == 0, "... and the count starts at 0 (libvirt cannot list the clients)",
      prop("ConsoleClients"))
since = rec.mark()
early[0].close()
nothing_happens(rec, since, 2, "a client connected before the restart left")

# --- libvirtd restarts: the policy is read back and the events come again --------------------------
connections = daemon_log().count(f"connected to {URI}")
check(envctl("libvirtd-stop")[0] and envctl("libvirtd-start")[0], "libvirtd restarted")
check(wait_until(lambda: daemon_log().count(f"connected to {URI}") > connections, 60), "the daemon reconnected")
check(wait_prop("ConsoleDisconnectPolicy", "logoff") and prop("ConsoleDisconnectDelaySec") == 2,
      "after a libvirtd restart the policy is still logoff, delay 2",
      (prop("ConsoleDisconnectPolicy"), prop("ConsoleDisconnectDelaySec")))
console_logoff(rec, connect()[0], 2, "after the libvirtd restart")

# --- the VM paused during the delay: nothing while paused; resumed, the delay runs again in full ----
log_in_again()
r = set_policy("logoff", 2)
check(r.ok, "policy logoff, delay 2", r)
since = rec.mark()
leave(connect()[0], 0)
ok, out = virsh("suspend", VM)
check(ok and wait_prop("State", "paused"), "the VM paused during the delay", out)
rec.pump(2 + MARGIN)
check(tasks_added(rec, since) == [], f"paused: no Logoff task within 2 s + {MARGIN} s", tasks_added(rec, since))
since = rec.mark()
t_resume = time.monotonic()
ok, out = virsh("resume", VM)
check(ok and wait_prop("State", "running"), "the VM resumed with nobody at its console", out)
added, t_task = wait_task_added(rec, since, 2 + 30)
check(added is not None and added[1].get("Description") == "Logoff (console disconnected)",
      "resumed: the console-disconnect Logoff starts", added)
if added:
    check(t_task - t_resume >= 2 - 0.05, f"... a full delay after the resume ({t_task - t_resume:.2f} s >= 2 s)")
    c = completed(rec, added[0], 60)
    check(c == [0, "", ""], "... and completes with 0", c)
    check_gone(VM, USERS, "the Logoff after the resume")

# --- the new actions (round 3) ----------------------------------------------------------------------
def set_policy_message(policy, delay, message):
    return call(PATH, GUESTOS, "SetConsoleDisconnectPolicyWithOptions", "sua{sv}", (policy, delay, {"Message": message}))


LOCK_OUTCOMES = ([0, "", ""], "org.vpc.Error.AdditionsFeatureNotAvailable")

# A client back within the 2 s debounce: no disconnect at all, not even the lock.
log_in_again()
disconnects = daemon_log().count("stayed away")
r = set_policy("lock-then-logoff", 1)
check(r.ok, "policy lock-then-logoff, delay 1", r)
since = rec.mark()
leave(connect()[0], 0)
back = connect()
nothing_happens(rec, since, 1, "a client back within the debounce")
check(daemon_log().count("stayed away") == disconnects, "... the daemon never took it for a disconnect")

# lock-then-logoff: the Lock when the disconnect is confirmed, the Logoff the delay later.
r = set_policy("lock-then-logoff", 3)
check(r.ok, "policy lock-then-logoff, delay 3", r)
since = rec.mark()
t_close = time.monotonic()
back[0].close()
(lock_task, props), t_lock = wait_task_added(rec, since, 30)
check(lock_task is not None and props.get("Description") == "Lock (console disconnected)" and props.get("Owner") == 0,
      "lock-then-logoff: a Lock task of the console policy comes first", props)
if lock_task:
    check(t_lock - t_close >= 2 - 0.05, f"... after the debounce ({t_lock - t_close:.2f} s >= 2 s)")
    c = completed(rec, lock_task, 60)
    # The busybox guest has no lock mechanism: the Lock ends so and says why; logind's locks.
    check(c is not None and (c == LOCK_OUTCOMES[0] or c[1] == LOCK_OUTCOMES[1]),
          "... and ends with 0 or AdditionsFeatureNotAvailable", c)
    since2 = rec.mark()
    (logoff_task, props), t_logoff = wait_task_added(rec, since2, 30)
    check(logoff_task is not None and props.get("Description") == "Logoff (console disconnected)",
          "lock-then-logoff: then the Logoff task", props)
    if logoff_task:
        check(t_logoff - t_lock >= 3 - 0.3, f"... the delay after the lock ({t_logoff - t_lock:.2f} s >= 3 s)")
        check(completed(rec, logoff_task, 60) == [0, "", ""], "... completes with 0")
        check_gone(VM, USERS, "lock-then-logoff")
        measured.append(("lock-then-logoff", 3, t_logoff - t_close, time.monotonic() - t_close))

# warn-then-logoff: the Logoff task with the message at once, its grace the delay; a client back
# during it cancels it and nobody is logged off.
log_in_again()
r = set_policy_message("warn-then-logoff", 6, "The console left: log off in 6 s.")
check(r.ok and prop("ConsoleDisconnectMessage") == "The console left: log off in 6 s.",
      "policy warn-then-logoff, delay 6, with a message", r)
since = rec.mark()
leave(connect()[0], 0)
(warn_task, props), t_warn = wait_task_added(rec, since, 30)
check(warn_task is not None and props.get("Description") == "Logoff (console disconnected)",
      "warn-then-logoff: the Logoff task starts when the disconnect is confirmed", props)
back = connect()
if warn_task:
    c = completed(rec, warn_task, 30)
    check(c is not None and c[1] == "org.vpc.Error.Cancelled", "a client back during the grace cancels it", c)
    rec.pump(6 + MARGIN)
    check(vpcguest.users(VM) == USERS, "... and alice and bob are still logged on", vpcguest.users(VM))
since = rec.mark()
t_close = time.monotonic()
back[0].close()
(warn_task, props), t_warn = wait_task_added(rec, since, 30)
if warn_task:
    c = completed(rec, warn_task, 60)
    t_done = time.monotonic()
    check(c == [0, "", ""] and t_done - t_warn >= 6 - 0.3,
          f"warn-then-logoff: completes with 0 after the grace ({t_done - t_warn:.2f} s >= 6 s)", c)
    check_gone(VM, USERS, "warn-then-logoff")
    measured.append(("warn-then-logoff", 6, t_warn - t_close, t_done - t_close))
else:
    check(False, "warn-then-logoff: a Logoff task without a client back")
log_in_again()

# --- the VM destroyed during the delay: no task --------------------------------------------------
r = set_policy("logoff", 4)
check(r.ok, "policy logoff, delay 4", r)
client = connect()[0]
since = rec.mark()
leave(client, 0)
ok, out = virsh("destroy", VM)
check(ok and wait_prop("State", "shutoff"), "the VM destroyed during the delay", out)
rec.pump(4 + MARGIN)
check(tasks_added(rec, since) == [], f"no Logoff task within 4 s + {MARGIN} s", tasks_added(rec, since))
check("called off: the VM is not running" in daemon_log(), "the daemon says it called the Logoff off")

for what, delay, start, done in measured:
    print(f"# measured: {what}: delay {delay} s, close -> task {start:.2f} s (+{start - delay:.2f} s), -> Completed {done:.2f} s")
finish()
