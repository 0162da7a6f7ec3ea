#!/usr/bin/python3
"""The vpc.guestos collection against three managed hosts reached through real SSH. Each host is a
private environment of its own (tests/lib/with-env in tests/lib/run-isolated: bus, polkitd, libvirtd,
vpc-guestosd) with an sshd on 127.0.0.1 on a port of its own running inside it (fleet-host.py), so
a module that Ansible runs there sees that host's bus and libvirt:
  host-a: a real busybox guest g1 with the real qemu-ga, alice and bob logged in;
  host-b: libvirt's test driver with the integration tests' domains (running, paused, shut off);
  host-c: the test driver's own domain only, its bus reached through DBUS_SYSTEM_BUS_ADDRESS (no
          socket at the default path), which the play sets for it.
ansible-playbook runs here with a configuration, inventory, client key and known_hosts of this
test's own in a temporary directory (host keys checked; ssh -F, so no ssh configuration of the
machine is read; HOME points there too). playbooks/checks.yml asserts the issue's list; nightly.yml
runs twice (the second run changes nothing) and is timed with --forks 3 on all hosts against each
host alone and against --forks 1. ~/.ssh and /etc/ssh are proved untouched."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vpctest import check, finish  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("VPC_SOURCE_ROOT") or os.path.abspath(os.path.join(HERE, "..", ".."))
LIB = os.path.join(SRC, "tests", "lib")
PYTHON = "/usr/bin/python3"
T0 = time.monotonic()

# tests/lib/env.sh, vpc_domains_populate: the integration tests' domains and libvirt's own "test".
TEST_DRIVER_VMS = ["1vm", "db.prod-2", "paused-vm", "test", "web server 01", "ünïcode-vm"]
HOSTS = {
    "host-a": dict(opts=["--guest", "g1:alice,bob"], vms=["g1"], running=["g1"], agents=1, policy_vm="g1",
                   extra={"fleet_guest": "g1"}),
    "host-b": dict(opts=["--domains"], vms=TEST_DRIVER_VMS, running=["test", "web server 01", "ünïcode-vm"],
                   agents=0, policy_vm="web server 01", extra={}),
    "host-c": dict(opts=["--libvirt"], vms=["test"], running=["test"], agents=0, policy_vm="test", extra={},
                   bus_link=False),
}


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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


before = untouched_state()
tmp = tempfile.mkdtemp(prefix="vpc-fleet.")
os.chmod(tmp, 0o755)
for d in ("home", "cp", "local-tmp", "remote-tmp"):
    os.makedirs(os.path.join(tmp, d), mode=0o700)
# The unprivileged users of the become checks need a remote_tmp they may create their own in.
os.chmod(os.path.join(tmp, "remote-tmp"), 0o1777)
run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "fleet-controller", "-f", os.path.join(tmp, "id_client"),
    check=True)

procs = {}
for name, h in HOSTS.items():
    d = os.path.join(tmp, name)
    os.makedirs(d, mode=0o700)
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", os.path.join(d, "host_key"), check=True)
    shutil.copy(os.path.join(tmp, "id_client.pub"), os.path.join(d, "authorized_keys"))
    h["port"] = free_port()
    h["dir"] = d
    with open(os.path.join(d, "sshd_config"), "w") as f:
        f.write(f"""# sshd of managed host {name}: loopback only, keys only, inside the host's environment.
