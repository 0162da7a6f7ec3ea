#!/usr/bin/python3
"""Unit tests of the vpc.guestos modules' result mapping: the modules' own code (module_utils and the
modules' run()) fed vpcctl's JSON. Some outputs are recorded verbatim from vpcctl against the test
driver's domains (ok to replay: vpcctl's JSON is machine-stable), the others are written in the
same format for every error of docs/dbus-api.md, and malformed output of every kind must become a
failure with a message, never an exception. The module's AnsibleModule is a fake (FakeModule) that
answers run_command from a script: nothing here runs vpcctl or a bus (the fleet suite's SSH test does)."""

import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "ansible"))

from ansible_collections.vpc.guestos.plugins.module_utils import results as ru  # noqa: E402
from ansible_collections.vpc.guestos.plugins.module_utils import vpcctl as vu  # noqa: E402
from ansible_collections.vpc.guestos.plugins.modules import logoff, guest_info, console_policy  # noqa: E402

# docs/dbus-api.md, "Errors", written out again here so that a change in either place shows.
ERRORS = {
    "org.freedesktop.DBus.Error.AccessDenied": (0x80070005, 10),
    "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired": (0x80070005, 10),
    "org.freedesktop.DBus.Error.InvalidArgs": (0x80004003, 1),
    "org.vpc.Error.Exception": (0x80020009, 1),
    "org.vpc.Error.Timeout": (0xA0040202, 8),
    "org.vpc.Error.AdditionsFeatureNotAvailable": (0xA0040505, 5),
    "org.vpc.Error.VmNotRunning": (0xA0040206, 4),
    "org.vpc.Error.VmUnknown": (0xA0040207, 6),
    "org.vpc.Error.NoSuchLogonSession": (0x80070520, 3),
    "org.vpc.Error.Cancelled": (0x800704C7, 7),
    "org.freedesktop.DBus.Error.LimitsExceeded": (0x800705AA, 1),
}

# Recorded from vpcctl --json against libvirt's test driver (tests/lib/with-env --domains --daemon).
REC_LIST = '[{"name":"db.prod-2","uuid":"11111111-2222-3333-4444-000000000002","state":"shutoff","path":"/org/vpc/GuestOS/db_2eprod_2d2","console_disconnect_policy":"none","console_disconnect_delay_sec":30,"console_clients":0,"agent_connected":false,"os_name":""},{"name":"web server 01","uuid":"11111111-2222-3333-4444-000000000001","state":"running","path":"/org/vpc/GuestOS/web_20server_2001","console_disconnect_policy":"logoff","console_disconnect_delay_sec":60,"console_clients":0,"agent_connected":false,"os_name":""}]\n'
REC_LOGOFF_NOT_RUNNING = '{"results":[{"vm":"db.prod-2","guest":"/org/vpc/GuestOS/db_2eprod_2d2","task":null,"complete":true,"percent":0,"error_code":2684617222,"hresult":"0xA0040206","error_name":"org.vpc.Error.VmNotRunning","error_message":"0xA0040206: cannot log off \'db.prod-2\': domain \'db.prod-2\' is not running (shutoff)","exit_status":4}],"exit_status":4}\n'
REC_USERS_NOT_RUNNING = '{"error":{"error_name":"org.vpc.Error.VmNotRunning","error_code":2684617222,"hresult":"0xA0040206","error_message":"0xA0040206: cannot list the users of \'db.prod-2\': domain \'db.prod-2\' is not running (shutoff)","exit_status":4}}\n'
REC_USERS_DENIED = '{"error":{"error_name":"org.freedesktop.DBus.Error.AccessDenied","error_code":2147942405,"hresult":"0x80070005","error_message":"0x80070005: cannot list the users of \'web server 01\': not authorized by polkit","exit_status":10}}\n'
REC_LOGOFF_UNKNOWN = '{"results":[{"vm":"nope","guest":null,"task":null,"complete":true,"percent":0,"error_code":2684617223,"hresult":"0xA0040207","error_name":"org.vpc.Error.VmUnknown","error_message":"0xA0040207: no domain with name or UUID \'nope\'","exit_status":6}],"exit_status":6}\n'
REC_UNREACHABLE = '{"error":{"error_name":"","error_code":0,"hresult":"0x00000000","error_message":"No such file or directory","exit_status":11}}\n'


