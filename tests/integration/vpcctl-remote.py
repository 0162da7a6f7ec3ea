#!/usr/bin/python3
"""vpcctl -H for real: an sshd started here on 127.0.0.1 (key-based login as root), reached by sd-bus's
SSH transport, which runs systemd-stdio-bridge on the far side. As on a real host the bridge finds
the system bus at its default path, /run/dbus/system_bus_socket: in this test's private /run that is
the private test bus (systemd 252's bridge ignores DBUS_SYSTEM_BUS_ADDRESS). list, status, logoff errors with their HRESULTs and --json all
cross the bridge; [USER@]HOST:PORT is parsed; no sshd means exit 11. The ssh client's configuration
is a private one bound over /etc/ssh/ssh_config inside this test's mount namespace."""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vpctest import *  # noqa: E402,F403
from vpcssh import free_port, keygen, listening, run, write_sshd_config  # noqa: E402

VPCCTL = os.environ["VPCCTL"]
BUS = os.environ["DBUS_SYSTEM_BUS_ADDRESS"]
D = os.path.join(os.environ["VPC_ENV_DIR"], "ssh")
os.makedirs(D, mode=0o700)


for key in ("host_key", "id_client"):
    keygen(os.path.join(D, key))
with open(os.path.join(D, "id_client.pub")) as f, open(os.path.join(D, "authorized_keys"), "w") as g:
    g.write(f.read())
port = free_port()
write_sshd_config(os.path.join(D, "sshd_config"), D, port, "the -H test")
with open(os.path.join(D, "ssh_config"), "w") as f:
    f.write(f"""Host vpc-test-host 127.0.0.1
    HostName 127.0.0.1
    Port {port}
    User root
    IdentityFile {D}/id_client
    IdentitiesOnly yes
    StrictHostKeyChecking no
    UserKnownHostsFile /dev/null
    BatchMode yes
    LogLevel ERROR
""")
check(run("mount", "--bind", os.path.join(D, "ssh_config"), "/etc/ssh/ssh_config").returncode == 0,
      "a private ssh client configuration in this namespace")
# /run is the environment's private tmpfs (tests/lib/env.sh): nothing here reaches the host's.
check(os.path.ismount("/run") and not os.path.exists("/run/dbus/system_bus_socket"),
      "a private /run without a system bus socket")
os.makedirs("/run/sshd", mode=0o755, exist_ok=True)   # sshd's privilege-separation directory
os.makedirs("/run/dbus", mode=0o755, exist_ok=True)
os.symlink(BUS.split("unix:path=", 1)[1], "/run/dbus/system_bus_socket")
sshd_log = open(os.path.join(D, "sshd.log"), "w")
sshd = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", os.path.join(D, "sshd_config")],
                        stdout=sshd_log, stderr=subprocess.STDOUT)


check(listening(port, 10, lambda: sshd.poll() is None), f"sshd listens on 127.0.0.1:{port}")


def vpcctl(*args):
    # No DBUS_SYSTEM_BUS_ADDRESS here: the only way to the private bus is through sshd.
    return subprocess.run([VPCCTL, *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                          env={"PATH": "/usr/bin:/bin", "HOME": "/root"})


local = subprocess.run([VPCCTL, "list"], capture_output=True, text=True, env={**os.environ})
r = vpcctl("-H", "vpc-test-host", "list")
check(r.returncode == 0 and r.stdout == local.stdout and "6 VMs listed." in r.stdout,
      "-H HOST list: the same table as locally", (r.returncode, r.stdout[-300:], r.stderr[-300:]))
with open(os.path.join(D, "sshd.log")) as f:
    log = f.read()
check("Accepted publickey for root" in log, "... through an SSH login with the key", log[-400:])

r = vpcctl("-H", f"root@127.0.0.1:{port}", "--json", "status", "web server 01")
try:
    d = json.loads(r.stdout)
except ValueError:
    d = {}
check(r.returncode == 0 and d.get("state") == "running" and d.get("path") == encode_path("web server 01"),
      "-H USER@HOST:PORT status --json", (r.returncode, r.stdout[-300:], r.stderr[-300:]))

r = vpcctl("-H", "vpc-test-host", "logoff", "db.prod-2")
check(r.returncode == 4 and "0xA0040206" in r.stderr and "org.vpc.Error.VmNotRunning" in r.stderr,
      "-H logoff of the shut-off VM: exit 4, HRESULT and error name across the bridge", (r.returncode, r.stderr))
r = vpcctl("-H", "vpc-test-host", "logoff", "--all", "--json")
try:
    d = json.loads(r.stdout)
except ValueError:
    d = {}
check(r.returncode == 5 and len(d.get("results", [])) == 3
      and all(x["error_name"] == "org.vpc.Error.AdditionsFeatureNotAvailable" for x in d["results"]),
      "-H logoff --all --json: the remote root passes authorization; the test driver has no agent (5)",
      (r.returncode, r.stdout[-400:], r.stderr[-300:]))
r = vpcctl("-H", "vpc-test-host", "monitor", "--timeout", "1")
check(r.returncode == 0 and " monitoring " in r.stdout, "-H monitor subscribes across the bridge", (r.returncode, r.stdout, r.stderr))

sshd.terminate()
sshd.wait(timeout=10)
r = vpcctl("-H", "vpc-test-host", "list")
check(r.returncode == 11 and "vpcctl: " in r.stderr, "-H with no sshd: exit 11 (unreachable) and a message",
      (r.returncode, r.stderr))
finish()