Port {h['port']}
ListenAddress 127.0.0.1
HostKey {d}/host_key
PidFile {d}/sshd.pid
AuthorizedKeysFile {d}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
""")
    cmd = [os.path.join(LIB, "run-isolated"), os.path.join(LIB, "with-env"), *h["opts"], "--daemon", "--",
           PYTHON, os.path.join(HERE, "fleet-host.py"), os.path.join(d, "sshd_config"), str(h["port"]),
           os.path.join(d, "ready")] + ([] if h.get("bus_link", True) else ["--no-bus-link"])
    h["log"] = open(os.path.join(d, "env.log"), "w")
    procs[name] = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=h["log"], stderr=subprocess.STDOUT)


def stop_hosts():
    for name, p in procs.items():
        if p.poll() is None:
            p.stdin.close()
    for name, p in procs.items():
        try:
            p.wait(timeout=90)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def host_log(name):
    with open(os.path.join(HOSTS[name]["dir"], "env.log"), errors="replace") as f:
        return f.read()[-3000:]


deadline = time.monotonic() + 400
while time.monotonic() < deadline:
    if all(os.path.exists(os.path.join(h["dir"], "ready")) for h in HOSTS.values()):
        break
    dead = [n for n, p in procs.items() if p.poll() is not None]
    if dead:
        break
    time.sleep(0.2)
for name, h in HOSTS.items():
    ok = check(os.path.exists(os.path.join(h["dir"], "ready")),
               f"{name}: its environment is up and its sshd listens on 127.0.0.1:{h['port']}")
    if not ok:
        print(host_log(name))
if not all(os.path.exists(os.path.join(h["dir"], "ready")) for h in HOSTS.values()):
    stop_hosts()
    finish()
t_ready = time.monotonic() - T0
print(f"# hosts up after {t_ready:.1f} s")
for h in HOSTS.values():
    with open(os.path.join(h["dir"], "ready")) as f:
        h["ready"] = json.load(f)

# The controller's own files: known_hosts with each host's key, an ssh configuration used with -F
# (so neither /etc/ssh/ssh_config nor ~/.ssh/config is read), ansible.cfg and the inventory.
with open(os.path.join(tmp, "known_hosts"), "w") as f:
    for h in HOSTS.values():
        with open(os.path.join(h["dir"], "host_key.pub")) as k:
            f.write(f"[127.0.0.1]:{h['port']} {' '.join(k.read().split()[:2])}\n")
with open(os.path.join(tmp, "ssh_config"), "w") as f:
    f.write(f"""Host *
    User root
    IdentityFile {tmp}/id_client
    IdentitiesOnly yes
    UserKnownHostsFile {tmp}/known_hosts
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking yes
    BatchMode yes
    LogLevel ERROR
    ControlMaster auto
    ControlPersist 300
    ControlPath {tmp}/cp/%C
""")
with open(os.path.join(tmp, "ansible.cfg"), "w") as f:
    f.write(f"""[defaults]
