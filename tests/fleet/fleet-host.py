#!/usr/bin/python3
"""One managed host of the fleet test, run by tests/lib/with-env inside a private environment of its
own (its bus, polkitd, libvirtd, vpc-guestosd): makes the environment look like an installed host to
an SSH login (the build's vpcctl in /usr/local/bin, and, unless --no-bus-link, the private bus at
the system bus's default path in the private /run) and runs sshd there on 127.0.0.1, so the modules
that Ansible runs through it see this host's bus and libvirt. Writes READY (a JSON object) once sshd
listens; stops sshd and returns when its standard input closes.
usage: fleet-host.py SSHD_CONFIG PORT READY [--no-bus-link]"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from vpcssh import listening  # noqa: E402

config, port, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]
bus_link = "--no-bus-link" not in sys.argv[4:]
env_dir = os.environ["VPC_ENV_DIR"]
bus = os.environ["DBUS_SYSTEM_BUS_ADDRESS"]


def die(what):
    print(f"fleet-host: {what}", file=sys.stderr)
    sys.exit(1)


# /run is the environment's private tmpfs (tests/lib/env.sh), /usr/local/bin a bind mount of this
# mount namespace only: nothing here reaches the machine's own.
if not os.path.ismount("/run") or os.path.exists("/run/dbus/system_bus_socket"):
    die("not in a private /run without a system bus socket")
os.makedirs("/run/sshd", mode=0o755, exist_ok=True)     # sshd's privilege-separation directory
if bus_link:
    os.makedirs("/run/dbus", mode=0o755, exist_ok=True)
    os.symlink(bus.split("unix:path=", 1)[1], "/run/dbus/system_bus_socket")
bindir = os.path.join(env_dir, "usr-local-bin")
os.makedirs(bindir)
os.chmod(bindir, 0o755)
os.symlink(os.environ["VPCCTL"], os.path.join(bindir, "vpcctl"))
if subprocess.run(["mount", "--bind", bindir, "/usr/local/bin"]).returncode != 0:
    die("cannot bind the build's vpcctl on /usr/local/bin")

log = open(os.path.join(os.path.dirname(config), "sshd.log"), "w")
sshd = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", config], stdout=log, stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL)
if not listening(port, 20, lambda: sshd.poll() is None):
    die(f"sshd did not listen on 127.0.0.1:{port}")
with open(ready + ".tmp", "w") as f:
    json.dump({"bus": bus, "env_dir": env_dir, "libvirt_uri": os.environ.get("VPC_LIBVIRT_URI", "")}, f)
os.rename(ready + ".tmp", ready)
sys.stdin.read()
sshd.terminate()
sshd.wait(timeout=10)
