#!/usr/bin/python3
"""LogoffWithOptions' options against the real daemon, dbus-daemon and polkitd (test driver, no
guest agent): an unknown key, a wrong type, a message above 1 KiB (100 KiB too), a grace above
3600 s and a key given twice are InvalidArgs naming the key, with the HRESULT prefix; a denied caller
is refused before its options are looked at; good options go on to the guest check as Logoff does
(AdditionsFeatureNotAvailable on the test driver); a message that is not UTF-8, sent on a raw
connection, never reaches the daemon (the bus drops the sender); the request is audited with the
message's length, never its text; the daemon keeps serving throughout."""

import os
import struct
import subprocess
import sys

import dbus

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vpctest import *  # noqa: E402,F403
import rawbus  # noqa: E402

DENIED = os.environ["VPC_DENIED_USER"]
ENVCTL = os.path.join(os.environ["VPC_SOURCE_ROOT"], "tests", "lib", "envctl")
WEB = encode_path("web server 01")
INVALID = "org.freedesktop.DBus.Error.InvalidArgs"


def with_options(options, user=None):
    return call(WEB, "org.vpc.GuestOS", "LogoffWithOptions", "a{sv}", (options,), user=user)


def invalid(options, key, what):
    r = with_options(options)
    if expect_error(r, INVALID, what):
        check(f"option '{key}'" in (r.error_message or ""), f"{what}: the message names '{key}'", r.error_message)


invalid({"Foo": dbus.String("x")}, "Foo", "an unknown key")
invalid({"Message": dbus.UInt32(3)}, "Message", "Message as u")
invalid({"GraceSec": dbus.String("3")}, "GraceSec", "GraceSec as s")
invalid({"GraceSec": dbus.Int32(3)}, "GraceSec", "GraceSec as i")
invalid({"GraceSec": dbus.UInt32(3601)}, "GraceSec", "GraceSec above 3600")
invalid({"Message": dbus.String("x" * 1025)}, "Message", "a message of 1025 bytes")
invalid({"Message": dbus.String("$(touch /tmp/pwned); " * 5000)}, "Message", "a message of 100 KiB")
r = call(WEB, "org.vpc.GuestOS", "LogoffWithOptions", "s", ("x",))
expect_error(r, INVALID, "a string instead of a{sv}")

# Authorization comes first: a denied caller learns nothing, not even that its options are bad.
expect_error(with_options({"Foo": "x"}, user=DENIED), "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
             "a denied caller with an unknown key")

# Good options: on to the guest check, like Logoff (the test driver has no guest agent).
expect_error(with_options({"Message": dbus.String("Maintenance at 18:00.\nSave your work."), "GraceSec": dbus.UInt32(3)}),
             "org.vpc.Error.AdditionsFeatureNotAvailable", "good options on a test-driver VM")
expect_error(with_options({}), "org.vpc.Error.AdditionsFeatureNotAvailable", "no options at all")
# Controls are dropped, not refused: an escape sequence alone is an empty message.
expect_error(with_options({"Message": dbus.String("\x1b[2J\x07\r")}), "org.vpc.Error.AdditionsFeatureNotAvailable",
             "a message of control characters only")


# --- on a raw connection: a key twice (a dict cannot hold it), a message that is not UTF-8 ---------
def raw_call(entries):
    """LogoffWithOptions with the a{sv} entries given as (key, variant signature, marshalled value),
    marshalled by hand; returns "disconnected" or the bytes that came back."""
    return rawbus.call("org.vpc", WEB, "org.vpc.GuestOS", "LogoffWithOptions", "a{sv}", rawbus.with_asv(b"", entries),
                       lambda got: b"0x80004003: " in got or b"0xA0040505: " in got)


outcome = raw_call([("Message", "s", rawbus.string(b"hello"))])
check(isinstance(outcome, bytes) and b"AdditionsFeatureNotAvailable" in outcome,
      "the raw connection's well-formed call is answered", outcome)
outcome = raw_call([("GraceSec", "u", struct.pack("<I", 1)), ("GraceSec", "u", struct.pack("<I", 2))])
check(isinstance(outcome, bytes) and b"InvalidArgs" in outcome and b"option 'GraceSec' given twice" in outcome,
      "a key given twice: InvalidArgs naming it", outcome)
outcome = raw_call([("Message", "s", rawbus.string(b"\xff\xfe"))])
check(outcome == "disconnected", "a message that is not UTF-8: the bus drops the sender before the daemon sees it",
      outcome)

# --- vpcctl logoff --message --grace --------------------------------------------------------------
def vpcctl(*args):
    env = {"DBUS_SYSTEM_BUS_ADDRESS": os.environ["DBUS_SYSTEM_BUS_ADDRESS"], "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    return subprocess.run([os.environ["VPCCTL"], *args], env=env, capture_output=True, timeout=60,
                          stdin=subprocess.DEVNULL)


v = vpcctl("logoff", "web server 01", "--message", "Back in 5 minutes", "--grace", "7")
check(v.returncode == 5 and b"0xA0040505" in v.stderr, "vpcctl logoff --message --grace reaches the guest check (exit 5)",
      (v.returncode, v.stderr))
for args, what in ((["--grace", "3601"], "--grace above 3600"), (["--grace", "-1"], "a negative --grace"),
                   (["--message", "x" * 1025], "--message above 1024 bytes"),
                   (["--message", b"bad \xff".decode("utf-8", "surrogateescape")], "--message not UTF-8")):
    v = vpcctl("logoff", "web server 01", *args)
    check(v.returncode == 2, f"vpcctl: {what} is a usage error (exit 2)", (v.returncode, v.stderr))
v = vpcctl("users", "web server 01", "--message", "x")
check(v.returncode == 2 and b"--grace goes with logoff only, --message with logoff and set-policy" in v.stderr,
      "--message goes with logoff and set-policy only",
      v.stderr)

r = call(MANAGER, "org.vpc.Manager", "ListGuestOS")
check(r.ok and len(r.value) == 6, "the daemon keeps serving after every bad call", r)

log = subprocess.run([ENVCTL, "daemon-log"], capture_output=True, text=True).stdout
check('options="message=37 bytes, grace=3 s"' in log and 'options="message=17 bytes, grace=7 s"' in log,
      "the requests are audited with the message's length (the bus call's and vpcctl's)", None)
check("Save your work" not in log and "Back in 5" not in log and "pwned" not in log, "the audit never holds the message's text")
check('options="invalid"' in log and "hresult=0x80004003" in log, "refused options are audited as invalid")
finish()
