"""What a run writes: the machine it ran on and RESULTS.md (goals, figures, notes)."""

import os
import platform
import subprocess
import time

from .context import log

# What bounds a goal this machine does not meet, said in RESULTS.md when it is not met.
BOUNDS = {
    "logoff_accept_root": "Root's Logoff pays, beyond its floors, two thread hand-offs the floors do not "
    "(bus loop -> agent worker -> bus loop: libvirt never runs on the loop), each a wake-up of another "
    "thread on a 2-CPU machine shared with other jobs; perf on the daemon under this load shows context "
    "switches (finish_task_switch in the loop, the agent worker and libvirt's event thread) as the largest "
    "share, not work in the daemon. This issue's fix removed two of the check's three libvirt round trips "
    "(the baseline ratio above is the same measure before it).",
    "logoff_wall_busybox": "The floor runs only the logoff program and polls 5 ms apart; a Logoff also pays, "
    "before the program, the call's check (guest-info and guest-get-osinfo through the agent), the first "
    "guest-get-users and the logind probe (a second guest-exec, whose process start is the dearest step in a "
    "TCG guest, and its guest-exec-status), about 5 agent round trips and one guest process more, and polls "
    "10-20 ms apart (at most 100 agent calls a second). Folding the probe into the program (one guest-exec) "
    "and keeping the check's answers per agent connection are the next steps; neither is done.",
    "fleet_forks3_over_slowest_alone": "Every task of the play is CPU work on both sides: on the managed host "
    "the module's Python start-up (AnsiballZ compiles ansible.module_utils.basic from its zip on every run, about "
    "0.15 CPU-s, where vpcctl's own calls take ~10 ms) and on the controller a worker process per host and task. "
    "Three hosts run three times that work on the same 2 cores (shared with other jobs), so --forks 3 can only "
    "overlap the waits (SSH round trips, the guest agent), not the start-ups. With CPU-bound hosts on 2 cores the "
    "ratio cannot go below the hosts' summed CPU over twice the slowest's: for nightly.yml (3 module runs on "
    "host-a, 2 on host-b and host-c) about 7/6 = 1.17 on an idle machine, before the controller's own work.",
    "pipelining_polkit_over_ours": "polkitd evaluates its JavaScript rules on one thread; with 64 checks in "
    "flight it takes one CPU, and the daemon, dbus-daemon and libvirtd share the other.",
}


def machine(b):
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
        ("vpc-guestosd build", f"buildtype={b.opts.buildtype}"),
        ("mode", "quick" if b.quick else "full"),
    ]


def write(b, info, output):
    lines = ["# vpc-guestosd benchmark results", "",
             "Written by `bench/run`" + (" --quick" if b.quick else "") + "; see bench/README.md for what each "
             "figure measures. Ratios are taken within this one run (lower is better; met when value <= goal).", "",
             "## Machine", "", "| | |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in info]
    lines += ["", "## Goals", "", "| ratio | value | goal | met | how |", "| --- | --- | --- | --- | --- |"]
    for name, value, goal, comment in b.ratios:
        lines.append(f"| {name} | {value:.3f} | {goal:g} | {'yes' if value <= goal else '**no**'} | {comment} |")
    lines += ["", "## Figures", "", "| section | figure | value | unit | how |", "| --- | --- | --- | --- | --- |"]
    for section, name, value, unit, comment in b.table:
        lines.append(f"| {section} | {name} | {value:.6g} | {unit} | {comment} |")
    notes = list(b.notes)
    for name, value, goal, _ in b.ratios:
        if value > goal and name in BOUNDS:
            notes.append(f"{name} ({value:.2f} > {goal:g}): {BOUNDS[name]}")
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    with open(output, "w") as f:
        f.write("\n".join(lines) + "\n")
    log(f"wrote {output}")
