#!/usr/bin/python3
"""bus-fuzz: a bus-level fuzzer for org.vpc in the spirit of dfuzzer (which systemd's CI runs against
its own services; not packaged for Debian 12). It reads introspection/*.xml and drives the live
daemon on the tests' private bus with every method and property of every interface: right argument
types with hostile values, wrong types, missing and extra arguments, unknown members and interfaces,
Properties.Get/Set/GetAll of every property (and of none), and hostile object paths (the encoded
bytes of every value 0..255, overlong, deep, non-canonical escapes such as _4A for _4a, a lone '_',
a trailing '_', task numbers that overflow), as root and, at the same time, as unprivileged users.

Oracle, checked on every call and every second:
  - every call is answered within --call-timeout (never NoReply or a bus timeout);
  - the daemon stays alive and keeps its name (ASan/UBSan builds abort on a report, so a sanitizer
    finding is a dead daemon here, and scripts/test-all.d/10-sanitizers reads the report);
  - its RSS grows by less than --rss-growth-mib;
  - every org.vpc.Error.* message starts with its HRESULT ("0xA0040207: ...");
  - GetManagedObjects on /org/vpc keeps working for another client.
Exit status 0 when nothing was found; the last stdout line is a JSON summary (executions, findings).
Needs DBUS_SYSTEM_BUS_ADDRESS and VPC_ENV_DIR (tests/lib/with-env --domains --daemon)."""

import argparse
import json
import os
import random
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import dbus
import dbus.lowlevel
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

NAME = "org.vpc"
GUEST = "/org/vpc/GuestOS"
TASK = "/org/vpc/Task"
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
import vpctest  # noqa: E402

# The daemon's own errors, whose messages must start with their HRESULT; the freedesktop ones may
# also come from sd-bus itself (a message it could not parse), without one.
HRESULT = {k: v for k, v in vpctest.HRESULT.items() if k.startswith("org.vpc.")}
UNANSWERED = {"org.freedesktop.DBus.Error.NoReply", "org.freedesktop.DBus.Error.Timeout",
              "org.freedesktop.DBus.Error.TimedOut"}
GONE = {"org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner",
        "org.freedesktop.DBus.Error.Disconnected"}
STANDARD = {
    "org.freedesktop.DBus.Properties": {"Get": ["s", "s"], "GetAll": ["s"], "Set": ["s", "s", "v"]},
    "org.freedesktop.DBus.Introspectable": {"Introspect": []},
    "org.freedesktop.DBus.Peer": {"Ping": [], "GetMachineId": []},
    "org.freedesktop.DBus.ObjectManager": {"GetManagedObjects": []},
}
BASIC = "ybnqiuxtdsog"
PATH_MAX = 65536        # sd-bus's BUS_PATH_SIZE_MAX


def read_introspection(directory):
    """{interface: {"methods": {name: [in types]}, "properties": {name: (type, access)}}}"""
    out = {}
    for f in sorted(os.listdir(directory)):
        if not f.endswith(".xml"):
            continue
        for iface in ET.parse(os.path.join(directory, f)).getroot().iter("interface"):
            methods = {m.get("name"): [a.get("type") for a in m.iter("arg") if a.get("direction", "in") == "in"]
                       for m in iface.iter("method")}
            props = {p.get("name"): (p.get("type"), p.get("access")) for p in iface.iter("property")}
            out[iface.get("name")] = {"methods": methods, "properties": props}
    return out


def split_signature(sig):
    """Complete types of a signature: "sa{sv}(ii)" -> ["s", "a{sv}", "(ii)"]."""
    out, i = [], 0
    while i < len(sig):
        j = i
        while sig[j] == "a":
            j += 1
        if sig[j] in "({":
            depth, k = 0, j
            while True:
                depth += sig[k] in "({"
                depth -= sig[k] in ")}"
                k += 1
                if depth == 0:
                    break
            j = k
        else:
            j += 1
        out.append(sig[i:j])
        i = j
    return out


