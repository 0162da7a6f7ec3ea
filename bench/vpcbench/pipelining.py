"""Section `pipelining`: Logoff calls of rules-authorized users with 64 in flight, against polkitd's
own CheckAuthorization rate for the same subjects."""

import statistics

from .context import ALLOWED, CALLERS, IN_FLIGHT, LOGOFF_ACTION, POLKIT, WEB, WEB_UUID, log
from .tools import Holder, encode_path, expect_only, in_each_daemon, load_argv, parallel


def run(b):
    sec = "pipelining"
    running = [encode_path(n) for n in (WEB, "ünïcode-vm", "test")]
    holders = [Holder(ALLOWED) for _ in range(CALLERS)]
    details = (f"vm.name={WEB}", f"vm.uuid={WEB_UUID}")
    n = (b.par_slow // CALLERS) * CALLERS
    rounds = 3 if b.quick else 7
    theirs, ours = [], {p: [] for p, _ in b.daemons()}

    def ours_round(prefix):
        argv = load_argv(b, "org.vpc", None, "org.vpc.GuestOS", "Logoff", paths=running, count=n // CALLERS,
                         in_flight=IN_FLIGHT // CALLERS)
        reps, rate = parallel([argv] * CALLERS, [ALLOWED] * CALLERS)
        for r in reps:
            expect_only(r, "Logoff pipelined", error="org.vpc.Error.AdditionsFeatureNotAvailable")
        ours[prefix].append(rate)

    try:
        for rnd in range(rounds):
            log(f"pipelining round {rnd + 1}/{rounds}")
            # polkitd alone: one root connection (like the daemon's) with 64 checks in flight, for the
            # same subjects (the unprivileged callers' bus names), action and details.
            reps, rate = parallel([load_argv(b, *POLKIT, "org.freedesktop.PolicyKit1.Authority",
                                             "CheckAuthorization", polkit=LOGOFF_ACTION, details=details,
                                             subjects=[h.name for h in holders], count=n, in_flight=IN_FLIGHT)],
                                  [None])
            expect_only(reps[0], "polkit pipelined")
            theirs.append(rate)
            in_each_daemon(b, ours_round)
    finally:
        for h in holders:
            h.close()
    b.figure(sec, "polkit_check_64_rate", statistics.median(theirs), "calls/s",
             f"root asks for {CALLERS} unprivileged subjects, 64 in flight")
    for prefix, _ in b.daemons():
        per_round = [theirs[r] / ours[prefix][r] for r in range(rounds)]
        b.figure(sec, f"{prefix}logoff_user_64_rate", statistics.median(ours[prefix]), "calls/s",
                 f"{CALLERS} rules-authorized callers, 64 in flight together")
        if prefix:
            b.figure(sec, f"ratio_{prefix}pipelining_polkit_over_ours", statistics.median(per_round), "x",
                     "the same ratio for the baseline daemon, same rounds")
        else:
            b.ratio("pipelining_polkit_over_ours", statistics.median(per_round), 1.25,
                    f"polkitd's CheckAuthorization rate / our Logoff rate, median of {rounds} per-round ratios "
                    f"(spread {min(per_round):.2f}-{max(per_round):.2f})")