def error_object(name):
    code, status = ERRORS[name]
    return json.dumps({"error": {"error_name": name, "error_code": code, "hresult": "0x%08X" % code,
                                 "error_message": "0x%08X: cannot list the users of 'g1': text of %s" % (code, name),
                                 "exit_status": status}}), status


def logoff_entry(name, vm="g1", task="/org/vpc/Task/3", complete=True):
    code, status = ERRORS[name] if name else (0, 0)
    return {"vm": vm, "guest": "/org/vpc/GuestOS/" + vm, "task": task, "complete": complete,
            "percent": 100 if not name and complete else 0, "error_code": code, "hresult": "0x%08X" % code,
            "error_name": name, "error_message": "0x%08X: text of %s" % (code, name) if name else "",
            "exit_status": status}


def results(*entries):
    status = max([e["exit_status"] for e in entries] or [0])
    return json.dumps({"results": list(entries), "exit_status": status}), status


def guest(name="g1", state="running", agent=True, policy="none", delay=30, uuid=None):
    return {"name": name, "uuid": uuid or "0000-" + name, "state": state, "path": "/org/vpc/GuestOS/" + name,
            "console_disconnect_policy": policy, "console_disconnect_delay_sec": delay, "console_clients": 0,
            "agent_connected": agent, "os_name": "Debian GNU/Linux 12 (bookworm)"}


USERS_AB = json.dumps([{"user": "alice", "domain": "", "login_usec": 1764624000000000},
                       {"user": "bob", "domain": "CORP", "login_usec": 0}])


class Failed(Exception):
    def __init__(self, kw):
        super().__init__(kw.get("msg"))
        self.kw = kw


class Exited(Exception):
    def __init__(self, kw):
        super().__init__()
        self.kw = kw


class FakeModule:
    """A fake AnsibleModule: params, check mode, and run_command answered from `script`, a list of
    (verb, (rc, stdout, stderr)) in the order the module is expected to call vpcctl."""

    def __init__(self, params, script, check_mode=False):
        self.params = params
        self.check_mode = check_mode
        self.script = list(script)
        self.calls = []

    def get_bin_path(self, name):
        return "/usr/bin/" + name

    def run_command(self, cmd, check_rc=False):
        assert isinstance(cmd, list), cmd   # an argument list, never a shell string
        self.calls.append(cmd)
        verb = cmd[cmd.index("--") + 1]
        assert self.script, "unexpected vpcctl call %r" % cmd
        want, answer = self.script.pop(0)
        assert verb == want, (verb, want, cmd)
        return answer

    def fail_json(self, **kw):
        raise Failed(kw)

    def exit_json(self, **kw):
        raise Exited(kw)


def ok(out, rc=0, err=""):
    return (rc, out, err)


