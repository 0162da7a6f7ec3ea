#!/usr/bin/python3
"""SetConsoleDisconnectPolicyWithOptions against the real daemon, dbus-daemon, polkitd and libvirtd
(test driver): every new action with a message is stored in the domain's metadata and read back
(ConsoleDisconnectMessage, PropertiesChanged); bad options (an unknown key, GraceSec, a wrong type,
a 100 KiB message, a message that is not UTF-8 sent on a raw connection) are InvalidArgs naming the
key with the HRESULT prefix, or never reach the daemon; the policy stays as it was, the audit
names the message's length only, and the daemon keeps serving; `vpcctl set-policy --message`
and `vpcctl status` show the message."""

import os
import re
import struct
import subprocess
import sys

import dbus

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vpctest import *  # noqa: E402,F403
import rawbus  # noqa: E402

URI = os.environ["VPC_LIBVIRT_URI"]
ENVCTL = os.path.join(os.environ["VPC_SOURCE_ROOT"], "tests", "lib", "envctl")
NS = "https://vpc.org/xmlns/guestos/1"
GUESTOS = "org.vpc.GuestOS"
WEB = "web server 01"
PATH = encode_path(WEB)
INVALID = "org.freedesktop.DBus.Error.InvalidArgs"


def with_options(action, delay, options, user=None):
    return call(PATH, GUESTOS, "SetConsoleDisconnectPolicyWithOptions", "sua{sv}", (action, delay, options), user=user)


def policy():
    return tuple(get_property(PATH, GUESTOS, p) for p in
                 ("ConsoleDisconnectPolicy", "ConsoleDisconnectDelaySec", "ConsoleDisconnectMessage"))


def metadata():
    r = subprocess.run(["virsh", "-q", "-c", URI, "metadata", WEB, "--uri", NS, "--config"], capture_output=True,
                       text=True, timeout=60)
    return r.stdout if r.returncode == 0 else None


# --- every action, with a message, round trip through the metadata ------------------------------
rec = SignalRecorder()
text = "Sesión: <guarde> & \"salga\"\nen 5 min"
for action in ("lock", "logoff", "lock-then-logoff", "warn-then-logoff", "none"):
    mark = rec.mark()
    r = with_options(action, 12, {"Message": dbus.String(text)})
    check(r.ok and policy() == (action, 12, text), f"{action} with a message is set", (r, policy()))
    md = metadata()
    check(md is not None and f'console-disconnect="{action}"' in md and "message=" in md,
          f"{action}: the element and its message are in the config metadata", md)
    changed = rec.wait_for(lambda e: e[0] == PATH and e[2] == "PropertiesChanged"
                           and "ConsoleDisconnectPolicy" in e[3][1], since=mark)
    check(changed is not None, f"{action}: PropertiesChanged", changed)

# Control characters are dropped, as LogoffWithOptions drops them.
r = with_options("warn-then-logoff", 30, {"Message": dbus.String("\x1b[2Jhi\x07 there\r")})
# The escape character goes, the harmless text after it stays (as in LogoffWithOptions).
check(r.ok and policy() == ("warn-then-logoff", 30, "[2Jhi there"), "controls dropped from the message", policy())
# SetConsoleDisconnectPolicy clears the message; an empty options dict too.
r = call(PATH, GUESTOS, "SetConsoleDisconnectPolicy", "su", ("lock", 5))
check(r.ok and policy() == ("lock", 5, ""), "SetConsoleDisconnectPolicy sets no message", policy())
md = metadata()
check(md is not None and "message=" not in md, "no message, no attribute (the old element)", md)
r = with_options("logoff", 7, {"Message": dbus.String("keep")})
r2 = with_options("logoff", 7, {})
check(r.ok and r2.ok and policy() == ("logoff", 7, ""), "empty options: no message", policy())

# --- bad input: InvalidArgs naming the key, nothing changed ---------------------------------------
before = policy()


