"""Section `guests`, part isolation: calls on other VMs while one real guest's agent hangs, as ratios
of (call / floor) with the hang over the same without, sampled on one connection."""

import os
import signal
import statistics
import subprocess
import time

from .tools import (GETALL_FLOOR, PING_FLOOR, encode_path, expect_only, load, load_argv, load_paired)

AFNA = "org.vpc.Error.AdditionsFeatureNotAvailable"


def measure(b, specs, live, tag):
    reps = {k: [] for k in specs}
    reps["logoff_live16"] = []
    for _ in range(b.pair_rounds):
        for k, (main, floor, error) in specs.items():
            m, f = load_paired(b, main, floor, b.pair_count // 2)
            expect_only(m, f"{k} ({tag})", error=error)
            reps[k].append({"p50": m["p50_us"], "p99": m["p99_us"], "floor": f["p50_us"],
                            "ratio": m["p50_us"] / f["p50_us"]})
    for _ in range(b.rounds):
        r = load(b, "org.vpc", None, "org.vpc.GuestOS", "Logoff", paths=live, count=b.seq_slow * 4, in_flight=16)
        expect_only(r, f"Logoff on guestless running VMs, 16 in flight ({tag})", error=AFNA)
        reps["logoff_live16"].append({"rate": r["rate"]})
    return {k: {q: statistics.median(x[q] for x in v) for q in v[0]} for k, v in reps.items()}


def run(b, others, live):
    """others: paths of shut-off QEMU domains; live: paths of running guestless ones."""
    sec = "isolation"
    n_live = len(live)
    specs = {
        "getall": (dict(dest="org.vpc", path=None, iface="org.freedesktop.DBus.Properties", member="GetAll", sig="s",
                        args=["org.vpc.GuestOS"], paths=others), GETALL_FLOOR, None),
        "logoff_off": (dict(dest="org.vpc", path=None, iface="org.vpc.GuestOS", member="Logoff", paths=others),
                       PING_FLOOR, "org.vpc.Error.VmNotRunning"),
        "logoff_live": (dict(dest="org.vpc", path=None, iface="org.vpc.GuestOS", member="Logoff", paths=live),
                        PING_FLOOR, AFNA),
    }
    hung_path = encode_path("bench-hang")

    base = measure(b, specs, live, "no hang")
    # The agent of bench-hang stops answering: its QEMU process is stopped (SIGSTOP), so the agent's
    # channel stays open for libvirt while nothing reads it, and every agent command waits for its
    # timeout; the domain stays "running" for libvirt.
    with open("/run/libvirt/qemu/bench-hang.pid") as f:
        qemu_pid = int(f.read().strip())
    os.kill(qemu_pid, signal.SIGSTOP)
    try:
        time.sleep(1)
        hung = load(b, "org.vpc", hung_path, "org.vpc.GuestOS", "Logoff", count=1, warmup=0)
        expect_only(hung, "Logoff on the hung guest", error="org.vpc.Error.Timeout")
        b.figure(sec, "hung_guest_logoff", hung["p50_us"] / 1e6, "s", "Logoff on the hung guest -> Timeout")
        # Two clients keep 16 Logoff calls on the hung guest in flight all along.
        hammer = [subprocess.Popen(load_argv(b, "org.vpc", hung_path, "org.vpc.GuestOS", "Logoff",
                                             count=100000, in_flight=8, warmup=0),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
        try:
            time.sleep(0.5)
            hang = measure(b, specs, live, "one guest hung")
        finally:
            for h in hammer:
                h.terminate()
                h.wait()
    finally:
        os.kill(qemu_pid, signal.SIGCONT)
    b.note(f"Isolation: bench-hang is a real guest whose QEMU process is stopped (SIGSTOP) after boot, so "
           "its agent channel is open but nothing answers (each agent call waits the daemon's 5 s "
           "--agent-timeout); two clients keep 16 Logoff calls on it in flight while GetAll goes to 100 "
           "shut-off QEMU domains and Logoff to those (VmNotRunning once the control worker confirmed the state "
           f"with libvirt) and to {n_live} running "
           "QEMU domains without a guest (agent channel never opened: one libvirt call on an agent worker, "
           "AdditionsFeatureNotAvailable). 100 running guests do not fit this 2-CPU machine.")
    what = {"getall": "GetAll over 100 other VMs",
            "logoff_off": "Logoff on 100 shut-off VMs (state confirmed on the control worker)",
            "logoff_live": f"Logoff on {n_live} running guestless VMs (agent worker + libvirt)"}
    for k, desc in what.items():
        b.figure(sec, f"isolation_{k}_p50_base", base[k]["p50"], "us", f"{desc}, no hang")
        b.figure(sec, f"isolation_{k}_p50_hung", hang[k]["p50"], "us", f"{desc}, one guest's agent hung")
        b.figure(sec, f"isolation_{k}_p99_base", base[k]["p99"], "us", "")
        b.figure(sec, f"isolation_{k}_p99_hung", hang[k]["p99"], "us", "")
        b.figure(sec, f"isolation_{k}_raw", hang[k]["p50"] / base[k]["p50"], "x", "p50 hung / p50 no hang, not paired")
        b.ratio(f"isolation_{k}", hang[k]["ratio"] / base[k]["ratio"], 1.5,
                f"{desc}: (p50 / floor p50) with one guest hung over the same without, the calls alternating with "
                f"their floor's on one connection (median of {b.pair_rounds} rounds each)")
    b.figure(sec, "isolation_logoff_live16_rate_base", base["logoff_live16"]["rate"], "calls/s",
             "16 in flight, no hang")
    b.figure(sec, "isolation_logoff_live16_rate_hung", hang["logoff_live16"]["rate"], "calls/s",
             "16 in flight, one guest hung")
    b.ratio("isolation_logoff_live16_throughput", base["logoff_live16"]["rate"] / hang["logoff_live16"]["rate"], 1.5,
            f"Logoff calls/s on the {n_live} guestless VMs with 16 in flight, no hang / hung (the hung guest holds one "
            "of the 3 agent workers at most)")