class Values:
    """Hostile values of every D-Bus type (valid on the wire: libdbus refuses to send the rest)."""

    def __init__(self, rng, names):
        self.rng = rng
        self.names = names
        self.strings = [
            "", " ", "a", "-1", "0", "%s%s%s%n%x", "\x1b[31mred\x1b[0m", "\u202eevil", "\t\r\n", "\u009b31m",
            "ünïcode-vm", "web server 01", "1vm", "test", "paused-vm", "db.prod-2",
            "11111111-2222-3333-4444-000000000001", "11111111-2222-3333-4444-000000000001".upper(),
            "6695EB01-F6A4-8304-79AA-97F2502E193F", "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
            "../../etc/passwd", "'; rm -rf / #", "$(reboot)", "\\", "\ufffd", "\U0001f600" * 50,
            "org.vpc.GuestOS", "org.vpc.Task", "org.vpc.Manager", "Name", "State", "ErrorMessage",
            "none", "logoff", "a" * 256, "a" * 4097, "ä" * 30000, "x" * 200000,
        ]

    def string(self, depth=0):
        r = self.rng.random()
        if depth > 0:
            # Inside containers short strings only: the bus disconnects a client whose message
            # passes its size limit, which would end the run rather than test the daemon.
            return self.rng.choice([s for s in self.strings if len(s) < 300] + self.names)
        if r < 0.35 and self.names:
            return self.rng.choice(self.names)
        if r < 0.8:
            return self.rng.choice(self.strings)
        n = self.rng.choice([1, 2, 8, 64, 1000])
        return "".join(chr(self.rng.choice([self.rng.randrange(0x20, 0x7f), self.rng.randrange(0xa0, 0xd7ff),
                                            self.rng.randrange(0xe000, 0xfffd), self.rng.randrange(1, 0x20)]))
                       for _ in range(n))

    def integer(self, lo, hi):
        return self.rng.choice([lo, hi, 0, 1, -1 if lo < 0 else 2, lo + 1, hi - 1, self.rng.randint(lo, hi),
                                1000, 25000, 86400, 86401])

    def signature(self):
        return "".join(self.rng.choice(BASIC) for _ in range(self.rng.randrange(0, 5)))

    def random_type(self, depth=0):
        r = self.rng.random()
        if depth > 2 or r < 0.6:
            return self.rng.choice(BASIC + "bv")
        if r < 0.75:
            return "a" + self.random_type(depth + 1)
        if r < 0.85:
            return "a{" + self.rng.choice(BASIC) + self.random_type(depth + 1) + "}"
        return "(" + "".join(self.random_type(depth + 1) for _ in range(self.rng.randrange(1, 4))) + ")"

    def value(self, t, paths, depth=0, variant_level=0):
        """A value of type t; variant_level 1 makes it the content of a variant."""
        v = self._value(t, paths, depth)
        if variant_level:
            if isinstance(v, (dbus.Array, dbus.Dictionary, dbus.Struct)):
                return type(v)(v, signature=v.signature, variant_level=1)
            return type(v)(v, variant_level=1)
        return v

    def _value(self, t, paths, depth):
        rng = self.rng
        c = t[0]
        if c == "s":
            return dbus.String(self.string(depth))
        if c == "o":
            return dbus.ObjectPath(rng.choice(paths))
        if c == "g":
            return dbus.Signature(self.signature())
        if c == "b":
            return dbus.Boolean(rng.random() < 0.5)
        if c == "y":
            return dbus.Byte(self.integer(0, 255))
        if c == "n":
            return dbus.Int16(self.integer(-2**15, 2**15 - 1))
        if c == "q":
            return dbus.UInt16(self.integer(0, 2**16 - 1))
        if c == "i":
            return dbus.Int32(self.integer(-2**31, 2**31 - 1))
        if c == "u":
            return dbus.UInt32(self.integer(0, 2**32 - 1))
        if c == "x":
            return dbus.Int64(self.integer(-2**63, 2**63 - 1))
        if c == "t":
            return dbus.UInt64(self.integer(0, 2**64 - 1))
        if c == "d":
            return dbus.Double(rng.choice([0.0, -1.0, 1e308, -1e308, float("inf"), float("nan"), 0.5]))
        if c == "v":
            # The content's type is chosen here; "h" never (the daemon takes no file descriptors).
            inner = self.random_type()
            return self.value(inner, paths, depth + 1, variant_level=1)
        if c == "a":
            inner = t[1:]
            # Long arrays at the top only: 300 of 300 of 300 would pass the bus's message size
            # limit (32 MiB), and the bus disconnects a client that sends such a message.
            n = rng.choice([0, 1, 2, 3, 16, 300]) if depth == 0 else rng.choice([0, 1, 2, 3]) if depth < 3 else 0
            if inner[0] == "{":
                kt, vt = inner[1], inner[2:-1]
                return dbus.Dictionary({self.value(kt, paths, depth + 1): self.value(vt, paths, depth + 1)
                                        for _ in range(min(n, 16))}, signature=kt + vt)
            return dbus.Array([self.value(inner, paths, depth + 1) for _ in range(n)], signature=inner)
        if c == "(":
            return dbus.Struct([self.value(x, paths, depth + 1) for x in split_signature(t[1:-1])],
                               signature=t[1:-1])
        raise ValueError(t)


