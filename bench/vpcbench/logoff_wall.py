"""Section `logoff-wall`: per guest tier, a Logoff's wall time (call to WaitForCompletion's reply)
against its floor, the same logoff program run directly through the agent (bench-logoff-wall)."""

import json
import os
import statistics
import subprocess
import time

from .context import GUEST_URI, ROOT, log
from .tools import encode_path, envctl, restart_daemon, sh_env

# Each tier: (its image builder, which must exist for the tier to be measured; the logoff program
# the daemon picks on it).
WALL_TIERS = [("busybox", "tests/guest/build-image.sh", "linux-plain"),
              ("systemd", "tests/guest/build-systemd-image.sh", "linux-logind")]
WALL_USERS = "alice,bob,root"
WALL_LOGIN = "/etc/vpc-login"


def skip(b, msg):
    print(msg, flush=True)
    b.note(msg + ".")


def destroy(name):
    subprocess.run(["virsh", "-q", "-c", GUEST_URI, f"destroy {name}; undefine {name}"], capture_output=True)


def measure(b, tier, name, strategy, users, rounds):
    r = subprocess.run([b.bin["logoff-wall"], "--uri", GUEST_URI, "--domain", name, "--path", encode_path(name),
                        "--strategy", strategy, "--users", users, "--login", WALL_LOGIN,
                        "--rounds", str(rounds)],
                       capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        raise RuntimeError(f"bench-logoff-wall on {tier}: {r.stderr.strip()[-800:]}")
    res = json.loads(r.stdout)
    return users, res["daemon_ms"], res["floor_ms"], res["paced_ms"]


def report(b, sec, tier, strategy, prefix, users, d, tight, paced):
    # The floor of a round: the faster of the two ways of polling (see bench-logoff-wall).
    f = [min(x, y) for x, y in zip(tight, paced)]
    per_round = [x / y for x, y in zip(d, f)]
    b.figure(sec, f"{prefix}{tier}_logoff_wall_p50", statistics.median(d), "ms",
             f"Logoff call to WaitForCompletion's reply, root, {users} logged on, median of {len(d)}")
    b.figure(sec, f"{prefix}{tier}_logoff_wall_max", max(d), "ms", "the slowest of those")
    b.figure(sec, f"{prefix}{tier}_floor_tight_p50", statistics.median(tight), "ms",
             f"guest-exec of this build's {strategy} program, then guest-exec-status and guest-get-users "
             f"back to back until it exited and nobody is left, median of {len(tight)}")
    b.figure(sec, f"{prefix}{tier}_floor_paced_p50", statistics.median(paced), "ms",
             "the same with 5 ms between the calls (back-to-back calls take the TCG guest's vCPU from "
             "the program)")
    b.figure(sec, f"{prefix}{tier}_floor_p50", statistics.median(f), "ms", "per round the faster of the two: the floor")
    how = (f"Logoff wall time / the same program run directly through the agent with tight (or 5 ms "
           f"paced, whichever was faster in the round) polling, {users} logged on, median of "
           f"{len(per_round)} per-round ratios (rotating order; the users log in again before each "
           f"measurement)")
    if prefix:
        b.figure(sec, f"ratio_{prefix}logoff_wall_{tier}", statistics.median(per_round), "x",
                 how + ("; the baseline daemon runs its own program, the floor is this build's" if
                        prefix.startswith("baseline") else ""))
    else:
        b.ratio(f"logoff_wall_{tier}", statistics.median(per_round), 1.2, how)


def run(b):
    import vpcguest  # tests/lib, on the path through .tools

    sec = "logoff-wall"
    rounds = 5 if b.quick else 11
    # VPC_BENCH_WALL_TIERS=systemd (comma-separated) measures those tiers only.
    only = [t for t in os.environ.get("VPC_BENCH_WALL_TIERS", "").split(",") if t]
    for tier, builder, strategy in WALL_TIERS:
        if only and tier not in only:
            skip(b, f"logoff-wall: tier {tier} skipped: not in VPC_BENCH_WALL_TIERS")
            continue
        if not os.path.exists(os.path.join(ROOT, builder)):
            skip(b, f"logoff-wall: tier {tier} skipped: its image builder {builder} is not present")
            continue
        name = f"bench-wall-{tier}"
        t0 = time.monotonic()
        log(f"logoff-wall: booting {name} ({tier} tier, {WALL_USERS} logged in)")
        sh_env(f"export VPC_GUEST_TIER={tier}; vpc_guest_image >/dev/null; vpc_guest_start {name} {WALL_USERS}")
        restart_daemon(GUEST_URI)
        b.figure(sec, f"{tier}_setup", time.monotonic() - t0, "s", "guest booted (TCG), daemon restarted on it")
        # The users log in again before each measurement through the guest's own login program,
        # vpc-login USER TTY.
        if vpcguest.guest_exec(name, ["/bin/sh", "-c", f"test -x {WALL_LOGIN}"])[0] != 0:
            skip(b, f"logoff-wall: tier {tier} skipped: the guest has no {WALL_LOGIN} to log users in again")
            destroy(name)
            continue
        try:
            runs = [("", measure(b, tier, name, strategy, WALL_USERS, rounds))]
            if b.baseline:
                # Before/after: the baseline daemon cannot end root's session (issue 12), so both
                # are measured with alice and bob only, the baseline right after this build.
                runs.append(("nonroot_", measure(b, tier, name, strategy, "alice,bob", rounds)))
                envctl("daemon-stop")
                envctl("daemon-start", *os.environ.get("VPC_DAEMON_ARGS", "").split(),
                       env={"VPC_GUESTOSD": b.baseline, "VPC_LIBVIRT_URI": GUEST_URI})
                runs.append(("baseline_nonroot_", measure(b, tier, name, strategy, "alice,bob", rounds)))
                restart_daemon(GUEST_URI)
        finally:
            destroy(name)
        for prefix, (users, d, tight, paced) in runs:
            report(b, sec, tier, strategy, prefix, users, d, tight, paced)
