# -*- coding: utf-8 -*-
# How the vpc.guestos modules talk to vpc-guestosd: they run `vpcctl --json` (the service's own
# client, on every host that has the service) and turn its JSON into results, never a traceback.
# Copyright: vpc-guestosd contributors
# GNU Lesser General Public License v2.1 or later (see https://www.gnu.org/licenses/lgpl-2.1.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

# The D-Bus error names and their HRESULTs (vpc_errors.py is generated from service/errors.table).
from ansible_collections.vpc.guestos.plugins.module_utils.vpc_errors import HRESULTS

NO_LOGON_SESSION = 'org.vpc.Error.NoSuchLogonSession'
VM_UNKNOWN = 'org.vpc.Error.VmUnknown'
# What a result quotes of output that is not vpcctl's JSON.
QUOTE_MAX = 400


def hresult_text(code):
    return '0x%08X' % code


def _quote(text):
    text = (text or '').strip()
    return text if len(text) <= QUOTE_MAX else text[:QUOTE_MAX] + '...'


class VpcError(Exception):
    """A failure with the service's error name, HRESULT and message (error_name is '' for failures
    that are not the service's: vpcctl missing, the bus unreachable, output that is not JSON)."""

    def __init__(self, message, error_name='', error_code=None):
        super(VpcError, self).__init__(message)
        self.message = message
        self.error_name = error_name or ''
        self.error_code = HRESULTS.get(self.error_name, 0) if error_code is None else error_code

    @property
    def msg(self):
        """The HRESULT first (as the service writes it), then the D-Bus error name."""
        text = self.message
        if self.error_code and not text.startswith('0x'):
            text = '%s: %s' % (hresult_text(self.error_code), text)
        return '%s [%s]' % (text, self.error_name) if self.error_name else text

    def fields(self):
        return dict(error_name=self.error_name, error_code=self.error_code,
                    hresult=hresult_text(self.error_code), message=self.message)


class MalformedOutput(VpcError):
    def __init__(self, what, rc, out, err):
        super(MalformedOutput, self).__init__(
            'vpcctl (exit status %s) printed %s: %r; stderr: %r' % (rc, what, _quote(out), _quote(err)))


def _expect(cond, rc, out, err):
    if not cond:
        raise MalformedOutput('JSON that is not what vpcctl prints', rc, out, err)


def _string(obj, key):
    v = obj.get(key)
    return v if isinstance(v, str) else None


def _integer(obj, key):
    v = obj.get(key)
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else None


def error_from_json(e, rc, out, err):
    """vpcctl's {"error": {...}} object as a VpcError."""
    _expect(isinstance(e, dict), rc, out, err)
    name, message, code = _string(e, 'error_name'), _string(e, 'error_message'), _integer(e, 'error_code')
    _expect(name is not None and message is not None and code is not None, rc, out, err)
    if not name:
        message = 'cannot reach vpc-guestosd: %s (vpcctl exit status %s)' % (message or 'no reason given', rc)
    return VpcError(message, name, code)


def decode(rc, out, err, shape):
    """vpcctl's output as `shape` ('list', 'object', 'results', or 'none' for a verb that prints
    nothing on success); a VpcError for vpcctl's error object and for anything else."""
    if not (out or '').strip():
        if rc == 0 and shape == 'none':
            return None
        raise MalformedOutput('no JSON', rc, out, err)
    try:
        data = json.loads(out)
    except (ValueError, RuntimeError):    # RuntimeError: nesting deeper than json can parse
        raise MalformedOutput('output that is not JSON', rc, out, err)
    if isinstance(data, dict) and 'error' in data:
        raise error_from_json(data['error'], rc, out, err)
    if shape == 'list':
        _expect(isinstance(data, list) and all(isinstance(x, dict) for x in data), rc, out, err)
    elif shape == 'results':
        _expect(isinstance(data, dict) and isinstance(data.get('results'), list)
                and all(isinstance(x, dict) for x in data['results']), rc, out, err)
    else:
        _expect(isinstance(data, dict), rc, out, err)
    return data


def users_from_json(data, rc, out, err):
    """`vpcctl --json users` as a list of names ("DOMAIN\\user" where the guest gives a domain)."""
    _expect(isinstance(data, list), rc, out, err)
    names = []
    for u in data:
        _expect(isinstance(u, dict), rc, out, err)
        user, domain = _string(u, 'user'), _string(u, 'domain')
        _expect(user is not None and domain is not None, rc, out, err)
        names.append('%s\\%s' % (domain, user) if domain else user)
    return names


