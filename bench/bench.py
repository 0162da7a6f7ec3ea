#!/usr/bin/python3
"""The benchmarks of issue 9, run by bench/run inside the private environment (run-isolated +
with-env): floors, the service as ratios to the floors it pays, pipelining against polkitd,
libvirt-dbus side by side, scale to 10,000 domains, isolation from a hung guest, waiters' memory.
Prints `figure NAME VALUE UNIT` and `ratio NAME VALUE GOAL` lines and writes a Markdown table."""

import argparse
import json
import math
import os
import platform
import pwd
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ENVCTL = os.path.join(ROOT, "tests", "lib", "envctl")
ENV_DIR = os.environ["VPC_ENV_DIR"]
ALLOWED = os.environ["VPC_ALLOWED_USER"]
TEST_URI = os.environ.get("VPC_LIBVIRT_URI", "test+unix:///default")

ap = argparse.ArgumentParser()
ap.add_argument("--quick", action="store_true")
ap.add_argument("--bindir", required=True)
ap.add_argument("--output", required=True)
ap.add_argument("--buildtype", default="?")
ap.add_argument("--only", default="", help="comma-separated sections, for development")
opts = ap.parse_args()
QUICK = opts.quick
ONLY = set(filter(None, opts.only.split(",")))
LOAD = os.path.join(opts.bindir, "bench-load")
VIRT_LOAD = os.path.join(opts.bindir, "bench-virt-load")
FLOOR_SERVER = os.path.join(opts.bindir, "bench-floor-server")

ROUNDS = 2 if QUICK else 3
SEQ = 500 if QUICK else 2000            # sequential calls of a cheap method, per round
SEQ_SLOW = 150 if QUICK else 500        # sequential calls that ask libvirt or polkit
PAR = 2000 if QUICK else 8000           # calls with 64 in flight
PAR_SLOW = 500 if QUICK else 2000
IN_FLIGHT = 64
CALLERS = 4                             # unprivileged callers sharing the 64 calls in flight

FLOOR = ("org.vpc.bench.Floor", "/org/vpc/bench/Floor")
POLKIT = ("org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority")
LOGOFF_ACTION = "org.vpc.guestos.logoff"
WEB = "web server 01"
WEB_UUID = "11111111-2222-3333-4444-000000000001"

figures = []            # (name, value, unit)
ratios = []             # (name, value, goal, note)
notes = []
table = []              # (section, name, value, unit, comment)


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def encode_path(name, prefix="/org/vpc/GuestOS/"):
    return prefix + "".join(c if c.isascii() and c.isalnum() else "".join("_%02x" % b for b in c.encode())
                            for c in name)


def figure(section, name, value, unit, comment=""):
    figures.append((name, value, unit))
    table.append((section, name, value, unit, comment))
    print(f"figure {name} {value:.6g} {unit}", flush=True)


def ratio(name, value, goal, comment=""):
    ratios.append((name, value, goal, comment))
    print(f"ratio {name} {value:.3f} {goal:g}", flush=True)


def as_user(user, argv):
    return ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--",
            "env", "-i", "PATH=/usr/bin:/bin", f"DBUS_SYSTEM_BUS_ADDRESS={os.environ['DBUS_SYSTEM_BUS_ADDRESS']}",
            *argv]


def load_argv(dest, path, iface, member, sig=None, args=(), count=1000, in_flight=1, warmup=None,
              polkit=None, details=(), subjects=(), start_at=0, paths=()):
    argv = [LOAD, "--dest", dest, "--iface", iface, "--member", member, "--count", str(count),
            "--in-flight", str(in_flight)]
    for p in ([path] if path else []) + list(paths):
        argv += ["--path", p]
    if warmup is not None:
        argv += ["--warmup", str(warmup)]
    if polkit:
        argv += ["--polkit", polkit]
    for d in details:
        argv += ["--detail", d]
    for s in subjects:
        argv += ["--subject", s]
    if start_at:
        argv += ["--start-at", str(start_at)]
    if sig:
        argv += ["--sig", sig, *args]
    return argv


