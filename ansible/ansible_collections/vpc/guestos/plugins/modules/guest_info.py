#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vpc-guestosd contributors
# GNU Lesser General Public License v2.1 or later (see https://www.gnu.org/licenses/lgpl-2.1.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: guest_info
short_description: The VMs vpc-guestosd serves on a host, their guest agents and users
version_added: "0.1.0"
description:
  - Lists every VM of the managed host (or one) as vpc-guestosd sees it, read-only.
  - Never changes anything; runs in check mode as in a normal run.
  - Who is logged on is asked of each running VM whose guest agent is connected (C(ListUsers)),
    when polkit allows it (action C(org.vpc.guestos.list-users)); otherwise C(users) is null and
    C(users_error) says why, with the HRESULT.
options:
  name:
    description:
      - Only this VM, by libvirt domain name or UUID. Without it, every VM.
    type: str
  users:
    description:
      - Ask the guest agents who is logged on. With C(false) no guest is asked.
    type: bool
    default: true
extends_documentation_fragment:
  - vpc.guestos.vpcctl
seealso:
  - module: vpc.guestos.logoff
'''

EXAMPLES = r'''
- name: Every VM of every host, with who is logged on
  vpc.guestos.guest_info:
  become: true
  register: fleet

- name: Show the running VMs that still have users
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.users | join(', ') }}"
  loop: "{{ fleet.vms | selectattr('users') | list }}"
'''

RETURN = r'''
vms:
  description: The VMs, in name order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The libvirt domain name.
      type: str
      sample: win7
    uuid:
      description: The libvirt domain UUID.
      type: str
    state:
      description: C(running), C(paused), C(shutoff), C(crashed), C(pmsuspended), C(blocked),
        C(shutdown) or C(nostate).
      type: str
      sample: running
    path:
      description: The VM's org.vpc.GuestOS object path.
      type: str
      sample: /org/vpc/GuestOS/win7
    agent_connected:
      description: The QEMU guest agent is connected.
      type: bool
    os_name:
      description: The guest's own name for its OS; empty while unknown.
      type: str
      sample: Debian GNU/Linux 12 (bookworm)
    console_policy:
      description: The console-disconnect policy, C(action) (C(none) or C(logoff)) and C(delay)
        (seconds); null for a service without it.
      type: dict
      sample: {action: none, delay: 30}
    console_clients:
      description: Remote console connections now.
      type: int
    users:
      description: Who is logged on; null when not asked, not allowed, or the agent cannot say.
      type: list
      elements: str
      sample: [alice, bob]
    users_error:
      description: Why C(users) is null for a running VM with a connected agent, the HRESULT first.
      type: str
      sample: "0x80070005: cannot list the users of 'win7': not authorized by polkit [org.freedesktop.DBus.Error.AccessDenied]"
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vpc.guestos.plugins.module_utils.results import run_module
from ansible_collections.vpc.guestos.plugins.module_utils.vpcctl import VpcError, find_guest


def run(module, vpcctl):
    vms = vpcctl.guests()
    if module.params['name'] is not None:
        vms = [find_guest(vms, module.params['name'])]
    for vm in vms:
        vm['users'], vm['users_error'] = None, None
        if module.params['users'] and vm['state'] == 'running' and vm['agent_connected']:
            try:
                vm['users'] = vpcctl.users(vm['name'])
            except VpcError as e:
                vm['users_error'] = e.msg
    return vms


def main():
    module = AnsibleModule(
        argument_spec=dict(name=dict(type='str'), users=dict(type='bool', default=True)),
        supports_check_mode=True,
    )
    run_module(module, lambda m, vpcctl: dict(changed=False, vms=run(m, vpcctl)), vms=[])


if __name__ == '__main__':
    main()