class DecodeTests(unittest.TestCase):
    def test_every_error_of_the_table(self):
        for name, (code, status) in ERRORS.items():
            out, rc = error_object(name)
            with self.assertRaises(vu.VpcError) as cm:
                vu.decode(rc, out, "", "list")
            e = cm.exception
            self.assertEqual((e.error_name, e.error_code), (name, code), name)
            self.assertTrue(e.msg.startswith("0x%08X: " % code), e.msg)
            self.assertTrue(e.msg.endswith("[%s]" % name), e.msg)
            self.assertEqual(e.fields()["hresult"], "0x%08X" % code)

    def test_recorded_errors(self):
        for out, name in ((REC_USERS_NOT_RUNNING, "org.vpc.Error.VmNotRunning"),
                          (REC_USERS_DENIED, "org.freedesktop.DBus.Error.AccessDenied")):
            with self.assertRaises(vu.VpcError) as cm:
                vu.decode(4, out, "", "list")
            self.assertEqual(cm.exception.error_name, name)
            self.assertEqual(cm.exception.error_code, ERRORS[name][0])

    def test_unreachable_has_no_error_name(self):
        with self.assertRaises(vu.VpcError) as cm:
            vu.decode(11, REC_UNREACHABLE, "", "list")
        self.assertEqual(cm.exception.error_name, "")
        self.assertIn("cannot reach vpc-guestosd", cm.exception.msg)
        self.assertIn("exit status 11", cm.exception.msg)

    MALFORMED = [
        "", "\n", "not json", "{", "[1, 2]", "null", "42", '"text"', "{}", '{"results": 3}',
        '{"results": [1]}', '{"error": 3}', '{"error": {}}', '{"error": {"error_name": 1, "error_code": 0, "error_message": ""}}',
        '{"error": {"error_name": "x", "error_code": -1, "error_message": ""}}',
        '{"error": {"error_name": "x", "error_code": true, "error_message": ""}}',
        '\xff\xfe garbage', "[" * 5000,
    ]

    def test_malformed_output_is_a_failure_with_a_message(self):
        for out in self.MALFORMED:
            for shape in ("list", "results", "object"):
                try:
                    vu.decode(1, out, "vpcctl: something", shape)
                except vu.VpcError as e:
                    self.assertTrue(e.msg, out)
                    continue
                # Valid for another shape only.
                self.assertNotEqual(shape, "results", out)

    def test_malformed_quotes_are_bounded(self):
        with self.assertRaises(vu.MalformedOutput) as cm:
            vu.decode(1, "x" * 100000, "y" * 100000, "list")
        self.assertLess(len(cm.exception.msg), 2000)

    def test_empty_output_is_success_only_where_expected(self):
        self.assertIsNone(vu.decode(0, "", "", "none"))
        with self.assertRaises(vu.MalformedOutput):
            vu.decode(1, "", "segfault", "none")

    def test_users_and_guests(self):
        self.assertEqual(vu.users_from_json(json.loads(USERS_AB), 0, USERS_AB, ""), ["alice", "CORP\\bob"])
        for bad in ([{"user": 1, "domain": ""}], [{"user": "a"}], ["alice"], {"user": "a"}):
            with self.assertRaises(vu.MalformedOutput):
                vu.users_from_json(bad, 0, json.dumps(bad), "")
        vms = [vu.guest_from_json(g, 0, REC_LIST, "") for g in json.loads(REC_LIST)]
        self.assertEqual(vms[1]["console_policy"], {"action": "logoff", "delay": 60})
        self.assertEqual(vu.find_guest(vms, "11111111-2222-3333-4444-000000000002".upper())["name"], "db.prod-2")
        with self.assertRaises(vu.VpcError) as cm:
            vu.find_guest(vms, "nope")
        self.assertEqual(cm.exception.error_name, "org.vpc.Error.VmUnknown")
        self.assertTrue(cm.exception.msg.startswith("0xA0040207: "))
        for bad in ({"name": "x"}, dict(guest(), agent_connected="yes"), dict(guest(), console_disconnect_delay_sec="30")):
            with self.assertRaises(vu.MalformedOutput):
                vu.guest_from_json(bad, 0, "", "")
        old = dict(guest())
        for k in ("console_disconnect_policy", "console_disconnect_delay_sec", "console_clients"):
            del old[k]
        self.assertIsNone(vu.guest_from_json(old, 0, "", "")["console_policy"])


def run_logoff(params, script, check_mode=False):
    p = dict(name=None, all=False, wait=True, timeout=None)
    p.update(params)
    m = FakeModule(p, script, check_mode)
    try:
        res = logoff.run(m, vu.Vpcctl(m))
    except vu.VpcError as e:
        res = e
    assert not m.script, "vpcctl calls not made: %r" % m.script
    return res, m.calls


