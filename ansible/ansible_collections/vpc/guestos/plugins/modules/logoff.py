#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vpc-guestosd contributors
# GNU Lesser General Public License v2.1 or later (see https://www.gnu.org/licenses/lgpl-2.1.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: logoff
short_description: Log off every user of a libvirt guest through vpc-guestosd
version_added: "0.1.0"
description:
  - Logs off every user logged on in the guest operating system of one virtual machine, or of every
    running one, on the managed host, through vpc-guestosd (C(org.vpc) on the system bus) and the
    QEMU guest agent in the guest.
  - Reports C(changed) only when somebody was logged off. A VM where nobody was logged on
    (C(0x80070520), C(org.vpc.Error.NoSuchLogonSession)) is C(ok), so a second run of the same play
    reports no change.
  - In check mode it asks who is logged on (C(ListUsers)), reports C(changed) when somebody is, and
    logs nobody off.
  - polkit action C(org.vpc.guestos.logoff), with C(org.vpc.guestos.list-users) for who is logged on.
options:
  name:
    description:
      - The VM, by libvirt domain name or UUID.
      - Exactly one of C(name) and C(all) is needed.
    type: str
  all:
    description:
      - Every VM that is running when the module starts.
    type: bool
    default: false
  wait:
    description:
      - Wait until each Logoff task has ended. With C(false) the module returns once the tasks are
        started, and C(changed) says that a task was started on a VM with somebody logged on.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for the tasks (with C(wait)); a task still running then fails the VM. Without
        it the service's own C(--logoff-timeout) (60 s by default) ends the task.
    type: int
extends_documentation_fragment:
  - vpc.guestos.vpcctl
seealso:
  - module: vpc.guestos.guest_info
'''

EXAMPLES = r'''
- name: Log everybody off every VM before the nightly backup
  vpc.guestos.logoff:
    all: true
  become: true

- name: Log the users of one VM off, waiting at most 2 minutes
  vpc.guestos.logoff:
    name: win7
    timeout: 120
  become: true

- name: Who would be logged off (nobody is)
  vpc.guestos.logoff:
    name: win7
  check_mode: true
  register: would
'''

RETURN = r'''
results:
  description: One entry per VM, in the order of the VMs.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The VM.
      type: str
      sample: win7
    task:
      description: The object path of the Logoff task; null when none was started.
      type: str
      sample: /org/vpc/Task/7
    error_code:
      description: The HRESULT, 0 on success.
      type: int
      sample: 2147943712
    hresult:
      description: The HRESULT as C(0x%08X) text.
      type: str
      sample: "0x80070520"
    error_name:
      description: The D-Bus error name, empty on success.
      type: str
      sample: org.vpc.Error.NoSuchLogonSession
    message:
      description: The service's message, starting with the HRESULT; empty on success.
      type: str
      sample: "0xA0040206: cannot log off 'db': domain 'db' is not running (shutoff)"
    users:
      description: Who was logged on before (C(DOMAIN\user) where the guest names a domain); null
        when that could not be read.
      type: list
      elements: str
      sample: [alice, bob]
    outcome:
      description: C(logged off), C(nobody logged on), C(started) (without C(wait)), C(would log off)
        and C(nobody to log off) (check mode), C(still running) or C(failed).
      type: str
      sample: logged off
    changed:
      description: Somebody was (or in check mode would be) logged off on this VM.
      type: bool
    failed:
      description: This VM failed.
      type: bool
error_name:
  description: The D-Bus error name of the first VM that failed, e.g. C(org.vpc.Error.VmNotRunning),
    C(org.vpc.Error.VmUnknown), C(org.vpc.Error.AdditionsFeatureNotAvailable) (no guest agent),
    C(org.freedesktop.DBus.Error.AccessDenied).
  returned: failure
  type: str
  sample: org.vpc.Error.VmNotRunning
error_code:
  description: The HRESULT of that failure.
  returned: failure
  type: int
  sample: 2684617222
hresult:
  description: The same as C(0x%08X) text.
  returned: failure
  type: str
  sample: "0xA0040206"
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vpc.guestos.plugins.module_utils.results import failed_vm, run_module, summary, vm_result
from ansible_collections.vpc.guestos.plugins.module_utils.vpcctl import (
    HRESULTS, NO_LOGON_SESSION, VpcError, hresult_text, logoff_result)


def check_result(name, users, error):
    if error is not None:
        return failed_vm(name, users, error)
    if users:
        return vm_result(name, users, outcome='would log off', changed=True)
    code = HRESULTS[NO_LOGON_SESSION]
    return vm_result(name, users, outcome='nobody to log off', error_name=NO_LOGON_SESSION, error_code=code,
                     hresult=hresult_text(code))


def run(module, vpcctl):
    p = module.params
    if p['all']:
        names = [g['name'] for g in vpcctl.guests() if g['state'] == 'running']
    else:
        names = [p['name']]
    users, user_errors = {}, {}
    for name in names:
        try:
            users[name] = vpcctl.users(name)
        except VpcError as e:
            users[name], user_errors[name] = None, e
    if module.check_mode:
        return [check_result(n, users[n], user_errors.get(n)) for n in names]
    if not names:
        return []
    options = [] if p['wait'] else ['--no-wait']
    if p['timeout'] is not None:
        options += ['--timeout', str(p['timeout'])]
    try:
        data, rc, out, err = vpcctl.run(options, 'logoff', names, 'results')
    except VpcError as e:
        return [failed_vm(n, users[n], e) for n in names]
    entries = data['results']
    if len(entries) != len(names):
        raise VpcError('vpcctl answered for %d VMs, not %d: %r' % (len(entries), len(names), out[:400]))
    return [logoff_result(e, users[n], p['wait'], rc, out, err) for n, e in zip(names, entries)]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str'),
            all=dict(type='bool', default=False),
            wait=dict(type='bool', default=True),
            timeout=dict(type='int'),
        ),
        mutually_exclusive=[('name', 'all')],
        required_one_of=[('name', 'all')],
        supports_check_mode=True,
    )
    if module.params['timeout'] is not None and module.params['timeout'] <= 0:
        module.fail_json(msg='timeout must be a positive number of seconds')
    run_module(module, lambda m, vpcctl: summary(run(m, vpcctl)), results=[])


if __name__ == '__main__':
    main()
