"""Section `flood`: fairness while one unprivileged caller floods. Another caller's polkit-allowed Logoff
on a shut-off VM (polkit, then VmNotRunning) and root's GetAll, each sent one at a time by a probe of
its own, during a flood of 5,000 and of 50,000 Logoff calls pipelined by one denied user, against
the same probes unloaded in the same round."""

import json
import os
import statistics
import subprocess
import time

from .context import ALLOWED, ROOT, WEB, log
from .tools import as_user, encode_path, in_each_daemon, load_argv

DENIED = os.environ.get("VPC_DENIED_USER", "")
PROBE = os.path.join(ROOT, "bench", "flood-probe.py")
SHUT_OFF = "db.prod-2"
FLOOD_ANSWERS = {"org.freedesktop.DBus.Error.LimitsExceeded",
                 "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"}
PROBES = {
    "logoff_user": (ALLOWED, {"path": encode_path(SHUT_OFF), "interface": "org.vpc.GuestOS", "method": "Logoff"},
                    "org.vpc.Error.VmNotRunning"),
    "getall_root": (None, {"path": encode_path(WEB), "interface": "org.freedesktop.DBus.Properties",
                           "method": "GetAll", "signature": "s", "args": ["org.vpc.GuestOS"]}, "ok"),
}


def start_probes():
    procs = {}
    for name, (user, req, _) in PROBES.items():
        argv = ["/usr/bin/python3", PROBE, json.dumps(req)]
        procs[name] = subprocess.Popen(as_user(user, argv) if user else argv, stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return procs


def stop_probes(procs):
    out = {}
    for name, p in procs.items():
        stdout, stderr = p.communicate("", timeout=300)
        if p.returncode != 0:
            raise RuntimeError(f"flood probe {name} failed: {stderr.strip()[-400:]}")
        samples = json.loads(stdout)
        wrong = {s[2] for s in samples} - {PROBES[name][2]}
        if wrong:
            raise RuntimeError(f"flood probe {name} got {wrong}, not only {PROBES[name][2]}")
        out[name] = samples
    return out


def p(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def unloaded(seconds):
    procs = start_probes()
    time.sleep(seconds)
    return {k: [s[1] for s in v] for k, v in stop_probes(procs).items()}


def flooded(b, n):
    """The probes' latencies of calls sent while n pipelined calls were being answered, and the flood."""
    procs = start_probes()
    time.sleep(0.5)
    argv = load_argv(b, "org.vpc", encode_path(WEB), "org.vpc.GuestOS", "Logoff", count=n, in_flight=n, warmup=0)
    out = subprocess.run(as_user(DENIED, argv), capture_output=True, text=True, timeout=600)
    samples = stop_probes(procs)
    if out.returncode != 0:
        raise RuntimeError(f"flooder failed: {out.stderr.strip()[-400:]}")
    rep = json.loads(out.stdout.strip().splitlines()[-1])
    if set(rep["errors"]) - FLOOD_ANSWERS or rep["ok"] or sum(rep["errors"].values()) != n:
        raise RuntimeError(f"the flood got unexpected answers: {rep}")
    t0, t1 = rep["start_ns"] / 1e9, rep["end_ns"] / 1e9
    # A call counts when it was in flight at any time during the flood.
    return {k: [s[1] for s in v if s[0] <= t1 and s[0] + s[1] >= t0] for k, v in samples.items()}, rep


def run(b):
    sec = "flood"
    rounds = 2 if b.quick else 3
    sizes = (5000, 50000)
    prefixes = [p for p, _ in b.daemons()]
    base = {(d, k): [] for d in prefixes for k in PROBES}
    during = {(d, n, k): [] for d in prefixes for n in sizes for k in PROBES}
    per_round = {(d, n, k): [] for d in prefixes for n in sizes for k in PROBES}
    walls = {(d, n): [] for d in prefixes for n in sizes}

    def one_round(d):
        for n in sizes:
            ref = unloaded(1.5)
            got, rep = flooded(b, n)
            walls[(d, n)].append(rep["wall_s"])
            for k in PROBES:
                if not got[k]:
                    raise RuntimeError(f"no {k} call was in flight during the flood of {n}")
                base[(d, k)] += ref[k]
                during[(d, n, k)] += got[k]
                per_round[(d, n, k)].append(p(got[k], 0.9) / p(ref[k], 0.9))

    for rnd in range(rounds):
        log(f"flood round {rnd + 1}/{rounds}")
        in_each_daemon(b, one_round)
    for d in prefixes:
        for k in PROBES:
            b.figure(sec, f"{d}flood_unloaded_{k}_p90", p(base[(d, k)], 0.9) * 1e3, "ms",
                     "the probe alone, all rounds")
        for n in sizes:
            tag = f"{n // 1000}k"
            b.figure(sec, f"{d}flood_{tag}_wall", statistics.median(walls[(d, n)]), "s",
                     f"{n} Logoff calls pipelined by one denied user: first sent to last answered, median")
            for k in PROBES:
                v = during[(d, n, k)]
                b.figure(sec, f"{d}flood_{tag}_{k}_p90", p(v, 0.9) * 1e3, "ms",
                         f"{len(v)} calls in flight during the floods, all rounds")
                b.figure(sec, f"{d}flood_{tag}_{k}_max", max(v) * 1e3, "ms", "the slowest of them")
                r = per_round[(d, n, k)]
                how = (f"p90 during a flood of {n} / p90 unloaded, same round; median of {rounds} rounds "
                       f"(spread {min(r):.2f}-{max(r):.2f})")
                if d:
                    b.figure(sec, f"ratio_{d}flood_{tag}_{k}", statistics.median(r), "x",
                             "the same ratio for the baseline daemon, same rounds")
                else:
                    b.ratio(f"flood_{tag}_{k}", statistics.median(r), 2, how)
