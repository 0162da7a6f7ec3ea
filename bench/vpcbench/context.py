"""What one benchmark run knows: its options, the counts they imply, the paths of the bench's
binaries, and the figures and ratios measured so far. Sections get it as their only argument."""

import os
import sys

# The private environment's facts (tests/lib/with-env exports them before bench.py runs).
ENV_DIR = os.environ.get("VPC_ENV_DIR", "")
ALLOWED = os.environ.get("VPC_ALLOWED_USER", "")
TEST_URI = os.environ.get("VPC_LIBVIRT_URI", "test+unix:///default")
GUEST_URI = os.environ.get("VPC_GUEST_URI", "qemu:///system")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Names the sections share.
FLOOR = ("org.vpc.bench.Floor", "/org/vpc/bench/Floor")
POLKIT = ("org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority")
LOGOFF_ACTION = "org.vpc.guestos.logoff"
WEB = "web server 01"
WEB_UUID = "11111111-2222-3333-4444-000000000001"
IN_FLIGHT = 64
CALLERS = 4                             # unprivileged callers sharing the 64 calls in flight


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


class Bench:
    def __init__(self, opts):
        self.opts = opts
        quick = self.quick = opts.quick
        self.only = set(filter(None, opts.only.split(",")))
        self.baseline = opts.baseline_daemon
        self.rounds = 2 if quick else 3
        self.lat_rounds = 3 if quick else 9         # short, interleaved rounds of the latency section
        self.pair_rounds = 7 if quick else 11       # rounds of paired samples (cheap calls; p50 is bimodal)
        self.pair_count = 200 if quick else 500
        self.seq = 400 if quick else 1000           # sequential calls of a cheap method, per round
        self.seq_slow = 100 if quick else 300       # sequential calls that ask libvirt or polkit
        self.par = 2000 if quick else 4000          # calls with 64 in flight
        self.par_slow = 400 if quick else 1000
        self.bin = {name: os.path.join(opts.bindir, f"bench-{name}")
                    for name in ("load", "virt-load", "floor-server", "cycle", "logoff-wall")}
        self.figures = []       # (name, value, unit)
        self.ratios = []        # (name, value, goal, note)
        self.notes = []
        self.table = []         # (section, name, value, unit, comment)

    def daemons(self):
        """The daemon under test, and the baseline build measured in the same rounds if there is one:
        (figure-name prefix, binary or None for the one running)."""
        return [("", None)] + ([("baseline_", self.baseline)] if self.baseline else [])

    def figure(self, section, name, value, unit, comment=""):
        self.figures.append((name, value, unit))
        self.table.append((section, name, value, unit, comment))
        print(f"figure {name} {value:.6g} {unit}", flush=True)

    def ratio(self, name, value, goal, comment=""):
        self.ratios.append((name, value, goal, comment))
        print(f"ratio {name} {value:.3f} {goal:g}", flush=True)

    def note(self, text):
        self.notes.append(text)
