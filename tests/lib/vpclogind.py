"""The systemd guest tier from the tests (tests/guest/build-systemd-image.sh, VPC_GUEST_TIER=systemd):
users log in through PAM the way people do (/etc/vpc-login in the guest: a transient service with
PAMName=login, so logind registers the session and PID 1 records it in utmp), and the tests read
what logind, systemd and /proc say, all through the guest's qemu-ga (tests/lib/vpcguest.py), with
fixed argv of the tests' own."""

import time

import vpcguest

# The guest's users (tests/guest/systemd/customize.sh: the busybox guest's uids). dave lingers: his
# user manager and his own service vpc-worker.service run from boot without any login.
UIDS = {"root": 0, "alice": 1001, "bob": 1002, "carol": 1003, "dave": 1004}
LINGERING = "dave"
# System services that a logoff must leave running.
SYSTEM_SERVICES = ["qemu-guest-agent.service", "dbus.service", "systemd-logind.service",
                   "systemd-journald.service", "systemd-udevd.service", "ssh.service"]


def login(vm, user, tty, mode="plain", timeout=90):
    """Logs `user` in on `tty` (pts/N) and returns the logind session id once the session is fully
    open (PAM done, the shell started). mode: plain, stubborn (the session's processes ignore SIGTERM
    and SIGHUP) or closing (the user logs out at once and leaves a process behind: logind keeps the
    session "closing"; it has no utmp record any more)."""
    rc, out, err = vpcguest.guest_exec(vm, ["/etc/vpc-login", user, tty, mode], timeout)
    if rc != 0:
        raise RuntimeError(f"vpc-login {user} {tty} {mode} in {vm}: exit {rc}: {err.strip()}")
    return out.strip()


def sessions(vm):
    """logind's sessions: a list of dicts with Id, Name (the user), State (active, online, closing)
    and Scope, sorted by Id, as `loginctl show-session` reports them."""
    out = vpcguest.sh(vm, "for id in $(loginctl --no-legend --no-pager list-sessions | awk '{ print $1 }'); do "
                          "loginctl show-session \"$id\" -p Id -p Name -p State -p Scope 2>/dev/null; echo; done")
    found, cur = [], {}
    for line in out.splitlines() + [""]:
        if "=" in line:
            k, v = line.split("=", 1)
            cur[k] = v
        elif cur:
            found.append(cur)
            cur = {}
    return sorted(found, key=lambda s: s.get("Id", ""))


def processes(vm):
    """Every live process of the guest: {pid: (uid, state letter, cgroup path)}. One grep over /proc
    (a shell loop forking per process takes tens of seconds under TCG)."""
    out = vpcguest.sh(vm, "grep -H -e '^Uid:' -e '^State:' /proc/[0-9]*/status 2>/dev/null; "
                          "grep -H . /proc/[0-9]*/cgroup 2>/dev/null; true")
    info = {}
    for line in out.splitlines():
        path, _, value = line.partition(":")
        parts = path.split("/")
        if len(parts) != 4 or not parts[2].isdigit():
            continue
        d = info.setdefault(int(parts[2]), {})
        if parts[3] == "status" and value.startswith("Uid:"):
            d["uid"] = int(value.split()[1])
        elif parts[3] == "status" and value.startswith("State:"):
            d["state"] = value.split()[1]
        elif parts[3] == "cgroup":
            d["cgroup"] = value.split(":", 2)[-1]
    return {pid: (d["uid"], d.get("state", "?"), d.get("cgroup", "")) for pid, d in info.items() if "uid" in d}


def processes_of(vm, uids):
    """(pid, state) of live processes whose real uid is in uids (zombies included)."""
    return sorted((pid, st) for pid, (uid, st, _) in processes(vm).items() if uid in uids)


def session_processes(vm):
    """Live processes in any session scope: a list of (pid, uid, cgroup)."""
    return sorted((pid, uid, cg) for pid, (uid, _, cg) in processes(vm).items() if "/session-" in cg)


def cgroup_processes(vm, part):
    """PIDs of live processes whose cgroup path contains `part` (e.g. "/vpc-worker.service")."""
    return sorted(pid for pid, (_, _, cg) in processes(vm).items() if part in cg)


def units_state(vm, units, user_manager_of=None):
    """{unit: ActiveState} of system units, or of the user manager of `user_manager_of`."""
    scope = f"--user -M {user_manager_of}@ " if user_manager_of else ""
    out = vpcguest.sh(vm, f"for u in {' '.join(units)}; do "
                          f"printf '%s %s\\n' \"$u\" \"$(systemctl {scope}show -p ActiveState --value \"$u\")\"; done")
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def wait(fn, pred, timeout, interval=0.5):
    """Polls fn() until pred(value) holds or timeout seconds pass: (whether it held, last value)."""
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if pred(v):
            return True, v
        if time.monotonic() > end:
            return False, v
        time.sleep(interval)
