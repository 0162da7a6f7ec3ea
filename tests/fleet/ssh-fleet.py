#!/usr/bin/python3
"""The vpc.guestos collection against three managed hosts reached through real SSH (fleet.py: each
host a private environment of its own with an sshd inside; host-a a real guest with qemu-ga, host-b
the test driver's domains, host-c its bus through DBUS_SYSTEM_BUS_ADDRESS only). playbooks/checks.yml
asserts the issue's list; docs/ansible.md's fleet playbook runs as written there; nightly.yml runs
twice (the second run changes nothing), and with --forks 3 the hosts run each task at the same
moment, with --forks 1 one after the other (the timing of that is bench/'s fleet section). ~/.ssh
and /etc/ssh are proved untouched."""

import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from vpctest import check, finish  # noqa: E402
from fleet import Fleet  # noqa: E402

T0 = time.monotonic()


def untouched_state():
    """What must stay as it was: the machine's ssh configuration and root's ~/.ssh."""
    state = {}
    for top in ("/etc/ssh", os.path.expanduser("~root/.ssh")):
        if not os.path.exists(top):
            state[top] = None
            continue
        for d, _, files in os.walk(top):
            for f in [d] + [os.path.join(d, x) for x in files]:
                st = os.lstat(f)
                state[f] = (st.st_mtime_ns, st.st_size, st.st_mode)
    return state


before = untouched_state()
fleet = Fleet()
up = fleet.start()
for name, h in fleet.hosts.items():
    if not check(fleet.ready([name]), f"{name}: its environment is up and its sshd listens on 127.0.0.1:{h['port']}"):
        print(fleet.log(name))
if not up:
    fleet.stop()
    finish()
t_ready = time.monotonic() - T0
print(f"# hosts up after {t_ready:.1f} s")
HOSTS = fleet.hosts


def playbook(book, *args):
    rc, recap, play, wall, out = fleet.playbook(book, *args)
    print(f"# ansible-playbook {os.path.basename(book)} {' '.join(args)}: exit {rc}, play {play:.2f} s, wall {wall:.2f} s")
    print("\n".join("#   " + line for line in out.splitlines() if re.match(r"^(host-\w+)\s+:", line)))
    if os.environ.get("FLEET_VERBOSE"):
        for t in fleet.tasks:
            print(f"#     {t['host']} {t['start']:6.2f} .. {t['end'] or 0:6.2f}  {t['task']}")
    return rc, recap, out


def fails_of(out):
    return "\n".join(line for line in out.splitlines() if "FAILED" in line or "fatal:" in line
                     or "Assertion failed" in line or "msg" in line)[-4000:] or out[-2000:]


rc, recap, out = playbook("checks.yml")
check(rc == 0 and sorted(recap) == sorted(HOSTS) and all(c["failed"] == 0 and c["unreachable"] == 0 for c in recap.values()),
      "checks.yml on the three hosts at once: every assertion held (guest_info lists each host's VMs; check mode "
      "logs nobody off; the guest's users logged off as the guest's agent says; a second logoff is ok, not changed; "
      "a shut-off VM fails with 0xA0040206 in msg; unknown VM, no agent and a polkit denial have their error names; "
      "console_policy is idempotent and check mode stores nothing)", (rc, recap, fails_of(out)))
check(all(h in out for h in ("ok: [host-c]",)) and "Traceback" not in out, "host-c was reached on its bus through "
      "DBUS_SYSTEM_BUS_ADDRESS, and no module printed a traceback", fails_of(out))

# docs/ansible.md's fleet playbook as written there, on every host: host-a's users logged off, the
# other hosts' VMs without an agent tolerated by its failed_when. This machine has no sudo and the
# test logs in as root, so the play's become is turned off.
doc_book = os.path.join(fleet.tmp, "docs-nightly.yml")
with open(os.path.join(fleet.src, "docs", "ansible.md")) as f:
    doc = f.read().split("## A fleet playbook", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
with open(doc_book, "w") as f:
    f.write(doc.replace("  hosts: lab\n", "  hosts: all\n  environment: \"{{ fleet_environment }}\"\n", 1))
rc, recap, out = playbook(doc_book, "-e", "ansible_become=false")
check(rc == 0 and recap.get("host-a", {}).get("changed") == 1 and
      all(recap.get(h, {}).get("failed", 1) == 0 for h in HOSTS) and
      re.search(r'"msg": "g1: (alice, bob|bob, alice)"', out),
      "docs/ansible.md's fleet playbook: alice and bob logged off host-a's g1 and reported; the VMs without "
      "an agent of host-b and host-c do not fail it", (rc, recap, fails_of(out)))

rc, recap, out = playbook("nightly.yml")
check(rc == 0 and all(recap.get(h, {}).get("changed", 0) > 0 and recap[h]["failed"] == 0 for h in HOSTS),
      "nightly.yml, first run: each host changed something (host-a's users logged off, the console policies set)",
      (rc, recap, fails_of(out)))
rc, recap, out = playbook("nightly.yml")
check(rc == 0 and all(recap.get(h) == dict(recap.get(h, {}), changed=0, failed=0) for h in HOSTS),
      "nightly.yml, second run: changed=0 and failed=0 on every host", (rc, recap, fails_of(out)))
# Pass/fail on what a loaded machine cannot blur: the hosts' runs of a task overlap with --forks 3
# and not with --forks 1. How much faster that makes the play is measured by bench/'s fleet section.
check(fleet.overlap("Who is where") and fleet.overlap("Log off when the console's last client leaves"),
      "--forks 3: the three hosts ran each task at the same time", fleet.tasks)
rc, recap, out = playbook("nightly.yml", "--forks", "1")
check(rc == 0 and all(recap.get(h, {}).get("failed", 1) == 0 for h in HOSTS), "nightly.yml with --forks 1",
      (rc, recap, fails_of(out)))
check(not fleet.overlap("Who is where"), "--forks 1: one host after the other (the check above can fail)",
      fleet.tasks)

for name, rc in fleet.stop().items():
    check(rc == 0, f"{name}: its environment ended cleanly (sshd, daemon, polkitd, libvirtd stopped)",
          (rc, fleet.log(name)[-1500:]))
check(untouched_state() == before, "/etc/ssh and ~/.ssh are as they were")
fleet.remove()
print(f"# fleet test wall time {time.monotonic() - T0:.1f} s (hosts up after {t_ready:.1f} s)")
finish()
