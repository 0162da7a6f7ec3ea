"""Section `fleet` (issue 20): the fleet suite's three managed hosts (tests/fleet/fleet.py, each a
private environment of its own with an sshd inside, started here beside the bench's own) and the
nightly play (tests/fleet/playbooks/nightly.yml, nothing left to change after its warm-up runs)
timed on each host alone, on all three with --forks 3 and with --forks 1, in interleaved rounds.
The play's time is the fleet timer's (from the play's start to its recap: ansible-playbook's own
start-up is left out)."""

import os
import statistics
import sys

from .context import ROOT, log

sys.path.insert(0, os.path.join(ROOT, "tests", "fleet"))
from fleet import Fleet  # noqa: E402

BOOK = "nightly.yml"
# The tasks every host runs (the third, logoff, runs on host-a only).
EVERY_HOST = ("Who is where", "Log off when the console's last client leaves")


def load1():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def play(fleet, *args, spans=None):
    """The play's seconds; the spans of EVERY_HOST's task runs appended to SPANS."""
    rc, recap, seconds, _, out = fleet.playbook(BOOK, *args)
    if rc != 0 or any(c.get("failed") or c.get("unreachable") for c in recap.values()):
        raise RuntimeError(f"fleet: {BOOK} {' '.join(args)} failed (exit {rc}): {out[-1500:]}")
    if spans is not None:
        spans += [t["end"] - t["start"] for t in fleet.tasks if t["task"] in EVERY_HOST and t["end"] is not None]
    return seconds


def run(b):
    sec = "fleet"
    # fleet-host.py puts the build's vpcctl on each host's PATH.
    os.environ.setdefault("VPCCTL", os.path.join(os.path.dirname(b.opts.bindir), "client", "vpcctl"))
    fleet = Fleet()
    try:
        log("fleet: starting three managed hosts")
        if not fleet.start():
            raise RuntimeError("fleet: a host did not come up: " + " | ".join(fleet.log(n) for n in fleet.hosts))
        for _ in range(2):              # the first run logs off and sets policies; then nothing changes
            play(fleet)
        rounds = 3 if b.quick else 7
        alone = {h: [] for h in fleet.hosts}
        par, serial, loads = [], [], [load1()]
        span_alone, span_par = [], []
        for rnd in range(rounds):
            log(f"fleet round {rnd + 1}/{rounds}")
            for h in fleet.hosts:
                alone[h].append(play(fleet, "--limit", h, spans=span_alone))
            par.append(play(fleet, "--forks", "3", spans=span_par))
            serial.append(play(fleet, "--forks", "1"))
            loads.append(load1())
    finally:
        fleet.stop()
        fleet.remove()
    slowest = [max(alone[h][r] for h in alone) for r in range(rounds)]
    for h, times in alone.items():
        b.figure(sec, f"fleet_play_{h.replace('-', '_')}_alone", statistics.median(times), "s",
                 f"{BOOK} with --limit {h}, median of {rounds} rounds")
    b.figure(sec, "fleet_play_slowest_alone", statistics.median(slowest), "s",
             "per round the slowest of the three hosts alone, median")
    b.figure(sec, "fleet_play_forks3", statistics.median(par), "s", "all three hosts, --forks 3, median")
    b.figure(sec, "fleet_play_forks1", statistics.median(serial), "s", "all three hosts, --forks 1, median")
    b.figure(sec, "fleet_load_1min", statistics.median(loads), "",
             f"the machine's 1-minute load average during the rounds (from {min(loads):.1f} to {max(loads):.1f})")
    per_round = [par[r] / slowest[r] for r in range(rounds)]
    b.ratio("fleet_forks3_over_slowest_alone", statistics.median(per_round), 1.5,
            f"the play on all three hosts with --forks 3 / the slowest host alone, median of {rounds} per-round "
            f"ratios (spread {min(per_round):.2f}-{max(per_round):.2f})")
    b.figure(sec, "fleet_task_alone", statistics.median(span_alone), "s",
             "one host's run of a task every host runs (guest_info, console_policy), host alone, median")
    b.figure(sec, "fleet_task_forks3", statistics.median(span_par), "s",
             "the same with the three hosts at once (--forks 3), median: a task's own slow-down when three run")
    serial_ratio = [serial[r] / slowest[r] for r in range(rounds)]
    b.figure(sec, "ratio_fleet_forks1_over_slowest_alone", statistics.median(serial_ratio), "x",
             "--forks 1 / the slowest host alone, median of per-round ratios (the hosts one after another)")
    b.figure(sec, "ratio_fleet_forks3_over_forks1", statistics.median([par[r] / serial[r] for r in range(rounds)]),
             "x", "--forks 3 / --forks 1, median of per-round ratios")
