"""Section `libvirt-dbus`: libvirt-dbus (the project's model for mapping libvirt to the bus) side by
side with ours, on the test driver here and on a real QEMU domain in the `guests` section."""

import json
import statistics
import subprocess

from .context import FLOOR, WEB
from .tools import encode_path, expect_only, load, median_of, wait_for_name


class LibvirtDbus:
    def __init__(self):
        self.p = subprocess.Popen(["/usr/sbin/libvirt-dbus", "--system"], stderr=subprocess.DEVNULL)
        wait_for_name("org.libvirt", 15, self.p)

    def domains(self, conn_path):
        r = subprocess.run(["busctl", "--json=short", "call", "org.libvirt", conn_path, "org.libvirt.Connect",
                            "ListDomains", "u", "0"], capture_output=True, text=True, check=True)
        return json.loads(r.stdout)["data"][0]

    def close(self):
        self.p.terminate()
        self.p.wait(timeout=10)


def side_by_side(b, sec, conn_path, lvd_domain, ours_name, tag):
    """Domain list and one domain's GetAll: libvirt-dbus against ours and the floor, rounds interleaved."""
    items = {
        "floor_getall": lambda n: load(b, *FLOOR, "org.freedesktop.DBus.Properties", "GetAll", "s",
                                       ["org.vpc.bench.Floor"], count=n),
        "libvirt_dbus_getall": lambda n: load(b, "org.libvirt", lvd_domain, "org.freedesktop.DBus.Properties",
                                              "GetAll", "s", ["org.libvirt.Domain"], count=n),
        "guestos_getall": lambda n: load(b, "org.vpc", encode_path(ours_name), "org.freedesktop.DBus.Properties",
                                         "GetAll", "s", ["org.vpc.GuestOS"], count=n),
        "libvirt_dbus_list": lambda n: load(b, "org.libvirt", conn_path, "org.libvirt.Connect", "ListDomains", "u",
                                            ["0"], count=n),
        "list_guest_os": lambda n: load(b, "org.vpc", "/org/vpc", "org.vpc.Manager", "ListGuestOS", count=n),
    }
    reps = {k: [] for k in items}
    for _ in range(b.lat_rounds):
        for k, f in items.items():
            rep = f(b.seq_slow)
            expect_only(rep, f"{k} ({tag})")
            reps[k].append(rep)
    p50 = {k: median_of(v, "p50_us") for k, v in reps.items()}
    # the per-round ratio of ours to the floor, whose median the goal uses
    p50["getall_over_floor"] = statistics.median(
        reps["guestos_getall"][r]["p50_us"] / reps["floor_getall"][r]["p50_us"] for r in range(b.lat_rounds))
    for k in items:
        b.figure(sec, f"{tag}_{k}_p50", p50[k], "us", "sequential, median of rounds")
        b.figure(sec, f"{tag}_{k}_p99", median_of(reps[k], "p99_us"), "us", "sequential")
    b.figure(sec, f"{tag}_getall_ours_over_libvirt_dbus", p50["guestos_getall"] / p50["libvirt_dbus_getall"], "x",
             "lower is better")
    b.figure(sec, f"{tag}_list_ours_over_libvirt_dbus", p50["list_guest_os"] / p50["libvirt_dbus_list"], "x",
             "ListGuestOS vs ListDomains(0)")
    return p50


def run(b, lvd):
    doms = lvd.domains("/org/libvirt/Test")
    b.note("libvirt-dbus serves its test driver as test:///default inside its own process (its "
           "/org/libvirt/Test URI is fixed), so on the test driver it pays no libvirtd round trip "
           "while vpc-guestosd reads through libvirtd (test+unix:///default); its QEMU domains go "
           "through the same libvirtd as ours.")
    side_by_side(b, "libvirt-dbus", "/org/libvirt/Test", doms[0], WEB, "test")