def run_json(argv, timeout=600):
    out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({out.returncode}): {out.stderr.strip()[-400:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def load(*a, user=None, **kw):
    argv = load_argv(*a, **kw)
    return run_json(as_user(user, argv) if user else argv)


def parallel(argvs, users):
    """Runs several load generators that start together; returns their reports and the aggregate rate."""
    start_at = time.monotonic_ns() + 400_000_000
    procs = []
    for argv, user in zip(argvs, users):
        argv = argv + ["--start-at", str(start_at)]
        procs.append(subprocess.Popen(as_user(user, argv) if user else argv, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    reps = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        if p.returncode != 0:
            raise RuntimeError(f"load generator failed: {err.strip()[-400:]}")
        reps.append(json.loads(out.strip().splitlines()[-1]))
    n = sum(r["n"] for r in reps)
    wall = (max(r["end_ns"] for r in reps) - min(r["start_ns"] for r in reps)) / 1e9
    return reps, n / wall


def envctl(*args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    r = subprocess.run([ENVCTL, *args], capture_output=True, text=True, env=e)
    if r.returncode != 0:
        raise RuntimeError(f"envctl {' '.join(args)} failed: {r.stderr.strip()[-600:]}")
    return r.stdout.strip()


def daemon_pid():
    with open(os.path.join(ENV_DIR, "daemon.pid")) as f:
        return int(f.read().strip())


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def restart_daemon(uri, extra_env=None):
    envctl("daemon-stop")
    env = {"VPC_LIBVIRT_URI": uri}
    env.update(extra_env or {})
    envctl("daemon-start", *os.environ.get("VPC_DAEMON_ARGS", "").split(), env=env)


def expect_only(rep, what, ok=None, error=None):
    """The calls did what they should (a benchmark of failures would measure the wrong path)."""
    errors = rep.get("errors", {})
    if error:
        bad = {k: v for k, v in errors.items() if k != error}
        good = errors.get(error, 0) > 0 and not bad and rep.get("ok", 0) == 0
    else:
        bad = {k: v for k, v in errors.items() if v}
        good = not bad
    if not good:
        raise RuntimeError(f"{what}: unexpected outcome {rep}")


class Holder:
    """An unprivileged bus connection that stays open: a polkit subject like the daemon's callers."""

    def __init__(self, user):
        code = ("import dbus,sys; b=dbus.SystemBus(); print(b.get_unique_name(), flush=True); sys.stdin.read()")
        self.p = subprocess.Popen(as_user(user, ["/usr/bin/python3", "-c", code]), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        self.name = self.p.stdout.readline().strip()

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=10)


def median_of(reps, key):
    return statistics.median(r[key] for r in reps)


# ---------------------------------------------------------------------------------------------------
def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024

    def pkg(p):
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", p], capture_output=True, text=True)
        return r.stdout or "?"

    with open("/proc/loadavg") as f:
        load_avg = " ".join(f.read().split()[:3])
    virt = subprocess.run(["systemd-detect-virt"], capture_output=True, text=True).stdout.strip() or "?"
    return [
        ("date (UTC)", time.strftime("%Y-%m-%d %H:%M", time.gmtime())),
        ("kernel", platform.release()),
        ("CPU", f"{cpu}, {os.cpu_count()} logical CPUs (virtualization: {virt})"),
        ("memory", f"{mem} MiB"),
        ("load average at start", load_avg + " (the machine is shared: ratios are taken within one run)"),
        ("dbus-daemon", pkg("dbus-daemon")),
        ("polkitd", pkg("polkitd")),
        ("libvirt", pkg("libvirt-daemon")),
        ("libsystemd", pkg("libsystemd0")),
        ("libvirt-dbus", pkg("libvirt-dbus")),
        ("vpc-guestosd build", f"buildtype={opts.buildtype}"),
        ("mode", "quick" if QUICK else "full"),
    ]


# --- floors and the service ------------------------------------------------------------------------
def floors_and_service():
    sec = "latency"
    subj = Holder(ALLOWED)
    web = encode_path(WEB)
    details = (f"vm.name={WEB}", f"vm.uuid={WEB_UUID}")
    task_path = None
    try:
        items = {
            # floors
            "floor_ping": lambda n, f: load(*FLOOR, "org.freedesktop.DBus.Peer", "Ping", count=n, in_flight=f),
            "floor_getall": lambda n, f: load(*FLOOR, "org.freedesktop.DBus.Properties", "GetAll", "s",
                                              ["org.vpc.bench.Floor"], count=n, in_flight=f),
            "floor_bus_creds": lambda n, f: load("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                 "org.freedesktop.DBus", "GetConnectionCredentials", "s",
                                                 [subj.name], count=n, in_flight=f),
            "floor_polkit": lambda n, f: load(*POLKIT, "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization",
                                              polkit=LOGOFF_ACTION, details=details, subjects=[subj.name],
                                              count=n, in_flight=f),
            "floor_libvirt": lambda n, f: run_json([VIRT_LOAD, "--uri", TEST_URI, "--domain", WEB, "--count", str(n),
                                                    "--in-flight", str(f)]),
            # the service
            "ping_vpc": lambda n, f: load("org.vpc", "/org/vpc", "org.freedesktop.DBus.Peer", "Ping", count=n,
                                          in_flight=f),
            "get_guest_os": lambda n, f: load("org.vpc", "/org/vpc", "org.vpc.Manager", "GetGuestOS", "s", [WEB],
                                              count=n, in_flight=f),
            "guestos_getall": lambda n, f: load("org.vpc", web, "org.freedesktop.DBus.Properties", "GetAll", "s",
                                                ["org.vpc.GuestOS"], count=n, in_flight=f),
            "logoff_accept_root": lambda n, f: load("org.vpc", web, "org.vpc.GuestOS", "Logoff", count=n,
                                                    in_flight=f),
            "logoff_accept_user": lambda n, f: load("org.vpc", web, "org.vpc.GuestOS", "Logoff", count=n,
                                                    in_flight=f, user=ALLOWED),
        }
        expected = {"logoff_accept_root": "org.vpc.Error.AdditionsFeatureNotAvailable",
                    "logoff_accept_user": "org.vpc.Error.AdditionsFeatureNotAvailable"}
        slow = {"floor_polkit", "logoff_accept_root", "logoff_accept_user"}
        if task_path:
            items["wait_for_completion_finished"] = lambda n, f: load(
                "org.vpc", task_path, "org.vpc.Task", "WaitForCompletion", "i", ["-1"], count=n, in_flight=f)

        seq = {k: [] for k in items}
        par = {k: [] for k in items}
        # Rounds interleave the floors with the service, so drift of the machine hits both alike.
        for rnd in range(ROUNDS):
            log(f"latency round {rnd + 1}/{ROUNDS}")
            for k, f in items.items():
                n = SEQ_SLOW if k in slow else SEQ
                rep = f(n, 1)
                expect_only(rep, k, error=expected.get(k))
                seq[k].append(rep)
                n = PAR_SLOW if k in slow else PAR
                rep = f(n, IN_FLIGHT)
                expect_only(rep, k + " (64 in flight)", error=expected.get(k))
                par[k].append(rep)

        p50 = {k: median_of(v, "p50_us") for k, v in seq.items()}
        for k in items:
            figure(sec, f"{k}_p50", p50[k], "us", "sequential, median of rounds")
            figure(sec, f"{k}_p99", median_of(seq[k], "p99_us"), "us", "sequential")
            figure(sec, f"{k}_rate", median_of(seq[k], "rate"), "calls/s", "sequential")
            figure(sec, f"{k}_64_p50", median_of(par[k], "p50_us"), "us", "64 in flight")
            figure(sec, f"{k}_64_p99", median_of(par[k], "p99_us"), "us", "64 in flight")
            figure(sec, f"{k}_64_rate", median_of(par[k], "rate"), "calls/s", "64 in flight")

        call, creds, pk, lv = p50["floor_ping"], p50["floor_bus_creds"], p50["floor_polkit"], p50["floor_libvirt"]
        ratio("get_guest_os", p50["get_guest_os"] / call, 1.5, "p50 / Ping floor")
        ratio("guestos_getall", p50["guestos_getall"] / p50["floor_getall"], 1.5, "p50 / trivial server's GetAll")
        ratio("logoff_accept_root", p50["logoff_accept_root"] / (call + creds + lv), 1.5,
              "p50 / (Ping + GetConnectionCredentials + virDomainGetState)")
        ratio("logoff_accept_user", p50["logoff_accept_user"] / (call + creds + pk + lv), 1.5,
              "p50 / (Ping + GetConnectionCredentials + CheckAuthorization + virDomainGetState)")
        if task_path:
            ratio("wait_for_completion_finished", p50["wait_for_completion_finished"] / call, 1.5, "p50 / Ping")
        return p50
    finally:
        subj.close()


# --- pipelining ------------------------------------------------------------------------------------
def pipelining():
    sec = "pipelining"
    running = [encode_path(n) for n in (WEB, "ünïcode-vm", "test")]
    holders = [Holder(ALLOWED) for _ in range(CALLERS)]
    details = (f"vm.name={WEB}", f"vm.uuid={WEB_UUID}")
    n = (PAR_SLOW // CALLERS) * CALLERS
    ours, theirs = [], []
    try:
        for rnd in range(ROUNDS):
            log(f"pipelining round {rnd + 1}/{ROUNDS}")
            # polkitd alone: one root connection (like the daemon's) with 64 checks in flight, for the
            # same subjects (the unprivileged callers' bus names), action and details.
            reps, rate = parallel([load_argv(*POLKIT, "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization",
                                             polkit=LOGOFF_ACTION, details=details,
                                             subjects=[h.name for h in holders], count=n, in_flight=IN_FLIGHT)],
                                  [None])
            expect_only(reps[0], "polkit pipelined")
            theirs.append(rate)
            argv = load_argv("org.vpc", None, "org.vpc.GuestOS", "Logoff", paths=running, count=n // CALLERS,
                             in_flight=IN_FLIGHT // CALLERS)
            reps, rate = parallel([argv] * CALLERS, [ALLOWED] * CALLERS)
            for r in reps:
                expect_only(r, "Logoff pipelined", error="org.vpc.Error.AdditionsFeatureNotAvailable")
            ours.append(rate)
    finally:
        for h in holders:
            h.close()
    t, o = statistics.median(theirs), statistics.median(ours)
    figure(sec, "polkit_check_64_rate", t, "calls/s", "root asks for 4 unprivileged subjects, 64 in flight")
    figure(sec, "logoff_user_64_rate", o, "calls/s", f"{CALLERS} rules-authorized callers, 64 in flight together")
    ratio("pipelining_polkit_over_ours", t / o, 1.25, "polkitd's CheckAuthorization rate / our Logoff rate")


def main():
    info = machine()
    log("starting the floor server")
    floor = subprocess.Popen([FLOOR_SERVER])
    try:
        deadline = time.monotonic() + 10
        while subprocess.run(["busctl", "status", FLOOR[0]], capture_output=True).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError("the floor server did not take its name")
            time.sleep(0.05)
        sections = [("latency", floors_and_service), ("pipelining", pipelining)]
        for name, f in sections:
            if ONLY and name not in ONLY:
                continue
            t0 = time.monotonic()
            f()
            log(f"{name} took {time.monotonic() - t0:.1f}s")
    finally:
        floor.terminate()
        floor.wait()
    write_results(info)


def write_results(info):
    lines = ["# vpc-guestosd benchmark results", "",
             "Written by `bench/run`" + (" --quick" if QUICK else "") + "; see bench/README.md for what each "
             "figure measures. Ratios are taken within this one run (lower is better; met when value <= goal).", "",
             "## Machine", "", "| | |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in info]
    lines += ["", "## Goals", "", "| ratio | value | goal | met | how |", "| --- | --- | --- | --- | --- |"]
    for name, value, goal, comment in ratios:
        lines.append(f"| {name} | {value:.3f} | {goal:g} | {'yes' if value <= goal else '**no**'} | {comment} |")
    lines += ["", "## Figures", "", "| section | figure | value | unit | how |", "| --- | --- | --- | --- | --- |"]
    for section, name, value, unit, comment in table:
        lines.append(f"| {section} | {name} | {value:.6g} | {unit} | {comment} |")
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    with open(opts.output, "w") as f:
        f.write("\n".join(lines) + "\n")
    log(f"wrote {opts.output}")


if __name__ == "__main__":
    main()
