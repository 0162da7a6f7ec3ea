"""A test's own sshd and ssh client files, shared by the tests that reach a private environment
through a real SSH login (tests/integration/vpcctl-remote.py, tests/fleet): a free loopback port,
keys, an sshd configuration that takes keys only on 127.0.0.1, and a wait for it to listen. Nothing
here reads or writes the machine's ssh configuration or ~/.ssh."""

import socket
import subprocess
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def keygen(path, comment=""):
    """An ed25519 key pair without a passphrase at PATH and PATH.pub."""
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path, check=True)


def write_sshd_config(path, d, port, what):
    """sshd's configuration for a test: loopback only, root by key only, its files in directory D
    (host_key, authorized_keys, sshd.pid)."""
    with open(path, "w") as f:
        f.write(f"""# sshd of {what}: loopback only, keys only.
Port {port}
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


def listening(port, timeout, alive=lambda: True):
    """True once something accepts on 127.0.0.1:PORT within TIMEOUT seconds (False early when
    alive() says the server is gone)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            if not alive() or time.monotonic() > deadline:
                return False
            time.sleep(0.05)
