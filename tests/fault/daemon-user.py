#!/usr/bin/python3
"""The daemon as its own system user (vpc-guestosd), and what that user depends on. The environment
installs polkit/org.vpc.policy WITHOUT its org.freedesktop.policykit.owner annotations
(VPC_POLICY_NO_OWNER=1, tests/lib/env.sh), as the policy was while the daemon ran as root:
 - the daemon runs as vpc-guestosd with group libvirt, and serves (libvirtd let it in by polkit);
 - polkit refuses the daemon's CheckAuthorization for its callers ("Only trusted callers ..."): the
   allowed user's Logoff and ListUsers fail closed with AccessDenied 0x80070005, the daemon logs
   polkit's reason and keeps running, root (who needs no polkit) is still served;
 - the policy with its annotations back (polkitd restarted): the same user passes polkit;
 - in a user namespace that maps only the user (what PrivateUsers=yes makes), group libvirt is
   unmapped, and still opens libvirtd's group-owned socket."""

import grp
import os
import pwd
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultenv import *  # noqa: E402,F403

USER = os.environ["VPC_DAEMON_USER"]
WEB = encode_path("web server 01")
PASSED = "org.vpc.Error.AdditionsFeatureNotAvailable"   # the test driver has no agent: past polkit
DENIED_NAME = "org.freedesktop.DBus.Error.AccessDenied"
REASON = "Only trusted callers"


def status_field(pid, name):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split()[1:]
    return []


# --- who the daemon is ---------------------------------------------------------------------------
pid = pid_of("daemon")
uid, gid = pwd.getpwnam(USER).pw_uid, pwd.getpwnam(USER).pw_gid
libvirt_gid = grp.getgrnam("libvirt").gr_gid
check(daemon_running(), "the daemon runs")
check(status_field(pid, "Uid") == [str(uid)] * 4, f"... as {USER} (uid {uid}), real, effective and saved",
      status_field(pid, "Uid"))
check(status_field(pid, "Groups") == [str(libvirt_gid)], "... with the supplementary group libvirt only",
      status_field(pid, "Groups"))
check(status_field(pid, "CapEff") == ["0000000000000000"], "... and no capability", status_field(pid, "CapEff"))
r = call(MANAGER, "org.vpc.Manager", "ListGuestOS")
check(r.ok and len(r.value) >= 5, "it reads the test driver's domains through libvirtd (polkit let it in)", r)

# --- the policy without the owner annotation: fail closed -------------------------------------------
policy = os.path.join(ENV_DIR, "polkit", "actions", "org.vpc.policy")
check("org.freedesktop.policykit.owner" not in open(policy).read(), "polkitd has the policy without the annotation")
before = daemon_log().count(REASON)
r = logoff(WEB, user=ALLOWED)
expect_error(r, DENIED_NAME, "the allowed user's Logoff is denied: polkit refuses the daemon's check")
r = call(WEB, "org.vpc.GuestOS", "ListUsers", user=ALLOWED)
expect_error(r, DENIED_NAME, "... and its ListUsers")
log = daemon_log()
check(log.count(REASON) - before >= 2, f"the daemon logs polkit's reason ('{REASON} ...')",
      [line for line in log.splitlines() if "polkit check" in line][-2:])
check(daemon_running(), "the daemon keeps running")
expect_error(logoff(WEB), PASSED, "root needs no polkit and is served")
expect_error(logoff(WEB, user=DENIED), DENIED_NAME, "the denied user is denied too")

# --- the policy as shipped: the same user passes --------------------------------------------------
shutil.copyfile(os.path.join(SRC, "polkit", "org.vpc.policy"), policy)
ok1, _ = envctl("polkitd-stop")
ok2, _ = envctl("polkitd-start")
check(ok1 and ok2, "polkitd restarted with the shipped policy (annotated)")
expect_error(logoff(WEB, user=ALLOWED), PASSED, "the allowed user's Logoff passes polkit")
expect_error(logoff(WEB, user=DENIED), "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
             "the denied user is refused by polkit's verdict (not by the check)")

# --- group libvirt from inside a user namespace ---------------------------------------------------
# systemd sets the groups before it unshares the user namespace of PrivateUsers=yes; the kernel
# checks the socket's group on the real gid, whatever the namespace shows.
cmd = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--groups=libvirt", "--",
       "unshare", "--user", "--map-current-user", "--",
       "sh", "-c", "id -G; stat -c %G /run/libvirt/libvirt-sock; virsh -c qemu:///system uri"]
out = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                     env={"PATH": "/usr/bin:/bin", "HOME": "/", "LIBVIRT_AUTOSTART": "0",
                          "DBUS_SYSTEM_BUS_ADDRESS": os.environ["DBUS_SYSTEM_BUS_ADDRESS"]})
lines = out.stdout.split()
check(out.returncode == 0 and "65534" in lines and "nogroup" in lines and "qemu:///system" in lines,
      f"{USER} in a user namespace (group libvirt shows as 65534) still connects to qemu:///system",
      (out.stdout + out.stderr).strip())

# --- clean exit ------------------------------------------------------------------------------------
ok, status = envctl("daemon-stop")
check(ok and status == "0", "SIGTERM: the daemon exits 0", status)
finish()
