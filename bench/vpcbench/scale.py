"""Section `scale`: start-up, GetManagedObjects and memory with 1,000 and 10,000 test-driver domains
(200 and 1,000 with --quick), against libvirtd's own open and list of the same file."""

import math
import os
import statistics
import subprocess
import time

from .context import ENV_DIR, TEST_URI
from .tools import daemon_pid, envctl, load, median_of, restart_daemon, rss_kib, virt_load


def scale_xml(n, path):
    with open(path, "w") as f:
        f.write("<node>\n")
        for i in range(n):
            f.write(f"<domain type='test'><name>vm {i:05d}.bench</name>"
                    f"<uuid>00000000-0000-4000-8000-{i:012x}</uuid><memory>65536</memory><vcpu>1</vcpu>"
                    f"<os><type>hvm</type></os></domain>\n")
        f.write("</node>\n")


def managed_objects_size():
    from gi.repository import Gio
    conn = Gio.bus_get_sync(Gio.BusType.SYSTEM, None)
    msg = Gio.DBusMessage.new_method_call("org.vpc", "/org/vpc", "org.freedesktop.DBus.ObjectManager",
                                          "GetManagedObjects")
    reply, _ = conn.send_message_with_reply_sync(msg, Gio.DBusSendMessageFlags.NONE, 120000, None)
    body = reply.get_body()
    return len(reply.to_blob(Gio.DBusCapabilityFlags.NONE)), body.get_child_value(0).n_children()


def timed_starts(b, uri, binary, attempts):
    """Daemon start to org.vpc owned, each right after libvirt's own open+list of the same file
    (libvirtd parses a test-driver file on every open, which every client pays first): returns the
    starts, the floors and the daemon's own shares (start - the floor just before it)."""
    out = {"start": [], "floor": [], "own": []}
    for _ in range(attempts):
        envctl("daemon-stop")
        floor = virt_load(b, "--uri", uri, "--list")
        waiter = subprocess.Popen([b.bin["load"], "--wait-owner", "org.vpc"], stdout=subprocess.PIPE, text=True)
        assert waiter.stdout.readline().strip() == "ready"
        t0 = time.monotonic_ns()
        envctl("daemon-start", env={"VPC_LIBVIRT_URI": uri, "VPC_GUESTOSD": binary,
                                    "VPC_DAEMON_START_TIMEOUT": "60"})
        t1 = int(waiter.stdout.readline())
        waiter.wait(timeout=10)
        out["start"].append((t1 - t0) / 1e6)
        out["floor"].append(floor["open_ms"] + floor["list_ms"])
        out["own"].append(out["start"][-1] - out["floor"][-1])
    out["lst"] = floor
    return out


def one_size(b, n, last):
    sec = "scale"
    path = os.path.join(ENV_DIR, f"scale-{n}.xml")
    scale_xml(n, path)
    uri = f"test+unix://{path}"
    attempts = 2 if b.quick else 3
    tag = f"{n // 1000}k" if n >= 1000 else str(n)

    if b.baseline and last:
        # the same start-ups with the baseline build, for the before/after of the start-up fix
        base = timed_starts(b, uri, b.baseline, attempts)
        b.figure(sec, f"scale_{tag}_start_baseline", statistics.median(base["start"]), "ms",
                 "the baseline build's start-up, same file")
        b.figure(sec, f"scale_{tag}_start_own_baseline", statistics.median(base["own"]), "ms",
                 "the baseline build's own share")
    t = timed_starts(b, uri, os.environ["VPC_GUESTOSD"], attempts)
    lst = t["lst"]
    size, n_objects = managed_objects_size()
    if n_objects != n:
        raise RuntimeError(f"GetManagedObjects listed {n_objects} objects, not {n}")
    gmo = [load(b, "org.vpc", "/org/vpc", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                count=5 if n >= 10000 else 20, warmup=2) for _ in range(b.rounds)]
    lst_rep = load(b, "org.vpc", "/org/vpc", "org.vpc.Manager", "ListGuestOS", count=20, warmup=2)
    res = {"start": statistics.median(t["start"]), "gmo": median_of(gmo, "p50_us") / 1000, "size": size,
           "rss": rss_kib(daemon_pid()) / 1024,
           # With a test-driver file libvirtd parses the XML when a connection opens it, so every
           # client pays that before it sees a domain; the daemon's own share is what comes on top.
           "start_own": statistics.median(t["own"])}
    b.figure(sec, f"scale_{tag}_start", res["start"], "ms",
             "daemon launched -> org.vpc owned (median; includes envctl's launch)")
    b.figure(sec, f"scale_{tag}_start_own", res["start_own"], "ms",
             "median of (start - libvirt's open+list of the same file just before it): what the daemon adds")
    b.figure(sec, f"scale_{tag}_libvirt_open_list", statistics.median(t["floor"]), "ms",
             "floor: virConnectOpen + ListAllDomains (libvirtd parses the XML on open)")
    b.figure(sec, f"scale_{tag}_libvirt_states_each", lst["states_each_ms"], "ms", "one virDomainGetState each")
    b.figure(sec, f"scale_{tag}_libvirt_states_bulk", lst["states_bulk_ms"], "ms",
             "virConnectGetAllDomainStats(STATE)")
    b.figure(sec, f"scale_{tag}_get_managed_objects", res["gmo"], "ms", "p50")
    b.figure(sec, f"scale_{tag}_get_managed_objects_size", size / 1024, "KiB", f"{n} objects")
    b.figure(sec, f"scale_{tag}_list_guest_os", lst_rep["p50_us"] / 1000, "ms", "p50")
    b.figure(sec, f"scale_{tag}_rss", res["rss"], "MiB", "VmRSS after the calls")
    return res


def run(b):
    sec = "scale"
    lo, hi = (200, 1000) if b.quick else (1000, 10000)
    res = {lo: one_size(b, lo, False), hi: one_size(b, hi, True)}
    for k, unit in (("start", "ms"), ("start_own", "ms"), ("gmo", "ms"), ("size", "B"), ("rss", "MiB")):
        g = res[hi][k] / res[lo][k] if res[lo][k] > 0 else float("nan")
        exponent = f"{math.log(g) / math.log(hi / lo):.2f}" if g > 0 else "n/a"
        b.figure(sec, f"scale_growth_{k}", g, "x", f"{lo} -> {hi} domains; {hi // lo}x is linear; exponent {exponent}")
    if not b.quick:
        big = res[10000]
        b.ratio("scale_10k_start_s", big["start_own"] / 1000, 1.0,
                "seconds to org.vpc with 10,000 domains, beyond libvirtd's own open+list of the test file "
                f"({big['start']:.0f} ms in all)")
        b.ratio("scale_10k_get_managed_objects_ms", big["gmo"] / 100, 1.0, "GetManagedObjects p50 / 100 ms")
        b.ratio("scale_10k_rss_mb", big["rss"] * 1048576 / 50e6, 1.0, "RSS / 50 MB")
    else:
        b.note("--quick stops at 1,000 domains: the 10,000-domain goals are checked by the full run only.")
    restart_daemon(TEST_URI)