def hostile_paths(rng, live):
    """Object paths that are valid on the wire but hostile to the daemon's decoding."""
    paths = ["/", "/org", "/org/vpc", GUEST, TASK]
    for b in range(256):                        # every byte value, as the encoder writes it and not
        paths += [f"{GUEST}/_{b:02x}", f"{GUEST}/_{b:02X}", f"{GUEST}/a_{b:02x}b"]
    paths += [GUEST + "/" + s for s in (
        "_", "__", "a_", "web_20server_2001_", "_4A", "_4a", "_61", "_4", "_zz", "_00", "a_00b", "_31vm", "1vm",
        "_c0_80", "_ed_a0_80", "_ed_bf_bf", "_f4_90_80_80", "_ef_bf_be", "_c3", "_c3_28", "_e2_82", "_fe_ff",
        "_e2_80_ae", "_1b_5b_33_31m", "_c2_9b", "web_20server_2001", "web_20Server_2001", "web_20server_2001x",
        "_c3_bcn_c3_afcode_2dvm", "_C3_BCn_C3_AFcode_2Dvm", "test", "Test", "paused_2dvm", "db_2eprod_2d2")]
    paths += [TASK + "/" + s for s in (
        "0", "1", "01", "2", "9", "18446744073709551615", "18446744073709551616", "99999999999999999999999",
        "1/2", "_31", "a", "1a", "00")]
    # Up to sd-bus's limit exactly: it drops a message whose path is longer than 65,536 bytes
    # (BUS_PATH_SIZE_MAX) before any handler sees it, so no service built on it can answer that
    # (found by this fuzzer; docs/fuzzing.md).
    paths += [GUEST + "/" + "a" * n for n in (255, 256, 4096, PATH_MAX - len(GUEST) - 1)]
    paths += [GUEST + "/" + "_ff" * n for n in (100, 5000)]
    paths += [GUEST + "/" + "/".join(["a"] * n) for n in (2, 16, 512, 4096)]
    paths += [TASK + "/" + "/".join(["1"] * n) for n in (2, 512)]
    paths += ["/" + "/".join(["org"] * n) for n in (64, 2048)]
    for _ in range(64):
        n = rng.randrange(1, 12)
        paths.append(GUEST + "/" + "".join(rng.choice("abcXYZ019_") for _ in range(n)))
    return paths + live


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return "State:\tZ" not in f.read()
    except OSError:
        return False