class LogoffTests(unittest.TestCase):
    def test_logged_off_is_changed(self):
        out, rc = results(logoff_entry(""))
        res, calls = run_logoff({"name": "g1"}, [("users", ok(USERS_AB)), ("logoff", ok(out, rc))])
        r = res[0]
        self.assertEqual((r["changed"], r["failed"], r["outcome"]), (True, False, "logged off"))
        self.assertEqual((r["name"], r["task"], r["error_code"], r["hresult"], r["error_name"], r["message"], r["users"]),
                         ("g1", "/org/vpc/Task/3", 0, "0x00000000", "", "", ["alice", "CORP\\bob"]))
        self.assertEqual(calls[-1][-3:], ["--", "logoff", "g1"])

    def test_nobody_logged_on_is_ok_not_changed(self):
        out, rc = results(logoff_entry("org.vpc.Error.NoSuchLogonSession"))
        res, _ = run_logoff({"name": "g1"}, [("users", ok("[]")), ("logoff", ok(out, rc))])
        r = res[0]
        self.assertEqual((r["changed"], r["failed"], r["error_code"], r["hresult"]),
                         (False, False, 0x80070520, "0x80070520"))

    def test_every_task_and_call_error_fails_with_its_hresult_but_nobody(self):
        for name, (code, _) in ERRORS.items():
            out, rc = results(logoff_entry(name, task=None if name != "org.vpc.Error.Timeout" else "/org/vpc/Task/9"))
            res, _ = run_logoff({"name": "g1"}, [("users", ok(USERS_AB)), ("logoff", ok(out, rc))])
            r = res[0]
            if name == "org.vpc.Error.NoSuchLogonSession":
                self.assertFalse(r["failed"])
                continue
            self.assertTrue(r["failed"], name)
            self.assertFalse(r["changed"], name)
            self.assertEqual((r["error_name"], r["error_code"], r["hresult"]), (name, code, "0x%08X" % code))
            self.assertTrue(r["msg"].startswith("0x%08X: " % code) and r["msg"].endswith("[%s]" % name), r["msg"])

    def test_recorded_not_running_and_unknown(self):
        res, _ = run_logoff({"name": "db.prod-2"}, [("users", ok(REC_USERS_NOT_RUNNING, 4)),
                                                    ("logoff", ok(REC_LOGOFF_NOT_RUNNING, 4))])
        self.assertIn("0xA0040206: cannot log off 'db.prod-2'", res[0]["msg"])
        self.assertIn("[org.vpc.Error.VmNotRunning]", res[0]["msg"])
        self.assertIsNone(res[0]["users"])
        res, _ = run_logoff({"name": "nope"}, [("users", ok(REC_USERS_NOT_RUNNING, 6)),
                                               ("logoff", ok(REC_LOGOFF_UNKNOWN, 6))])
        self.assertEqual(res[0]["error_name"], "org.vpc.Error.VmUnknown")

    def test_check_mode_logs_nobody_off(self):
        res, calls = run_logoff({"name": "g1"}, [("users", ok(USERS_AB))], check_mode=True)
        self.assertEqual((res[0]["changed"], res[0]["users"], res[0]["outcome"]), (True, ["alice", "CORP\\bob"], "would log off"))
        self.assertFalse(any("logoff" in c for c in calls))
        res, _ = run_logoff({"name": "g1"}, [("users", ok("[]"))], check_mode=True)
        self.assertEqual((res[0]["changed"], res[0]["failed"]), (False, False))
        out, rc = error_object("org.vpc.Error.VmNotRunning")
        res, _ = run_logoff({"name": "g1"}, [("users", ok(out, rc))], check_mode=True)
        self.assertTrue(res[0]["failed"])
        self.assertEqual(res[0]["error_name"], "org.vpc.Error.VmNotRunning")

    def test_all_takes_the_running_vms_in_one_call(self):
        lst = json.dumps([guest("a"), guest("b", state="shutoff"), guest("-c")])
        out, rc = results(logoff_entry("", vm="a"), logoff_entry("org.vpc.Error.NoSuchLogonSession", vm="-c", task=None))
        res, calls = run_logoff({"all": True}, [("list", ok(lst)), ("users", ok(USERS_AB)), ("users", ok("[]")),
                                                ("logoff", ok(out, rc))])
        self.assertEqual([(r["name"], r["changed"], r["failed"]) for r in res], [("a", True, False), ("-c", False, False)])
        # A name that looks like an option comes after "--".
        self.assertEqual(calls[-1][calls[-1].index("--"):], ["--", "logoff", "a", "-c"])
        res, calls = run_logoff({"all": True}, [("list", ok(json.dumps([guest("b", state="shutoff")])))])
        self.assertEqual(res, [])

    def test_no_wait_and_timeout(self):
        out, rc = results(logoff_entry("", complete=False))
        res, calls = run_logoff({"name": "g1", "wait": False}, [("users", ok(USERS_AB)), ("logoff", ok(out, rc))])
        self.assertEqual((res[0]["outcome"], res[0]["changed"]), ("started", True))
        self.assertIn("--no-wait", calls[-1])
        out, rc = results(logoff_entry("", complete=False))
        res, calls = run_logoff({"name": "g1", "timeout": 7}, [("users", ok(USERS_AB)), ("logoff", ok(out, 9))])
        self.assertEqual((res[0]["outcome"], res[0]["failed"]), ("still running", True))
        self.assertIn("7", calls[-1])

    def test_malformed_logoff_output(self):
        for out in DecodeTests.MALFORMED + [
                results(dict(logoff_entry(""), task=None))[0],          # neither task nor error
                results(dict(logoff_entry(""), complete="yes"))[0],
                results(dict(logoff_entry(""), error_code="0"))[0],
                results()[0]]:                                           # no entry for the VM
            res, _ = run_logoff({"name": "g1"}, [("users", ok(USERS_AB)), ("logoff", ok(out, 1, "boom"))])
            failed = isinstance(res, vu.VpcError) or all(r["failed"] for r in res)
            self.assertTrue(failed, out)
            msgs = [res.msg] if isinstance(res, vu.VpcError) else [r["msg"] for r in res]
            self.assertTrue(all(msgs), out)


