"""The bench's hands: its load generators (bench-load, bench-virt-load; see bench/README.md) run
as root or as a test user, paired samples against a floor, and the private environment's controls
(tests/lib/envctl, env.sh). Object paths come from tests/lib, as the tests make them."""

import json
import os
import statistics
import subprocess
import sys
import time

from .context import ENV_DIR, ROOT, TEST_URI

sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
from vpctest import encode_path  # noqa: E402,F401  (re-exported for the sections)

ENVCTL = os.path.join(ROOT, "tests", "lib", "envctl")

# Floors of the cheap calls: (dest, path, iface, member, sig, arg), for --alt-* of bench-load.
PING_FLOOR = ("org.vpc.bench.Floor", "/org/vpc/bench/Floor", "org.freedesktop.DBus.Peer", "Ping", None, None)
GETALL_FLOOR = ("org.vpc.bench.Floor", "/org/vpc/bench/Floor", "org.freedesktop.DBus.Properties", "GetAll", "s",
                "org.vpc.bench.Floor")


def as_user(user, argv):
    return ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--",
            "env", "-i", "PATH=/usr/bin:/bin", f"DBUS_SYSTEM_BUS_ADDRESS={os.environ['DBUS_SYSTEM_BUS_ADDRESS']}",
            *argv]


def load_argv(b, dest, path, iface, member, sig=None, args=(), count=1000, in_flight=1, warmup=None,
              polkit=None, details=(), subjects=(), start_at=0, paths=(), hold=False):
    argv = [b.bin["load"], "--dest", dest, "--iface", iface, "--member", member, "--count", str(count),
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
    if hold:
        argv += ["--hold"]
    if sig:
        argv += ["--sig", sig, "--", *args]
    return argv


def run_json(argv, timeout=600):
    out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({out.returncode}): {out.stderr.strip()[-400:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def load(b, *a, user=None, **kw):
    argv = load_argv(b, *a, **kw)
    return run_json(as_user(user, argv) if user else argv)


def virt_load(b, *args):
    return run_json([b.bin["virt-load"], *args])


def median_of(reps, key):
    return statistics.median(r[key] for r in reps)


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


def load_paired(b, main, floor, count):
    """Alternates calls of main and of its floor on one connection, so both are sampled under the same
    conditions; returns the two reports. main: load_argv() arguments (a tuple, or a dict of keywords);
    floor: (dest, path, iface, member, sig, arg)."""
    argv = load_argv(b, **main, count=count) if isinstance(main, dict) else load_argv(b, *main, count=count)
    dest, path, iface, member, sig, arg = floor
    argv[1:1] = ["--alt-dest", dest, "--alt-path", path, "--alt-iface", iface, "--alt-member", member] + \
        (["--alt-sig", sig, "--alt-arg", arg] if sig else [])
    out = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"bench-load failed: {out.stderr.strip()[-400:]}")
    lines = out.stdout.strip().splitlines()
    main_rep, floor_rep = json.loads(lines[-1]), json.loads(lines[-2])
    # "ok" counts both kinds of calls: take out the floor's (its warm-up ones too, every other of 50).
    main_rep["ok"] = max(0, main_rep["ok"] - floor_rep["n"] - 25)
    return main_rep, floor_rep


def paired_ratio(b, sec, name, main, floor, how):
    """The goal ratio of a cheap call to its floor from paired, alternating samples."""
    per_round, mains, floors = [], [], []
    for _ in range(b.pair_rounds):
        m, f = load_paired(b, main, floor, b.pair_count)
        expect_only(m, name)
        mains.append(m)
        floors.append(f)
        per_round.append(m["p50_us"] / f["p50_us"])
    b.figure(sec, f"{name}_paired_p50", median_of(mains, "p50_us"), "us", "alternating with its floor")
    b.figure(sec, f"{name}_paired_floor_p50", median_of(floors, "p50_us"), "us", "its floor, same connection")
    value = statistics.median(per_round)
    b.ratio(name, value, 1.5, how + f"; calls alternate with the floor's on one connection, median of "
            f"{b.pair_rounds} rounds (spread {min(per_round):.2f}-{max(per_round):.2f})")
    return value


def parallel(argvs, users):
    """Runs several load generators that start together; returns their reports and the aggregate rate."""
    start_at = time.monotonic_ns() + 400_000_000
    procs = []
    for argv, user in zip(argvs, users):
        argv = argv[:1] + ["--start-at", str(start_at)] + argv[1:]
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


# --- the private environment ------------------------------------------------------------------------
def envctl(*args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    r = subprocess.run([ENVCTL, *args], capture_output=True, text=True, env=e)
    if r.returncode != 0:
        raise RuntimeError(f"envctl {' '.join(args)} failed: {r.stderr.strip()[-600:]}")
    return r.stdout.strip()


def sh_env(script):
    """Runs a shell snippet with tests/lib/env.sh's functions (vpc_guest_start, ...)."""
    r = subprocess.run(["bash", "-c", f". {ROOT}/tests/lib/env.sh; {script}"], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{script}: {r.stderr.strip()[-800:]}")
    return r.stdout


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


def use_daemon(binary):
    """Restarts the daemon from another binary (the A/B baseline), same URI and options."""
    envctl("daemon-stop")
    envctl("daemon-start", *os.environ.get("VPC_DAEMON_ARGS", "").split(),
           env={"VPC_GUESTOSD": binary, "VPC_LIBVIRT_URI": TEST_URI})


def in_each_daemon(b, f):
    """Calls f(prefix) with the daemon under test and then with the baseline build (if any) running,
    and leaves the daemon under test running."""
    for prefix, binary in b.daemons():
        if binary:
            use_daemon(binary)
        f(prefix)
        if binary:
            use_daemon(os.environ["VPC_GUESTOSD"])


def wait_for_name(name, seconds, proc=None):
    deadline = time.monotonic() + seconds
    while subprocess.run(["busctl", "status", name], capture_output=True).returncode != 0:
        if time.monotonic() > deadline or (proc is not None and proc.poll() is not None):
            raise RuntimeError(f"{name} did not appear on the bus")
        time.sleep(0.05)


def busctl_json(*args, timeout=60):
    r = subprocess.run(["busctl", "--json=short", f"--timeout={timeout}", "call", *args], capture_output=True,
                       text=True, timeout=timeout + 10)
    if r.returncode != 0:
        raise RuntimeError(f"busctl call {' '.join(args)}: {r.stderr.strip()}")
    return json.loads(r.stdout)["data"] if r.stdout.strip() else []


