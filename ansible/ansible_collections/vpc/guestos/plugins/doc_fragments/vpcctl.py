# -*- coding: utf-8 -*-
# What every vpc.guestos module shares in its documentation: how it reaches vpc-guestosd, who may
# act (polkit), how failures look, and its attributes.
# Copyright: vpc-guestosd contributors
# GNU Lesser General Public License v2.1 or later (see https://www.gnu.org/licenses/lgpl-2.1.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r'''
options: {}
requirements:
  - vpc-guestosd and its client C(vpcctl) on the managed host
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: posix
notes:
  - The module runs C(vpcctl --json) on the managed host with an argument list (never a shell); no
    Python D-Bus library is needed. It talks to the system bus, or to the one
    C(DBUS_SYSTEM_BUS_ADDRESS) names in the module's environment.
  - polkit decides; uid 0 always may, so C(become=true) is the normal way. A non-root
    C(ansible_user) gets what the host's polkit rules grant (C(50-org.vpc.rules) lets group
    C(libvirt) in) or fails with C(0x80070005).
  - A failure has the service's HRESULT and message in C(msg), its D-Bus error name last in
    brackets, and C(error_name), C(error_code) and C(hresult) beside it; never a Python traceback.
    C(error_name) is empty for failures that are not the service's (C(vpcctl) missing, the bus
    unreachable, output that is not C(vpcctl)'s JSON).
author:
  - vpc-guestosd contributors
'''