def guest_from_json(g, rc, out, err):
    """One VM of `vpcctl --json list`."""
    _expect(isinstance(g, dict), rc, out, err)
    vm = dict(name=_string(g, 'name'), uuid=_string(g, 'uuid'), state=_string(g, 'state'),
              path=_string(g, 'path'), os_name=_string(g, 'os_name'),
              agent_connected=g.get('agent_connected'))
    _expect(None not in vm.values() and isinstance(vm['agent_connected'], bool), rc, out, err)
    if 'console_disconnect_policy' in g:
        action, delay = _string(g, 'console_disconnect_policy'), _integer(g, 'console_disconnect_delay_sec')
        clients = _integer(g, 'console_clients')
        _expect(action is not None and delay is not None and clients is not None, rc, out, err)
        vm['console_policy'] = dict(action=action, delay=delay)
        if 'console_disconnect_message' in g:   # a service from before the policy's message lacks it
            message = _string(g, 'console_disconnect_message')
            _expect(message is not None, rc, out, err)
            vm['console_policy']['message'] = message
        vm['console_clients'] = clients
    else:
        vm['console_policy'] = None     # a service from before the console-disconnect policy
        vm['console_clients'] = None
    return vm


def find_guest(guests, name):
    """The VM named `name`, or with UUID `name` in any case, as the Manager's GetGuestOS finds it."""
    for g in guests:
        if g['name'] == name:
            return g
    for g in guests:
        if g['uuid'].lower() == name.lower():
            return g
    raise VpcError("no domain with name or UUID '%s'" % name, VM_UNKNOWN)


def logoff_result(entry, users, waited, rc, out, err):
    """One VM's entry of `vpcctl --json logoff` with the users listed before it: the module's result
    for that VM, with `changed` and `failed`."""
    _expect(isinstance(entry, dict), rc, out, err)
    name, name_error = _string(entry, 'vm'), _string(entry, 'error_name')
    message, code = _string(entry, 'error_message'), _integer(entry, 'error_code')
    task, complete = entry.get('task'), entry.get('complete')
    _expect(None not in (name, name_error, message, code) and isinstance(complete, bool)
            and (task is None or isinstance(task, str)), rc, out, err)
    r = dict(name=name, task=task, error_code=code, hresult=hresult_text(code), error_name=name_error,
             message=message, users=users, changed=False, failed=False)
    if name_error == NO_LOGON_SESSION:
        r['outcome'] = 'nobody logged on'
    elif name_error:
        r.update(outcome='failed', failed=True, msg=VpcError(message, name_error, code).msg)
    elif not task:
        raise MalformedOutput('a result with neither a task nor an error', rc, out, err)
    elif not waited:
        # A task was started; it logs off whoever the list showed (unknown when it could not be read).
        r.update(outcome='started', changed=users is None or bool(users))
    elif complete:
        r.update(outcome='logged off', changed=True)
    else:
        r.update(outcome='still running', failed=True,
                 msg='%s: the Logoff task %s was still running when the timeout passed' % (name, task))
    return r


class Vpcctl(object):
    """Runs vpcctl on the managed host for a module: an argument list, never a shell string. The
    bus is the system bus, or DBUS_SYSTEM_BUS_ADDRESS where the environment sets it (vpcctl's
    sd-bus honours it)."""

    def __init__(self, module):
        self.module = module
        self.path = module.get_bin_path('vpcctl')
        if not self.path:
            raise VpcError('vpcctl was not found on the managed host (it comes with vpc-guestosd)')

    def run(self, options, verb, args, shape):
        # Options first and "--" before the verb, so that no VM name is read as an option.
        cmd = [self.path, '--json', '--no-ask-password'] + list(options) + ['--', verb] + list(args)
        rc, out, err = self.module.run_command(cmd, check_rc=False)
        return decode(rc, out, err, shape), rc, out, err

    def guests(self):
        data, rc, out, err = self.run([], 'list', [], 'list')
        return [guest_from_json(g, rc, out, err) for g in data]

    def users(self, name):
        data, rc, out, err = self.run([], 'users', [name], 'list')
        return users_from_json(data, rc, out, err)
