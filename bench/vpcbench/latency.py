"""Section `latency`: the floors (bus, polkitd, libvirtd) and the service's cheap calls and Logoff,
in short interleaved rounds, as ratios to the floors each call pays."""

import statistics

from .context import ALLOWED, FLOOR, IN_FLIGHT, LOGOFF_ACTION, POLKIT, TEST_URI, WEB, WEB_UUID, log
from .tools import (GETALL_FLOOR, PING_FLOOR, Holder, encode_path, expect_only, in_each_daemon, load,
                    median_of, paired_ratio, run_json, virt_load)

# Goals: each service figure over the sum of the floors it pays.
SERVICE_GOALS = {
    "logoff_accept_root": (("floor_ping", "floor_bus_creds", "floor_libvirt"),
                           "p50 / (Ping + GetConnectionCredentials + virDomainGetState)"),
    "logoff_accept_user": (("floor_ping", "floor_bus_creds", "floor_polkit", "floor_libvirt"),
                           "p50 / (Ping + GetConnectionCredentials + CheckAuthorization + virDomainGetState)"),
}
AFNA = "org.vpc.Error.AdditionsFeatureNotAvailable"


def floors(b, subj):
    details = (f"vm.name={WEB}", f"vm.uuid={WEB_UUID}")
    return {
        "floor_ping": lambda n, f: load(b, *FLOOR, "org.freedesktop.DBus.Peer", "Ping", count=n, in_flight=f),
        "floor_getall": lambda n, f: load(b, *FLOOR, "org.freedesktop.DBus.Properties", "GetAll", "s",
                                          ["org.vpc.bench.Floor"], count=n, in_flight=f),
        "floor_bus_creds": lambda n, f: load(b, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                             "org.freedesktop.DBus", "GetConnectionCredentials", "s",
                                             [subj.name], count=n, in_flight=f),
        "floor_polkit": lambda n, f: load(b, *POLKIT, "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization",
                                          polkit=LOGOFF_ACTION, details=details, subjects=[subj.name],
                                          count=n, in_flight=f),
        # virDomainGetState on a connection set up as the daemon's (events, keepalive): libvirt's
        # client then wakes its event thread on every call, a cost any event-driven client pays.
        "floor_libvirt": lambda n, f: virt_load(b, "--uri", TEST_URI, "--domain", WEB, "--count", str(n),
                                                "--in-flight", str(f), "--events"),
        "floor_libvirt_bare": lambda n, f: virt_load(b, "--uri", TEST_URI, "--domain", WEB,
                                                     "--count", str(n), "--in-flight", str(f)),
    }


def service_calls(b):
    web = encode_path(WEB)
    return {
        "ping_vpc": lambda n, f: load(b, "org.vpc", "/org/vpc", "org.freedesktop.DBus.Peer", "Ping", count=n,
                                      in_flight=f),
        "get_guest_os": lambda n, f: load(b, "org.vpc", "/org/vpc", "org.vpc.Manager", "GetGuestOS", "s", [WEB],
                                          count=n, in_flight=f),
        "guestos_getall": lambda n, f: load(b, "org.vpc", web, "org.freedesktop.DBus.Properties", "GetAll", "s",
                                            ["org.vpc.GuestOS"], count=n, in_flight=f),
        "logoff_accept_root": lambda n, f: load(b, "org.vpc", web, "org.vpc.GuestOS", "Logoff", count=n,
                                                in_flight=f),
        "logoff_accept_user": lambda n, f: load(b, "org.vpc", web, "org.vpc.GuestOS", "Logoff", count=n,
                                                in_flight=f, user=ALLOWED),
    }


