"""Section `guests`: real QEMU guests (tests/lib/guest.sh) and 100 more QEMU domains. libvirt-dbus on a
QEMU domain, parked WaitForCompletion calls and their memory, WaitForCompletion on a finished task,
and isolation from a hung guest (isolation.py)."""

import json
import os
import statistics
import subprocess
import time

from . import isolation
from .context import ENV_DIR, FLOOR, GUEST_URI, log
from .libvirt_dbus import side_by_side
from .tools import (GETALL_FLOOR, PING_FLOOR, busctl_json, daemon_pid, encode_path, expect_only, load,
                    load_argv, median_of, paired_ratio, restart_daemon, rss_kib, sh_env)

OTHERS = 100
LIVE = 8


def define_others():
    """100 shut-off QEMU domains, and LIVE running ones without a guest (no disk, no kernel: the
    firmware finds nothing to boot and idles), whose agent channel is never opened, so a Logoff
    on them goes through the agent workers and libvirt and ends in AdditionsFeatureNotAvailable."""
    cmds = []
    names = [f"bench-other-{i:03d}" for i in range(OTHERS)] + [f"bench-live-{i}" for i in range(LIVE)]
    for name in names:
        path = os.path.join(ENV_DIR, f"{name}.xml")
        with open(path, "w") as f:
            f.write(f"<domain type='qemu'><name>{name}</name><memory unit='MiB'>32</memory>"
                    "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>"
                    "<emulator>/usr/bin/qemu-system-x86_64</emulator>"
                    "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>"
                    "<controller type='usb' model='none'/><memballoon model='none'/>"
                    "</devices></domain>\n")
        cmds.append(f"define {path}")
    cmds += [f"start bench-live-{i}" for i in range(LIVE)]
    subprocess.run(["virsh", "-q", "-c", GUEST_URI, " ; ".join(cmds)], check=True, capture_output=True)