def run_module(mod, params, script, check_mode=False):
    m = FakeModule(params, script, check_mode)
    try:
        res = mod.run(m, vu.Vpcctl(m))
    except vu.VpcError as e:
        res = e
    assert not m.script, m.script
    return res, m.calls


class GuestInfoTests(unittest.TestCase):
    def test_users_only_where_the_agent_can_say(self):
        lst = json.dumps([guest("a"), guest("b", agent=False), guest("c", state="shutoff", agent=False), guest("d")])
        res, _ = run_module(guest_info, {"name": None, "users": True},
                            [("list", ok(lst)), ("users", ok(USERS_AB)), ("users", ok(REC_USERS_DENIED, 10))])
        self.assertEqual([v["users"] for v in res], [["alice", "CORP\\bob"], None, None, None])
        self.assertIn("0x80070005", res[3]["users_error"])
        self.assertIn("AccessDenied", res[3]["users_error"])
        self.assertEqual(res[0]["console_policy"], {"action": "none", "delay": 30})

    def test_one_vm_and_errors(self):
        res, _ = run_module(guest_info, {"name": "web server 01", "users": True}, [("list", ok(REC_LIST))])
        self.assertEqual([v["name"] for v in res], ["web server 01"])
        res, _ = run_module(guest_info, {"name": "nope", "users": True}, [("list", ok(REC_LIST))])
        self.assertEqual(res.error_name, "org.vpc.Error.VmUnknown")
        res, _ = run_module(guest_info, {"name": None, "users": True}, [("list", ok(REC_UNREACHABLE, 11))])
        self.assertIn("cannot reach", res.msg)
        for out in DecodeTests.MALFORMED:
            res, _ = run_module(guest_info, {"name": None, "users": True}, [("list", ok(out, 1))])
            if not isinstance(res, vu.VpcError):
                self.assertEqual(res, [], out)      # "[]": no VM, which is valid


class ConsolePolicyTests(unittest.TestCase):
    def params(self, **kw):
        p = dict(name="web server 01", action="logoff", delay=None, message=None)
        p.update(kw)
        return p

    def test_same_policy_is_not_changed(self):
        res, calls = run_module(console_policy, self.params(delay=60), [("list", ok(REC_LIST))])
        self.assertEqual((res["changed"], res["old"], res["new"]), (False, {"action": "logoff", "delay": 60},) * 1 +
                         ({"action": "logoff", "delay": 60},))
        res, calls = run_module(console_policy, self.params(), [("list", ok(REC_LIST))])   # delay kept
        self.assertFalse(res["changed"])

    def test_change_and_check_mode(self):
        after = REC_LIST.replace('"logoff","console_disconnect_delay_sec":60', '"none","console_disconnect_delay_sec":60')
        res, calls = run_module(console_policy, self.params(action="none"),
                                [("list", ok(REC_LIST)), ("set-policy", ok("")), ("list", ok(after))])
        self.assertEqual((res["changed"], res["old"], res["new"]),
                         (True, {"action": "logoff", "delay": 60}, {"action": "none", "delay": 60}))
        set_call = calls[1]
        self.assertEqual(set_call[set_call.index("--"):], ["--", "set-policy", "11111111-2222-3333-4444-000000000001"])
        self.assertIn("--console-disconnect=none", set_call)
        res, calls = run_module(console_policy, self.params(action="none", delay=5), [("list", ok(REC_LIST))],
                                check_mode=True)
        self.assertEqual((res["changed"], res["new"]), (True, {"action": "none", "delay": 5}))
        self.assertEqual(len(calls), 1)

    def test_new_actions_and_message(self):
        with_message = REC_LIST.replace('"console_clients":0,', '"console_disconnect_message":"","console_clients":0,')
        self.assertEqual(vu.guest_from_json(json.loads(with_message)[1], 0, "", "")["console_policy"],
                         {"action": "logoff", "delay": 60, "message": ""})
        after = with_message.replace('"logoff","console_disconnect_delay_sec":60,"console_disconnect_message":""',
                                     '"warn-then-logoff","console_disconnect_delay_sec":300,'
                                     '"console_disconnect_message":"Bye -- soon"')
        res, calls = run_module(console_policy, self.params(action="warn-then-logoff", delay=300, message="Bye -- soon"),
                                [("list", ok(with_message)), ("set-policy", ok("")), ("list", ok(after))])
        self.assertEqual((res["changed"], res["new"]),
                         (True, {"action": "warn-then-logoff", "delay": 300, "message": "Bye -- soon"}))
        set_call = calls[1]
        self.assertIn("--console-disconnect=warn-then-logoff", set_call)
        self.assertEqual(set_call[set_call.index("--message") + 1], "Bye -- soon")
        # The same again: nothing to change; no message asked: the stored one stays and is passed again.
        res, calls = run_module(console_policy, self.params(action="warn-then-logoff", delay=300, message="Bye -- soon"),
                                [("list", ok(after))])
        self.assertFalse(res["changed"])
        res, calls = run_module(console_policy, self.params(action="lock-then-logoff"),
                                [("list", ok(after)), ("set-policy", ok("")), ("list", ok(after))])
        self.assertEqual(calls[1][calls[1].index("--message") + 1], "Bye -- soon")
        # A service without the message refuses one, and says why.
        res, calls = run_module(console_policy, self.params(action="lock", message="hi"), [("list", ok(REC_LIST))])
        self.assertIn("no console-disconnect message", res.msg)
        self.assertEqual(len(calls), 1)

    def test_errors(self):
        for name in ("org.freedesktop.DBus.Error.AccessDenied", "org.vpc.Error.VmUnknown", "org.vpc.Error.Exception",
                     "org.vpc.Error.Timeout", "org.freedesktop.DBus.Error.InvalidArgs"):
            out, rc = error_object(name)
            res, _ = run_module(console_policy, self.params(action="none"), [("list", ok(REC_LIST)), ("set-policy", ok(out, rc))])
            self.assertEqual(res.error_name, name)
            self.assertTrue(res.msg.startswith("0x%08X: " % ERRORS[name][0]))
        res, _ = run_module(console_policy, self.params(action="none"),
                            [("list", ok(REC_LIST)), ("set-policy", ok("garbage", 0))])
        self.assertIsInstance(res, vu.MalformedOutput)