def rss_kib(pid):
    """RSS of the daemon and of its children (valgrind's wrapper keeps the daemon as itself)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Fuzzer:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.conn = dbus.SystemBus(private=True)
        self.ifaces = read_introspection(args.introspection)
        self.inflight = 0
        self.disconnected = False
        self.execs = 0
        self.answers = {}
        self.findings = []
        self.slowest = 0.0
        self.slowest_call = None
        self.live = []
        self.names = []
        self.refresh_objects()
        self.values = Values(self.rng, self.names)
        self.paths = hostile_paths(self.rng, self.live)
        self.loop = GLib.MainLoop()

    def refresh_objects(self):
        msg = dbus.lowlevel.MethodCallMessage(NAME, "/org/vpc", "org.freedesktop.DBus.ObjectManager",
                                              "GetManagedObjects")
        try:
            objs = self.conn.send_message_with_reply_and_block(msg, self.args.call_timeout).get_args_list()[0]
        except dbus.exceptions.DBusException as e:
            if self.args.worker is None:
                self.finding("GetManagedObjects fails for another client", e.get_dbus_name(), e.get_dbus_message())
            return False
        self.live = sorted(str(p) for p in objs)
        self.names = sorted({str(i["org.vpc.GuestOS"]["Name"]) for i in objs.values() if "org.vpc.GuestOS" in i})
        return True

    def finding(self, what, *details):
        f = {"what": what, "details": [str(d)[:300] for d in details]}
        if len(self.findings) < 50:
            self.findings.append(f)
        print(f"bus-fuzz: FINDING: {what}: {f['details']}", flush=True)

    def pick_call(self):
        """(path, interface or None, member, [types], no_values): one call of the mix."""
        rng = self.rng
        r = rng.random()
        path = rng.choice(self.live) if rng.random() < 0.45 and self.live else rng.choice(self.paths)
        if r < 0.45:                                            # a method of ours, right types
            iface = rng.choice(sorted(self.ifaces))
            methods = self.ifaces[iface]["methods"]
            member = rng.choice(sorted(methods))
            types = [t for t in methods[member]]
        elif r < 0.65:                                          # properties, right and wrong
            iface = "org.freedesktop.DBus.Properties"
            target = rng.choice(sorted(self.ifaces) + ["org.vpc.Nope", ""])
            props = self.ifaces.get(target, {}).get("properties", {})
            prop = rng.choice(sorted(props) + ["Nope", ""]) if props else rng.choice(["Name", "Nope", ""])
            member = rng.choice(["Get", "GetAll", "Set"])
            fixed = {"Get": [target, prop], "GetAll": [target], "Set": [target, prop]}[member]
            types = {"Get": ["s", "s"], "GetAll": ["s"], "Set": ["s", "s", "v"]}[member]
            return path, iface, member, types, fixed
        elif r < 0.75:                                          # the standard interfaces
            iface = rng.choice(sorted(STANDARD))
            member = rng.choice(sorted(STANDARD[iface]))
            types = STANDARD[iface][member]
        elif r < 0.9:                                           # wrong types: a signature of its own
            iface = rng.choice(sorted(self.ifaces) + ["org.freedesktop.DBus.Properties"])
            member = rng.choice(sorted(self.ifaces.get(iface, {"methods": {"Get": 0}})["methods"]) or ["Get"]) \
                if iface in self.ifaces else rng.choice(["Get", "GetAll", "Set"])
            types = [self.values.random_type() for _ in range(rng.randrange(0, 4))]
        else:                                                   # unknown members and interfaces
            iface = rng.choice(sorted(self.ifaces) + ["org.vpc.Nope", "org.freedesktop.DBus.Nope", None])
            member = rng.choice(["Nope", "logoff", "LOGOFF", "Logoff2", "GetGuestOs", "Cancel", "Logoff",
                                 "WaitForCompletion", "ListGuestOS", "X" * 255])
            types = [self.values.random_type() for _ in range(rng.randrange(0, 3))]
        if rng.random() < 0.05 and types:                       # one argument too few, or one too many
            types = types[:-1] if rng.random() < 0.5 else types + [self.values.random_type()]
        return path, iface, member, types, None

    def build(self, path, iface, member, types, fixed):
        msg = dbus.lowlevel.MethodCallMessage(NAME, path, iface, member)
        values = []
        for i, t in enumerate(types):
            if fixed is not None and i < len(fixed):
                values.append(dbus.String(fixed[i]))
            else:
                v = self.values.value(t, self.paths)
                # A WaitForCompletion that may really wait is no finding: keep the wait short.
                if member == "WaitForCompletion" and t == "i":
                    v = dbus.Int32(self.rng.choice([-2, -1 if not self.live_tasks() else 0, 0, 1, 500]))
                values.append(v)
        if types:
            msg.append(*values, signature="".join(types))
        msg.set_allow_interactive_authorization(self.rng.random() < 0.2)
        return msg

    def live_tasks(self):
        return any(p.startswith(TASK + "/") for p in self.live)

    def on_reply(self, started, call, reply):
        self.inflight -= 1
        took = time.monotonic() - started
        if took > self.slowest:
            self.slowest, self.slowest_call = took, call
        if isinstance(reply, dbus.lowlevel.ErrorMessage):
            name = reply.get_error_name()
            args = reply.get_args_list()
            message = str(args[0]) if args else ""
            self.answers[name] = self.answers.get(name, 0) + 1
            if name in UNANSWERED:
                self.finding("a call got no answer", call, name, message)
            elif name in GONE:
                self.finding("the daemon is gone (or the bus dropped this client)", call, name, message)
            elif name in HRESULT and not message.startswith("0x%08X: " % HRESULT[name]):
                self.finding("an org.vpc error without its HRESULT", call, name, message)
        else:
            self.answers["ok"] = self.answers.get("ok", 0) + 1
        if took > self.args.call_timeout:
            self.finding("a call answered after the bound", call, f"{took:.1f} s")

    def send_one(self):
        path, iface, member, types, fixed = self.pick_call()
        call = (path[:120] + ("..." if len(path) > 120 else ""), str(iface), member, "".join(types))
        try:
            msg = self.build(path, iface, member, types, fixed)
        except (ValueError, TypeError, dbus.exceptions.DBusException, OverflowError):
            return          # not sendable (libdbus validates): nothing to learn
        started = time.monotonic()
        try:
            self.conn.send_message_with_reply(msg, lambda reply: self.on_reply(started, call, reply),
                                              self.args.call_timeout + 5, require_main_loop=True)
        except dbus.exceptions.DBusException as e:
            if not self.conn.get_is_connected():
                # The bus drops a client that breaks its limits (dbus-daemon's, not the daemon's).
                self.finding("the bus disconnected this client", call, e.get_dbus_message())
                self.disconnected = True
                return
            # libdbus refuses messages it cannot send (too large, bad signature): not the daemon's doing.
            key = f"not-sent:{e.get_dbus_name()}"
            self.answers[key] = self.answers.get(key, 0) + 1
            return
        if os.environ.get("VPC_BUS_FUZZ_TRACE"):
            print(f"bus-fuzz: sent {call}", file=sys.stderr, flush=True)
        self.inflight += 1
        self.execs += 1

    def run(self):
        args = self.args
        ctx = self.loop.get_context()
        pid = None
        if args.worker is None:
            with open(os.path.join(os.environ["VPC_ENV_DIR"], "daemon.pid")) as f:
                pid = int(f.read().strip())
            if not args.rss_growth_mib:
                # ASan holds freed memory in its quarantine (256 MiB by default): such a daemon's RSS
                # grows by that much without any leak.
                try:
                    with open(f"/proc/{pid}/maps") as f:
                        asan = "libasan" in f.read()
                except OSError:
                    asan = False
                args.rss_growth_mib = 512 if asan else 128
        start = time.monotonic()
        end = start + args.seconds
        next_check = start + 1.0
        rss_start = None
        while time.monotonic() < end and len(self.findings) < 20 and not self.disconnected:
            while self.inflight < args.inflight and not self.disconnected:
                self.send_one()
            ctx.iteration(True)
            now = time.monotonic()
            if now >= next_check:
                next_check = now + 1.0
                if pid is not None:
                    if not pid_alive(pid):
                        self.finding("the daemon died", f"pid {pid}")
                        break
                    rss = rss_kib(pid)
                    if rss_start is None and now - start > 2.0:
                        rss_start = rss
                    if rss_start is not None and rss - rss_start > args.rss_growth_mib * 1024:
                        self.finding("the daemon's RSS grew past the bound", f"{rss_start} -> {rss} KiB")
                        rss_start = rss
                    self.refresh_objects()
        # Drain: every call sent must still be answered.
        drain_end = time.monotonic() + args.call_timeout + 10
        while self.inflight > 0 and time.monotonic() < drain_end and not self.disconnected:
            ctx.iteration(True)
        if self.inflight > 0:
            self.finding("calls left without an answer at the end", self.inflight)
        summary = {"user": args.worker or "root", "seconds": round(time.monotonic() - start, 1),
                   "executions": self.execs, "answers": self.answers, "findings": self.findings,
                   "slowest_s": round(self.slowest, 3), "slowest_call": self.slowest_call}
        if pid is not None:
            summary["daemon_alive"] = pid_alive(pid)
            summary["rss_kib_start"], summary["rss_kib_end"] = rss_start, rss_kib(pid)
            if not summary["daemon_alive"] and not any(f["what"] == "the daemon died" for f in self.findings):
                self.finding("the daemon died", f"pid {pid}")
                summary["findings"] = self.findings
        return summary


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=float(os.environ.get("VPC_BUS_FUZZ_SECONDS", 30)))
    p.add_argument("--seed", type=int, default=int(os.environ.get("VPC_BUS_FUZZ_SEED", time.time_ns() % 2**32)))
    p.add_argument("--inflight", type=int, default=8, help="calls in flight per client")
    p.add_argument("--call-timeout", type=float, default=float(os.environ.get("VPC_BUS_FUZZ_CALL_TIMEOUT", 20)))
    # Default: 128 MiB, or 512 for a daemon built with ASan (see Fuzzer.run).
    p.add_argument("--rss-growth-mib", type=int, default=int(os.environ.get("VPC_BUS_FUZZ_RSS_MIB", 0)))
    p.add_argument("--users", default=os.environ.get("VPC_DENIED_USER", "") + "," + os.environ.get("VPC_ALLOWED_USER", ""),
                   help="unprivileged users that fuzz at the same time (comma-separated)")
    p.add_argument("--introspection", default=os.path.join(here, "..", "introspection"))
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args()
    DBusGMainLoop(set_as_default=True)

    workers = []
    if args.worker is None:
        print(f"bus-fuzz: seed {args.seed}, {args.seconds:g} s, as root and {args.users.strip(',') or 'nobody else'}",
              flush=True)
        for i, user in enumerate(u for u in args.users.split(",") if u):
            cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--", sys.executable,
                   os.path.abspath(__file__), "--worker", user, "--seconds", str(args.seconds),
                   "--seed", str(args.seed + i + 1), "--call-timeout", str(args.call_timeout),
                   "--introspection", os.path.abspath(args.introspection)]
            env = {"DBUS_SYSTEM_BUS_ADDRESS": os.environ["DBUS_SYSTEM_BUS_ADDRESS"], "PATH": "/usr/bin:/bin",
                   "HOME": "/", "PYTHONDONTWRITEBYTECODE": "1"}
            workers.append((user, subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)))

    summary = Fuzzer(args).run()
    if args.worker is not None:
        print(json.dumps(summary), flush=True)
        return 0

    runs = [summary]
    for user, w in workers:
        out, _ = w.communicate(timeout=args.seconds + args.call_timeout + 60)
        try:
            runs.append(json.loads(out.strip().splitlines()[-1]))
        except (ValueError, IndexError):
            runs.append({"user": user, "executions": 0,
                         "findings": [{"what": "the worker failed", "details": [f"exit status {w.returncode}", out[-300:]]}]})
    total = sum(r.get("executions", 0) for r in runs)
    findings = [f for r in runs for f in r.get("findings", [])]
    for r in runs:
        print(f"bus-fuzz: {r['user']}: {r.get('executions', 0)} calls in {r.get('seconds', '?')} s, "
              f"slowest {r.get('slowest_s', '?')} s, answers {json.dumps(r.get('answers', {}), sort_keys=True)}")
    if "rss_kib_start" in summary:
        print(f"bus-fuzz: daemon RSS {summary['rss_kib_start']} -> {summary['rss_kib_end']} KiB, "
              f"alive: {summary['daemon_alive']}")
    print(f"bus-fuzz: {total} executions, {len(findings)} finding(s)")
    print(json.dumps({"seed": args.seed, "executions": total, "findings": findings, "runs": runs}))
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
