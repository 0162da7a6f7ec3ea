"""Three managed hosts on this one machine and an Ansible controller for them, shared by the fleet
test (ssh-fleet.py) and the bench's fleet section (bench/vpcbench/fleet.py). Each host is a private
environment of its own (tests/lib/with-env in tests/lib/run-isolated: bus, polkitd, libvirtd,
vpc-guestosd) with an sshd on 127.0.0.1 on a port of its own running inside it (fleet-host.py), so a
module that Ansible runs there sees that host's bus and libvirt:
  host-a: a real busybox guest g1 with the real qemu-ga, alice and bob logged in;
  host-b: libvirt's test driver with the integration tests' domains (running, paused, shut off);
  host-c: the test driver's own domain only, its bus reached through DBUS_SYSTEM_BUS_ADDRESS (no
          socket at the default path), which the plays set for it.
ansible-playbook runs with a configuration, inventory, client key and known_hosts of this fleet's
own in a temporary directory (host keys checked; ssh -F, so no ssh configuration of the machine is
read; HOME points there too)."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("VPC_SOURCE_ROOT") or os.path.abspath(os.path.join(HERE, "..", ".."))
LIB = os.path.join(SRC, "tests", "lib")
sys.path.insert(0, LIB)
from vpcssh import free_port, keygen, write_sshd_config  # noqa: E402

PYTHON = "/usr/bin/python3"
# What tests/lib/with-env exports to the command it runs: a fleet started inside another environment
# (bench/run's) must not inherit that one's bus and libvirt.
ENV_OF_AN_ENVIRONMENT = ("DBUS_SYSTEM_BUS_ADDRESS", "VPC_DAEMON_URI", "VPC_ENV_DIR", "VPC_GUEST_IMAGE", "VPC_GUEST_TIER",
                         "VPC_GUEST_URI", "VPC_GUEST_VNC", "VPC_LIBVIRT_URI", "XDG_CONFIG_HOME")

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


class Fleet:
    """The hosts, once start() returned True, until stop()."""

    def __init__(self, callback_dir=None):
        self.src = SRC
        self.hosts = {name: dict(h) for name, h in HOSTS.items()}
        self.procs = {}
        self.callback_dir = callback_dir or os.path.join(HERE, "callback_plugins")
        self.tmp = tempfile.mkdtemp(prefix="vpc-fleet.")
        os.chmod(self.tmp, 0o755)
        for d in ("home", "cp", "local-tmp", "remote-tmp"):
            os.makedirs(os.path.join(self.tmp, d), mode=0o700)
        # The unprivileged users of the become checks need a remote_tmp they may create their own in.
        os.chmod(os.path.join(self.tmp, "remote-tmp"), 0o1777)
        self.env = {"PATH": "/usr/bin:/bin", "HOME": os.path.join(self.tmp, "home"), "LANG": "C.UTF-8",
                    "ANSIBLE_CONFIG": os.path.join(self.tmp, "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
                    "FLEET_TIMER_FILE": os.path.join(self.tmp, "timer.json")}
        self.tasks = []

    def start(self, timeout=400):
        """Starts every host's environment and sshd at once; True when all are up."""
        tmp = self.tmp
        host_env = {k: v for k, v in os.environ.items() if k not in ENV_OF_AN_ENVIRONMENT}
        keygen(os.path.join(tmp, "id_client"), "fleet-controller")
        for name, h in self.hosts.items():
            d = h["dir"] = os.path.join(tmp, name)
            os.makedirs(d, mode=0o700)
            keygen(os.path.join(d, "host_key"), name)
            shutil.copy(os.path.join(tmp, "id_client.pub"), os.path.join(d, "authorized_keys"))
            h["port"] = free_port()
            write_sshd_config(os.path.join(d, "sshd_config"), d, h["port"],
                              f"managed host {name}, inside the host's environment")
            cmd = [os.path.join(LIB, "run-isolated"), os.path.join(LIB, "with-env"), *h["opts"], "--daemon", "--",
                   PYTHON, os.path.join(HERE, "fleet-host.py"), os.path.join(d, "sshd_config"), str(h["port"]),
                   os.path.join(d, "ready")] + ([] if h.get("bus_link", True) else ["--no-bus-link"])
            h["log"] = open(os.path.join(d, "env.log"), "w")
            self.procs[name] = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=h["log"],
                                                stderr=subprocess.STDOUT, env=host_env)
        deadline = time.monotonic() + timeout
        while not self.ready(name for name in self.hosts):
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs.values()):
                return False
            time.sleep(0.2)
        for h in self.hosts.values():
            with open(os.path.join(h["dir"], "ready")) as f:
                h["ready"] = json.load(f)
        self._controller()
        return True

    def ready(self, names):
        return all(os.path.exists(os.path.join(self.hosts[n]["dir"], "ready")) for n in names)

    def _controller(self):
        """known_hosts with each host's key, an ssh configuration used with -F (so neither
        /etc/ssh/ssh_config nor ~/.ssh/config is read), ansible.cfg and the inventory."""
        tmp = self.tmp
        with open(os.path.join(tmp, "known_hosts"), "w") as f:
            for h in self.hosts.values():
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
callback_plugins = {self.callback_dir}
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
        for name, h in self.hosts.items():
            hv = dict(ansible_host="127.0.0.1", ansible_port=h["port"], fleet_vms=h["vms"],
                      fleet_running=h["running"], fleet_agents=h["agents"], fleet_policy_vm=h["policy_vm"],
                      fleet_libvirt_uri=h["ready"]["libvirt_uri"],
                      fleet_environment={} if h.get("bus_link", True) else
                      {"DBUS_SYSTEM_BUS_ADDRESS": h["ready"]["bus"]})
            hv.update(h["extra"])
            inventory["all"]["hosts"][name] = hv
        with open(os.path.join(tmp, "inventory.yml"), "w") as f:
            json.dump(inventory, f, indent=1)

    def playbook(self, book, *args):
        """Runs tests/fleet/playbooks/BOOK; returns (exit status, recap {host: counts}, play seconds,
        wall seconds, output). The play's task runs per host are in self.tasks afterwards."""
        t = time.monotonic()
        try:
            os.unlink(self.env["FLEET_TIMER_FILE"])
        except FileNotFoundError:
            pass
        r = subprocess.run(["/usr/bin/ansible-playbook", os.path.join(HERE, "playbooks", book), *args],
                           capture_output=True, text=True, env=self.env, stdin=subprocess.DEVNULL, timeout=600)
        wall = time.monotonic() - t
        recap = {}
        for m in re.finditer(r"^(host-\w+)\s+:\s+(.*)$", r.stdout, re.M):
            recap[m.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
        try:
            with open(self.env["FLEET_TIMER_FILE"]) as f:
                timer = json.load(f)
            play = timer["play_seconds"]
        except (OSError, ValueError, KeyError):
            timer, play = {}, float("nan")
        self.tasks = timer.get("tasks", [])
        return r.returncode, recap, play, wall, r.stdout + r.stderr

    def overlap(self, name):
        """The hosts ran task NAME of the last play at one moment: each started before any of them
        ended (with --forks 1 a host starts only after the one before it ended)."""
        runs = [t for t in self.tasks if t["task"] == name and t["end"] is not None]
        return len(runs) == len(self.hosts) and max(t["start"] for t in runs) < min(t["end"] for t in runs)

    def log(self, name):
        with open(os.path.join(self.hosts[name]["dir"], "env.log"), errors="replace") as f:
            return f.read()[-3000:]

    def stop(self):
        """Ends every host's environment; {host: exit status}."""
        for p in self.procs.values():
            if p.poll() is None:
                p.stdin.close()
        for p in self.procs.values():
            try:
                p.wait(timeout=90)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        return {name: p.returncode for name, p in self.procs.items()}

    def remove(self):
        shutil.rmtree(self.tmp, ignore_errors=True)
