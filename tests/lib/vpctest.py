"""Helpers for the integration and end-to-end tests: call org.vpc over the private system bus (as
root, or as another user through setpriv), collect its signals, and assert with messages that say
what was expected and what came. Uses Debian's python3-dbus; the bus is DBUS_SYSTEM_BUS_ADDRESS."""

import json
import os
import pwd
import subprocess
import sys
import time

import dbus
from gi.repository import GLib
from dbus.mainloop.glib import DBusGMainLoop

import vpc_errors

DBusGMainLoop(set_as_default=True)

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "org.vpc"
MANAGER = "/org/vpc"
# The error table's names and HRESULTs, generated from service/errors.table.
HRESULT = vpc_errors.HRESULTS

failures = 0
passes = 0


def bus():
    return dbus.SystemBus()


def check(cond, what, got=None):
    """Records one assertion; the run fails at the end if any failed."""
    global failures, passes
    if cond:
        passes += 1
        print(f"ok - {what}")
    else:
        failures += 1
        print(f"FAIL - {what}" + (f": got {got!r}" if got is not None else ""))
    sys.stdout.flush()
    return cond


def finish():
    print(f"{passes} passed, {failures} failed")
    sys.exit(1 if failures else 0)


def encode_label(name):
    """sd_bus_path_encode()'s label, written independently of the daemon: every byte but ASCII
    letters and digits as _xx (lower-case hex), a leading digit too (an element of an object path may
    start with one, but sd-bus escapes it), and "" as "_"."""
    if isinstance(name, str):
        name = name.encode("utf-8", "surrogateescape")
    if not name:
        return "_"
    out = []
    for i, b in enumerate(name):
        alpha = 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A
        digit = 0x30 <= b <= 0x39
        out.append(chr(b) if alpha or (digit and i > 0) else "_%02x" % b)
    return "".join(out)


def encode_path(name):
    """sd_bus_path_encode() for /org/vpc/GuestOS."""
    return "/org/vpc/GuestOS/" + encode_label(name)


class CallResult:
    def __init__(self, value=None, error_name=None, error_message=None):
        self.value = value
        self.error_name = error_name
        self.error_message = error_message

    @property
    def ok(self):
        return self.error_name is None

    def __repr__(self):
        if self.ok:
            return f"ok({self.value!r})"
        return f"error({self.error_name}: {self.error_message})"


def _to_python(v):
    if isinstance(v, (dbus.Array, list)):
        return [_to_python(x) for x in v]
    if isinstance(v, (dbus.Struct, tuple)):
        return [_to_python(x) for x in v]
    if isinstance(v, dbus.Dictionary):
        return {str(k): _to_python(x) for k, x in v.items()}
    if isinstance(v, dbus.Boolean):
        return bool(v)
    if isinstance(v, (dbus.String, dbus.ObjectPath)):
        return str(v)
    if isinstance(v, (dbus.Byte, dbus.Int16, dbus.Int32, dbus.Int64, dbus.UInt16, dbus.UInt32, dbus.UInt64)):
        return int(v)
    return v


def call(path, interface, method, signature="", args=(), user=None, interactive=False, timeout=30):
    """Calls a method as root, or as `user` in a child process; returns a CallResult."""
    if user is None:
        return call_here(path, interface, method, signature, args, interactive, timeout)
    pw = pwd.getpwnam(user)
    cmd = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--init-groups", "--",
           "/usr/bin/python3", os.path.join(HERE, "vpc-call"), json.dumps({
               "path": path, "interface": interface, "method": method, "signature": signature,
               "args": list(args), "interactive": interactive, "timeout": timeout})]
    env = {"DBUS_SYSTEM_BUS_ADDRESS": os.environ["DBUS_SYSTEM_BUS_ADDRESS"], "PATH": "/usr/bin:/bin",
           "HOME": "/"}
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout + 10)
    try:
        d = json.loads(out.stdout)
    except ValueError:
        return CallResult(error_name="test.NoOutput", error_message=out.stderr.strip())
    return CallResult(d.get("value"), d.get("error_name"), d.get("error_message"))


def call_here(path, interface, method, signature="", args=(), interactive=False, timeout=30, conn=None):
    conn = conn or bus()
    msg = dbus.lowlevel.MethodCallMessage(NAME, path, interface, method)
    if signature:
        msg.append(*args, signature=signature)
    msg.set_allow_interactive_authorization(bool(interactive))
    try:
        reply = conn.send_message_with_reply_and_block(msg, timeout)
        values = reply.get_args_list()
        return CallResult(_to_python(values[0]) if len(values) == 1 else _to_python(values))
    except dbus.exceptions.DBusException as e:
        return CallResult(error_name=e.get_dbus_name(), error_message=e.get_dbus_message())


def expect_error(result, name, what):
    """The call failed with `name`, and its message starts with the HRESULT of the table."""
    ok = check(not result.ok and result.error_name == name, f"{what}: {name}", result)
    if ok and name in HRESULT:
        prefix = "0x%08X: " % HRESULT[name]
        check((result.error_message or "").startswith(prefix), f"{what}: message starts with {prefix.strip()}",
              result.error_message)
    return ok


def get_property(path, interface, prop, user=None):
    r = call(path, "org.freedesktop.DBus.Properties", "Get", "ss", (interface, prop), user=user)
    return r.value if r.ok else r


def managed_objects():
    r = call(MANAGER, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")
    assert r.ok, r
    return r.value


def wait_until(cond, timeout=10.0, interval=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(interval)
    return cond()


class SignalRecorder:
    """Records org.vpc signals (and ObjectManager/PropertiesChanged) from the moment it is made."""

    def __init__(self, path_prefix="/org/vpc"):
        self.conn = bus()
        self.events = []
        self.conn.add_signal_receiver(self._on_signal, sender_keyword="sender", path_keyword="path",
                                      member_keyword="member", interface_keyword="interface",
                                      bus_name=NAME)
        self.loop = GLib.MainLoop()
        # Make sure the match is installed before the caller acts.
        self.conn.call_blocking("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                "GetId", "", ())

    def _on_signal(self, *args, **kw):
        self.events.append((kw["path"], kw["interface"], kw["member"], [_to_python(a) for a in args]))

    def pump(self, seconds):
        ctx = self.loop.get_context()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ctx.iteration(False)
            time.sleep(0.005)

    def mark(self):
        """A position in the event list: wait_for(since=mark) looks only at what came after."""
        self.drain()
        return len(self.events)

    def drain(self):
        ctx = self.loop.get_context()
        while ctx.pending():
            ctx.iteration(False)

    def wait_for(self, pred, timeout=10.0, since=0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.drain()
            for e in self.events[since:]:
                if pred(e):
                    return e
            time.sleep(0.01)
        return None

    def of(self, member, path=None):
        return [e for e in self.events if e[2] == member and (path is None or e[0] == path)]
