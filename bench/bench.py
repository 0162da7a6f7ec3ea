#!/usr/bin/python3
"""The benchmarks, run by bench/run inside the private environment (run-isolated + with-env): floors,
the service as ratios to the floors it pays, pipelining against polkitd, libvirt-dbus side by side,
scale to 10,000 domains, real guests (waiters, WaitForCompletion, isolation from a hung guest), and
a Logoff's wall time against its floor per guest tier.
Prints `figure NAME VALUE UNIT` and `ratio NAME VALUE GOAL` lines and writes a Markdown table. The
sections live in bench/vpcbench/, one module each."""

import argparse
import subprocess
import sys
import time

from vpcbench import fleet, flood, guests, latency, libvirt_dbus, logoff_wall, pipelining, results, scale
from vpcbench.context import FLOOR, Bench, log
from vpcbench.tools import wait_for_name


def parse_args(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--bindir", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--buildtype", default="?")
    ap.add_argument("--only", default="", help="comma-separated sections, for development")
    ap.add_argument("--baseline-daemon", default="", help="another vpc-guestosd binary measured in the same rounds")
    ap.add_argument("--baseline-label", default="", help="what the baseline binary is, for RESULTS.md")
    return ap.parse_args(argv)


def main(argv):
    opts = parse_args(argv)
    b = Bench(opts)
    info = results.machine(b)
    if b.baseline:
        b.note(f"baseline_* figures and ratio_baseline_* come from another build of the daemon measured in the "
               f"same rounds: {opts.baseline_label or b.baseline}.")
    log("starting the floor server")
    floor = subprocess.Popen([b.bin["floor-server"]])
    try:
        wait_for_name(FLOOR[0], 10)
        lvd = libvirt_dbus.LibvirtDbus()
        sections = [("latency", lambda: latency.run(b)), ("pipelining", lambda: pipelining.run(b)),
                    ("libvirt-dbus", lambda: libvirt_dbus.run(b, lvd)), ("scale", lambda: scale.run(b)),
                    ("guests", lambda: guests.run(b, lvd)), ("logoff-wall", lambda: logoff_wall.run(b)),
                    ("flood", lambda: flood.run(b)), ("fleet", lambda: fleet.run(b))]
        try:
            for name, run in sections:
                if b.only and name not in b.only:
                    continue
                t0 = time.monotonic()
                run()
                log(f"{name} took {time.monotonic() - t0:.1f}s")
        finally:
            lvd.close()
    finally:
        floor.terminate()
        floor.wait()
    results.write(b, info, opts.output)


if __name__ == "__main__":
    main(sys.argv[1:])