def invalid(action, delay, options, key, what):
    r = with_options(action, delay, options)
    if expect_error(r, INVALID, what):
        check((r.error_message or "").startswith("0x80004003: ") and f"option '{key}'" in r.error_message,
              f"{what}: the HRESULT and the key", r.error_message)


invalid("lock", 5, {"Foo": dbus.String("x")}, "Foo", "an unknown key")
invalid("lock", 5, {"GraceSec": dbus.UInt32(3)}, "GraceSec", "GraceSec (the delay is the grace)")
invalid("lock", 5, {"Message": dbus.UInt32(3)}, "Message", "Message as u")
invalid("lock", 5, {"Message": dbus.String("x" * 1025)}, "Message", "a message of 1025 bytes")
invalid("lock", 5, {"Message": dbus.String("$(reboot); " * 10000)}, "Message", "a message of 100 KiB")
expect_error(with_options("shutdown", 5, {}), INVALID, "an unknown action")
expect_error(with_options("warn-then-logoff", 3601, {}), INVALID, "warn-then-logoff above 3600 s")
expect_error(call(PATH, GUESTOS, "SetConsoleDisconnectPolicyWithOptions", "sus", ("lock", 5, "x")), INVALID,
             "a string instead of a{sv}")
check(policy() == before, "the policy is unchanged after bad input", policy())
log = subprocess.run([ENVCTL, "daemon-log"], capture_output=True, text=True).stdout
check(any("event=set-policy-request" in l and "message=" in l for l in log.splitlines())
      and "$(reboot)" not in log, "the audit names the message's length, never its text")


# --- a message that is not UTF-8, on a raw connection ------------------------------------------------
def raw_call(message_bytes):
    """SetConsoleDisconnectPolicyWithOptions("lock", 5, {"Message": <bytes>}) marshalled by hand;
    returns "disconnected" or what came back."""
    body = rawbus.with_asv(rawbus.pad(rawbus.string(b"lock"), 4) + struct.pack("<I", 5),
                           [("Message", "s", rawbus.string(message_bytes))])
    # Hello's reply and then the call's: METHOD_RETURN (2) or ERROR (3) headers.
    return rawbus.call("org.vpc", PATH, GUESTOS, "SetConsoleDisconnectPolicyWithOptions", "sua{sv}", body,
                       lambda got: len(re.findall(rb"l[\x02\x03][\x00-\x07]\x01", got)) >= 2)


outcome = raw_call("raw ok".encode())
check(isinstance(outcome, bytes) and len(re.findall(rb"l\x02[\x00-\x07]\x01", outcome)) >= 2 and policy() == ("lock", 5, "raw ok"),
      "the raw connection's well-formed call is answered and applied", (outcome, policy()))
outcome = raw_call(b"\xff\xfe bad")
check(outcome == "disconnected" and policy() == ("lock", 5, "raw ok"),
      "a message that is not UTF-8: the bus drops the sender, the daemon never sees it", (outcome, policy()))

# --- vpcctl -------------------------------------------------------------------------------------------
def vpcctl(*args):
    env = {"DBUS_SYSTEM_BUS_ADDRESS": os.environ["DBUS_SYSTEM_BUS_ADDRESS"], "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    return subprocess.run([os.environ["VPCCTL"], *args], env=env, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


v = vpcctl("set-policy", WEB, "--console-disconnect=warn-then-logoff", "--delay", "90", "--message", "Bye\tnow")
check(v.returncode == 0 and policy() == ("warn-then-logoff", 90, "Bye\tnow"), "vpcctl set-policy --message",
      (v.returncode, v.stderr, policy()))
v = vpcctl("status", WEB)
check(v.returncode == 0 and "warn-then-logoff, 90 s after the last client leaves" in v.stdout and "Bye" in v.stdout,
      "vpcctl status shows the action, the delay and the message", v.stdout)
v = vpcctl("set-policy", WEB, "--console-disconnect=lock", "--grace", "3")
check(v.returncode == 2, "vpcctl set-policy --grace: usage error", (v.returncode, v.stderr))

check(get_property(PATH, GUESTOS, "Name") == WEB, "the daemon still serves")
finish()