inventory = {tmp}/inventory.yml
collections_path = {SRC}/ansible
callback_plugins = {HERE}/callback_plugins
callbacks_enabled = fleet_timer
local_tmp = {tmp}/local-tmp
remote_tmp = {tmp}/remote-tmp
interpreter_python = /usr/bin/python3
host_key_checking = True
retry_files_enabled = False
forks = 3
[ssh_connection]
ssh_args = -F {tmp}/ssh_config
control_path_dir = {tmp}/cp
pipelining = True
""")
inventory = {"all": {"hosts": {}, "vars": {"ansible_user": "root", "fleet_source_root": SRC}}}
for name, h in HOSTS.items():
    hv = dict(ansible_host="127.0.0.1", ansible_port=h["port"], fleet_vms=h["vms"], fleet_running=h["running"],
              fleet_agents=h["agents"], fleet_policy_vm=h["policy_vm"], fleet_libvirt_uri=h["ready"]["libvirt_uri"],
              fleet_environment={} if h.get("bus_link", True) else {"DBUS_SYSTEM_BUS_ADDRESS": h["ready"]["bus"]})
    hv.update(h["extra"])
    inventory["all"]["hosts"][name] = hv
with open(os.path.join(tmp, "inventory.yml"), "w") as f:
    json.dump(inventory, f, indent=1)

ENV = {"PATH": "/usr/bin:/bin", "HOME": os.path.join(tmp, "home"), "LANG": "C.UTF-8",
       "ANSIBLE_CONFIG": os.path.join(tmp, "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
       "FLEET_TIMER_FILE": os.path.join(tmp, "timer.json")}


def playbook(book, *args, show=True):
    """Runs a playbook; returns (exit status, recap {host: counts}, play seconds, wall seconds, output)."""
    t = time.monotonic()
    try:
        os.unlink(ENV["FLEET_TIMER_FILE"])
    except FileNotFoundError:
        pass
    r = subprocess.run(["/usr/bin/ansible-playbook", os.path.join(HERE, "playbooks", book), *args],
                       capture_output=True, text=True, env=ENV, stdin=subprocess.DEVNULL, timeout=600)
    wall = time.monotonic() - t
    recap = {}
    for m in re.finditer(r"^(host-\w+)\s+:\s+(.*)$", r.stdout, re.M):
        recap[m.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
    try:
        with open(ENV["FLEET_TIMER_FILE"]) as f:
            timer = json.load(f)
        play = timer["play_seconds"]
    except (OSError, ValueError, KeyError):
        timer, play = {}, float("nan")
    if os.environ.get("FLEET_VERBOSE"):
        for t in timer.get("tasks", []):
            print(f"#     {t['host']} {t['start']:6.2f} .. {t['end'] or 0:6.2f}  {t['task']}")
    if show:
        print(f"# ansible-playbook {book} {' '.join(args)}: exit {r.returncode}, play {play:.2f} s, wall {wall:.2f} s")
        print("\n".join("#   " + line for line in r.stdout.splitlines() if re.match(r"^(host-\w+)\s+:", line)))
    playbook.tasks = timer.get("tasks", [])
    return r.returncode, recap, play, wall, r.stdout + r.stderr


def overlap(tasks, name):
    """The three hosts ran task `name` at one moment: each started before any of them ended (with
    --forks 1 a host starts only after the one before it ended)."""
    runs = [t for t in tasks if t["task"] == name and t["end"] is not None]
    return len(runs) == len(HOSTS) and max(t["start"] for t in runs) < min(t["end"] for t in runs)


def fails_of(out):
    return "\n".join(line for line in out.splitlines() if "FAILED" in line or "fatal:" in line
                     or "Assertion failed" in line or "msg" in line)[-4000:] or out[-2000:]


rc, recap, _, _, out = playbook("checks.yml")
check(rc == 0 and sorted(recap) == sorted(HOSTS) and all(c["failed"] == 0 and c["unreachable"] == 0 for c in recap.values()),
      "checks.yml on the three hosts at once: every assertion held (guest_info lists each host's VMs; check mode "
      "logs nobody off; the guest's users logged off as the guest's agent says; a second logoff is ok, not changed; "
      "a shut-off VM fails with 0xA0040206 in msg; unknown VM, no agent and a polkit denial have their error names; "
      "console_policy is idempotent and check mode stores nothing)", (rc, recap, fails_of(out)))
check(all(h in out for h in ("ok: [host-c]",)) and "Traceback" not in out, "host-c was reached on its bus through "
      "DBUS_SYSTEM_BUS_ADDRESS, and no module printed a traceback", fails_of(out))

rc, recap, _, _, out = playbook("nightly.yml")
check(rc == 0 and all(recap.get(h, {}).get("changed", 0) > 0 and recap[h]["failed"] == 0 for h in HOSTS),
      "nightly.yml, first run: each host changed something (host-a's users logged off, the console policies set)",
      (rc, recap, fails_of(out)))
rc, recap, t_par, wall_par, out = playbook("nightly.yml")
par_tasks = playbook.tasks
check(rc == 0 and all(recap.get(h) == dict(recap.get(h, {}), changed=0, failed=0) for h in HOSTS),
      "nightly.yml, second run: changed=0 and failed=0 on every host", (rc, recap, fails_of(out)))

alone = {}
for h in HOSTS:
    rc, recap, alone[h], _, out = playbook("nightly.yml", "--limit", h)
    check(rc == 0 and list(recap) == [h] and recap[h]["changed"] == 0, f"nightly.yml on {h} alone", (rc, recap))
rc, recap, t_serial, _, out = playbook("nightly.yml", "--forks", "1")
check(rc == 0 and all(recap.get(h, {}).get("failed", 1) == 0 for h in HOSTS), "nightly.yml with --forks 1", (rc, recap))
slowest = max(alone.values())
print(f"# play time, --forks 3 on the three hosts: {t_par:.2f} s; the slowest host alone: {slowest:.2f} s "
      f"({max(alone, key=alone.get)}; each: " + ", ".join(f"{h} {t:.2f} s" for h, t in alone.items()) +
      f"); --forks 1: {t_serial:.2f} s")
print(f"# ratio all hosts / slowest alone: {t_par / slowest:.2f} (the issue asks <= 1.5); "
      f"--forks 3 / --forks 1: {t_par / t_serial:.2f}")
# Pass/fail on what a loaded machine cannot blur: the hosts' runs of a task overlap with --forks 3
# and not with --forks 1. The times above are the measurement (on 2 shared cores the ratio
# depends on the load: the modules' Python start-up is CPU, not waiting).
serial_tasks = playbook.tasks
check(overlap(par_tasks, "Who is where") and overlap(par_tasks, "Log off when the console's last client leaves"),
      "--forks 3: the three hosts ran each task at the same time", par_tasks)
check(not overlap(serial_tasks, "Who is where"), "--forks 1: one host after the other (the check above can fail)",
      serial_tasks)

stop_hosts()
for name, p in procs.items():
    check(p.returncode == 0, f"{name}: its environment ended cleanly (sshd, daemon, polkitd, libvirtd stopped)",
          (p.returncode, host_log(name)[-1500:]))
check(untouched_state() == before, "/etc/ssh and ~/.ssh are as they were")
shutil.rmtree(tmp, ignore_errors=True)
print(f"# fleet test wall time {time.monotonic() - T0:.1f} s (hosts up after {t_ready:.1f} s)")
finish()