def wait_for_completion_finished(b):
    sec = "latency"
    t0 = time.monotonic_ns()
    task = busctl_json("org.vpc", encode_path("bench-task"), "org.vpc.GuestOS", "Logoff")[0]
    b.figure(sec, "logoff_accept_root_qemu", (time.monotonic_ns() - t0) / 1e6, "ms",
             "one Logoff on a real guest through busctl (process start included): guest-info, guest-get-osinfo")
    done = busctl_json("org.vpc", task, "org.vpc.Task", "WaitForCompletion", "i", "60000", timeout=70)[0]
    if not done:
        raise RuntimeError(f"{task} did not complete")
    err = busctl_json("org.vpc", task, "org.freedesktop.DBus.Properties", "Get", "ss", "org.vpc.Task",
                      "ErrorName")[0]["data"]
    b.note(f"WaitForCompletion was measured on {task}, a real Logoff of bench-task (alice, bob) that "
           f"ended with '{err or 'success'}'.")
    reps = {"floor_ping": [], "wfc": []}
    for _ in range(b.lat_rounds):
        reps["floor_ping"].append(load(b, *FLOOR, "org.freedesktop.DBus.Peer", "Ping", count=b.seq // 2))
        r = load(b, "org.vpc", task, "org.vpc.Task", "WaitForCompletion", "i", ["-1"], count=b.seq // 2)
        expect_only(r, "WaitForCompletion on a finished task")
        reps["wfc"].append(r)
    ping, wfc = median_of(reps["floor_ping"], "p50_us"), median_of(reps["wfc"], "p50_us")
    per_round = statistics.median(reps["wfc"][r]["p50_us"] / reps["floor_ping"][r]["p50_us"]
                                  for r in range(b.lat_rounds))
    b.figure(sec, "wait_for_completion_finished_p50", wfc, "us", "sequential")
    b.figure(sec, "wait_for_completion_finished_p99", median_of(reps["wfc"], "p99_us"), "us", "sequential")
    b.figure(sec, "floor_ping_guest_phase_p50", ping, "us", "Ping floor measured beside it")
    b.figure(sec, "wait_for_completion_finished_separate_ratio", per_round, "x",
             "p50 / Ping floor measured one after the other, median of per-round ratios")
    paired_ratio(b, sec, "wait_for_completion_finished", ("org.vpc", task, "org.vpc.Task", "WaitForCompletion",
                 "i", ["-1"]), PING_FLOOR, "WaitForCompletion(-1) on a finished task p50 / Ping floor p50")


def waiters(b):
    sec = "waiters"
    task = busctl_json("org.vpc", encode_path("bench-wait"), "org.vpc.GuestOS", "Logoff")[0]
    # carol ignores HUP and TERM: the task runs until --logoff-timeout (60 s by default).
    time.sleep(0.5)
    if busctl_json("org.vpc", task, "org.vpc.Task", "WaitForCompletion", "i", "0")[0]:
        raise RuntimeError(f"{task} ended at once; no running task to wait on")
    pid = daemon_pid()
    ping0 = load(b, "org.vpc", "/org/vpc", "org.freedesktop.DBus.Peer", "Ping", count=b.seq)
    rss = [rss_kib(pid)]
    holders = []
    for batch in (1000, 1000, 1000, 1000, 1000):
        h = subprocess.Popen(load_argv(b, "org.vpc", task, "org.vpc.Task", "WaitForCompletion", "i", ["-1"],
                                       count=batch, hold=True), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
        rep = json.loads(h.stdout.readline())
        if rep["held"] != batch or rep["answered"]:
            raise RuntimeError(f"waiters not parked: {rep}")
        holders.append(h)
        rss.append(rss_kib(pid))
    ping1 = load(b, "org.vpc", "/org/vpc", "org.freedesktop.DBus.Peer", "Ping", count=b.seq)
    per_1000_first = rss[1] - rss[0]
    per_1000_slope = (rss[-1] - rss[0]) / (len(rss) - 1)
    b.figure(sec, "waiters_rss_0", rss[0] / 1024, "MiB", "daemon VmRSS with one running task, no waiter")
    b.figure(sec, "waiters_rss_5000", rss[-1] / 1024, "MiB", "with 5,000 WaitForCompletion(-1) parked")
    b.figure(sec, "waiters_kib_per_1000", per_1000_slope, "KiB", "RSS growth per 1,000 waiters (0 -> 5,000)")
    b.figure(sec, "waiters_kib_first_1000", per_1000_first, "KiB", "RSS growth for the first 1,000")
    b.figure(sec, "waiters_ping_vpc_p50_idle", ping0["p50_us"], "us", "Ping on org.vpc, no waiter")
    b.figure(sec, "waiters_ping_vpc_p50_5000", ping1["p50_us"], "us", "Ping on org.vpc with 5,000 waiters")
    for h in holders:
        h.stdin.close()
    for h in holders:
        h.wait(timeout=30)
    busctl_json("org.vpc", task, "org.vpc.Task", "Cancel")


def run(b, lvd):
    sec = "guests"
    t0 = time.monotonic()
    log(f"booting the guests (bench-hang, bench-task, bench-wait), defining {OTHERS} shut-off QEMU domains "
        f"and starting {LIVE} without a guest")
    sh_env("vpc_guest_image >/dev/null; "
           "vpc_guest_start bench-hang alice & a=$!; vpc_guest_start bench-task alice,bob & b=$!; "
           "vpc_guest_start bench-wait '' carol & c=$!; wait $a && wait $b && wait $c")
    define_others()
    restart_daemon(GUEST_URI)
    b.figure(sec, "guests_setup", time.monotonic() - t0, "s",
             f"3 guests booted (TCG), {OTHERS} domains defined, {LIVE} guestless ones started")

    # libvirt-dbus and ours on a real QEMU domain, same libvirtd.
    lvd_dom = busctl_json("org.libvirt", "/org/libvirt/QEMU", "org.libvirt.Connect", "DomainLookupByName", "s",
                          "bench-task")[0]
    side_by_side(b, "libvirt-dbus", "/org/libvirt/QEMU", lvd_dom, "bench-task", "qemu")
    paired_ratio(b, "libvirt-dbus", "guestos_getall_qemu", ("org.vpc", encode_path("bench-task"),
                 "org.freedesktop.DBus.Properties", "GetAll", "s", ["org.vpc.GuestOS"]), GETALL_FLOOR,
                 "GuestOS GetAll on a running QEMU domain / trivial server's GetAll")

    waiters(b)
    wait_for_completion_finished(b)
    isolation.run(b, [encode_path(f"bench-other-{i:03d}") for i in range(OTHERS)],
                  [encode_path(f"bench-live-{i}") for i in range(LIVE)])