def separate_rounds(b, subj):
    """Every floor and call on its own, sequential and 64 in flight, in b.lat_rounds rounds; returns the
    sequential reports by name."""
    sec = "latency"
    expected = {"logoff_accept_root": AFNA, "logoff_accept_user": AFNA}
    slow = {"floor_polkit", "logoff_accept_root", "logoff_accept_user"}
    seq, par = {}, {}

    def run(key, f, name):
        n = b.seq_slow if name in slow else b.seq
        rep = f(n, 1)
        expect_only(rep, key, error=expected.get(name))
        seq.setdefault(key, []).append(rep)
        n = b.par_slow if name in slow else b.par
        rep = f(n, IN_FLIGHT)
        expect_only(rep, key + " (64 in flight)", error=expected.get(name))
        par.setdefault(key, []).append(rep)

    # Many short rounds interleave the floors with the service (and with the baseline daemon, if
    # any): the machine's drift hits both alike, and each round gives its own ratios, whose median is
    # reported.
    def service_round(prefix):
        for k, f in service_calls(b).items():
            run(prefix + k, f, k)

    for rnd in range(b.lat_rounds):
        log(f"latency round {rnd + 1}/{b.lat_rounds}")
        for k, f in floors(b, subj).items():
            run(k, f, k)
        in_each_daemon(b, service_round)

    for k in seq:
        b.figure(sec, f"{k}_p50", median_of(seq[k], "p50_us"), "us", "sequential, median of rounds")
        b.figure(sec, f"{k}_p99", median_of(seq[k], "p99_us"), "us", "sequential")
        b.figure(sec, f"{k}_rate", median_of(seq[k], "rate"), "calls/s", "sequential")
        b.figure(sec, f"{k}_64_p50", median_of(par[k], "p50_us"), "us", "64 in flight")
        b.figure(sec, f"{k}_64_p99", median_of(par[k], "p99_us"), "us", "64 in flight")
        b.figure(sec, f"{k}_64_rate", median_of(par[k], "rate"), "calls/s", "64 in flight")
    for prefix, _ in b.daemons():
        for name, (paid, how) in SERVICE_GOALS.items():
            per_round = [seq[prefix + name][r]["p50_us"] / sum(seq[f][r]["p50_us"] for f in paid)
                         for r in range(b.lat_rounds)]
            b.figure(sec, f"ratio_separate_{prefix}{name}", statistics.median(per_round), "x",
                     how + ", each measured on its own in the round (noisier than the cycle below)")


def logoff_cycles(b):
    """The goals of Logoff: the call and each floor it pays sampled in turn by one process
    (bench-cycle)."""
    sec = "latency"
    web = encode_path(WEB)
    cycles = {}

    def sample(prefix):
        for name, user, n in (("logoff_accept_root", None, b.seq_slow),
                              ("logoff_accept_user", ALLOWED, b.seq_slow // 2)):
            argv = [b.bin["cycle"], "--uri", TEST_URI, "--domain", WEB, "--uuid", WEB_UUID, "--path", web,
                    "--count", str(n), "--expect-error", AFNA]
            cycles.setdefault(prefix + name, []).append(run_json(argv + (["--user", user] if user else [])))

    for rnd in range(b.lat_rounds):
        log(f"logoff cycle round {rnd + 1}/{b.lat_rounds}")
        in_each_daemon(b, sample)
    for prefix, _ in b.daemons():
        for name, (_, how) in SERVICE_GOALS.items():
            reps = cycles[prefix + name]
            kinds = [k for k in ("ping", "creds", "polkit", "libvirt") if k in reps[0]]
            per_round = [r["logoff"]["p50_us"] / sum(r[k]["p50_us"] for k in kinds) for r in reps]
            value = statistics.median(per_round)
            b.figure(sec, f"cycle_{prefix}{name}_p50", statistics.median(r["logoff"]["p50_us"] for r in reps), "us",
                     "Logoff p50 in the cycle")
            for k in kinds:
                b.figure(sec, f"cycle_{prefix}{name}_floor_{k}_p50",
                         statistics.median(r[k]["p50_us"] for r in reps), "us", "its floor, same cycle")
            if prefix:
                b.figure(sec, f"ratio_{prefix}{name}", value, "x", "the same ratio for the baseline daemon "
                         "(before this issue's fixes), same rounds")
            else:
                b.ratio(name, value, 1.5, how + "; the call and its floors sampled in turn by one process "
                        f"(bench-cycle), median of {b.lat_rounds} rounds (spread "
                        f"{min(per_round):.2f}-{max(per_round):.2f})")


def run(b):
    sec = "latency"
    web = encode_path(WEB)
    subj = Holder(ALLOWED)
    try:
        separate_rounds(b, subj)
        logoff_cycles(b)
        # The cheap calls against their floors, sampled side by side.
        paired_ratio(b, sec, "get_guest_os", ("org.vpc", "/org/vpc", "org.vpc.Manager", "GetGuestOS", "s", [WEB]),
                     PING_FLOOR, "GetGuestOS p50 / Ping floor p50")
        paired_ratio(b, sec, "guestos_getall", ("org.vpc", web, "org.freedesktop.DBus.Properties", "GetAll", "s",
                                                ["org.vpc.GuestOS"]),
                     GETALL_FLOOR, "GuestOS GetAll p50 / trivial server's GetAll p50")
    finally:
        subj.close()