class ModuleEndTests(unittest.TestCase):
    """module_utils/results.py: how every module exits (run_module) and logoff's summary."""

    def end(self, run, **on_failure):
        m = FakeModule({}, [])
        with self.assertRaises((Failed, Exited)) as cm:
            ru.run_module(m, run, **on_failure)
        return isinstance(cm.exception, Failed), cm.exception.kw

    def test_a_result_exits(self):
        self.assertEqual(self.end(lambda m, v: dict(changed=False, vms=[])), (False, dict(changed=False, vms=[])))

    def test_a_service_error_fails_with_its_fields_and_the_empty_keys(self):
        def run(m, v):
            raise vu.VpcError("0xA0040207: no domain with name or UUID 'x'", "org.vpc.Error.VmUnknown")
        failed, kw = self.end(run, vms=[])
        self.assertTrue(failed)
        self.assertEqual(kw["msg"], "0xA0040207: no domain with name or UUID 'x' [org.vpc.Error.VmUnknown]")
        self.assertEqual((kw["error_name"], kw["error_code"], kw["hresult"], kw["vms"]),
                         ("org.vpc.Error.VmUnknown", 0xA0040207, "0xA0040207", []))

    def test_summary_of_per_vm_results(self):
        e = vu.VpcError("0xA0040206: not running", "org.vpc.Error.VmNotRunning")
        ok_vm = ru.vm_result("a", ["alice"], outcome="logged off", changed=True)
        bad = [ru.failed_vm("b", None, e), ru.failed_vm("c", None, vu.VpcError("boom"))]
        failed, kw = self.end(lambda m, v: ru.summary([ok_vm] + bad))
        self.assertTrue(failed)
        self.assertEqual((kw["changed"], kw["error_name"], kw["hresult"]), (True, "org.vpc.Error.VmNotRunning", "0xA0040206"))
        self.assertEqual(kw["msg"], "0xA0040206: not running [org.vpc.Error.VmNotRunning]; boom")
        self.assertNotIn("failed", kw)          # fail_json sets it itself
        self.assertEqual(self.end(lambda m, v: ru.summary([ok_vm])), (False, dict(changed=True, results=[ok_vm])))


if __name__ == "__main__":
    unittest.main(verbosity=2)
