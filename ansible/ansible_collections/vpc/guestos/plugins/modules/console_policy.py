#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vpc-guestosd contributors
# GNU Lesser General Public License v2.1 or later (see https://www.gnu.org/licenses/lgpl-2.1.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: console_policy
short_description: What vpc-guestosd does when a VM's last console client leaves
version_added: "0.1.0"
description:
  - Sets a VM's console-disconnect policy (C(SetConsoleDisconnectPolicy), or
    C(SetConsoleDisconnectPolicyWithOptions) with a message) on the managed host. When the last VNC
    or SPICE client has been gone for 2 s (a client back sooner is no disconnect), C(lock) locks the
    guest's sessions and C(logoff) logs its users off, each C(delay) seconds later;
    C(lock-then-logoff) locks at once and logs off after the delay; C(warn-then-logoff) shows
    C(message) to every user at once and logs off after the delay; C(none) does nothing. A client
    back during the delay calls the pending action off. The policy is kept in the domain's libvirt
    metadata.
  - Idempotent; C(changed) only when the stored policy differs from the one asked for. In check
    mode it reports what would change and stores nothing.
  - polkit action C(org.vpc.guestos.set-policy). A vpc-guestosd from before the console-disconnect
    policy fails with a message that says so.
options:
  name:
    description:
      - The VM, by libvirt domain name or UUID.
    type: str
    required: true
  action:
    description:
      - What happens when the last console client leaves.
    type: str
    choices: [none, lock, logoff, lock-then-logoff, warn-then-logoff]
    required: true
  delay:
    description:
      - Seconds between the disconnect and the action, 0 to 86400 (C(warn-then-logoff) 0 to 3600,
        its warning's grace). Without it the VM's current delay stays.
    type: int
  message:
    description:
      - The text shown to the guest's users (C(warn-then-logoff)), at most 1024 bytes; control
        characters are removed by the service, which compares the stored text. C("") removes it.
        Without it the VM's current message stays.
    type: str
extends_documentation_fragment:
  - vpc.guestos.vpcctl
'''

EXAMPLES = r'''
- name: Log the lab's kiosk VM off a minute after its viewer closes
  vpc.guestos.console_policy:
    name: kiosk-01
    action: logoff
    delay: 60
  become: true

- name: Warn the desk VMs' users when their console closes, and log them off 5 minutes later
  vpc.guestos.console_policy:
    name: desk-07
    action: warn-then-logoff
    delay: 300
    message: Your console was closed. You will be logged off in 5 minutes.
  become: true
'''

RETURN = r'''
old:
  description: The policy before, C(action), C(delay) and (a service with the policy's message)
    C(message).
  returned: success
  type: dict
  sample: {action: none, delay: 30}
new:
  description: The policy after (in check mode, the one that would be stored).
  returned: success
  type: dict
  sample: {action: logoff, delay: 60}
name:
  description: The VM's libvirt domain name.
  returned: success
  type: str
error_name:
  description: The D-Bus error name of a failure.
  returned: failure
  type: str
  sample: org.vpc.Error.VmUnknown
error_code:
  description: The HRESULT of a failure.
  returned: failure
  type: int
hresult:
  description: The HRESULT as C(0x%08X) text.
  returned: failure
  type: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vpc.guestos.plugins.module_utils.results import run_module
from ansible_collections.vpc.guestos.plugins.module_utils.vpcctl import VpcError, find_guest

DELAY_MAX = 86400


def policy_of(vpcctl, name):
    vm = find_guest(vpcctl.guests(), name)
    if vm['console_policy'] is None:
        raise VpcError('the vpc-guestosd on this host has no console-disconnect policy')
    return vm


def run(module, vpcctl):
    p = module.params
    vm = policy_of(vpcctl, p['name'])
    old = vm['console_policy']
    want = dict(action=p['action'], delay=old['delay'] if p['delay'] is None else p['delay'])
    if 'message' in old:
        want['message'] = old['message'] if p['message'] is None else p['message']
    elif p['message']:
        raise VpcError('the vpc-guestosd on this host keeps no console-disconnect message')
    if want == old:
        return dict(changed=False, name=vm['name'], old=old, new=old)
    if module.check_mode:
        return dict(changed=True, name=vm['name'], old=old, new=want)
    # The VM by its UUID: a rename meanwhile cannot make the call reach another VM.
    # Without --message the service clears the message: a kept one is passed again.
    options = ['--console-disconnect=' + want['action'], '--delay', str(want['delay'])]
    if want.get('message'):
        options += ['--message', want['message']]
    vpcctl.run(options, 'set-policy', [vm['uuid']], 'none')
    new = policy_of(vpcctl, vm['uuid'])['console_policy']
    return dict(changed=new != old, name=vm['name'], old=old, new=new)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            action=dict(type='str', required=True,
                        choices=['none', 'lock', 'logoff', 'lock-then-logoff', 'warn-then-logoff']),
            delay=dict(type='int'),
            message=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    delay = module.params['delay']
    if delay is not None and not 0 <= delay <= DELAY_MAX:
        module.fail_json(msg='delay must be 0..%d seconds, not %d' % (DELAY_MAX, delay))
    run_module(module, run)


if __name__ == '__main__':
    main()
