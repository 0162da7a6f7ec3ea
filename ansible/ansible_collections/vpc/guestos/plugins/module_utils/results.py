# -*- coding: utf-8 -*-
# How the vpc.guestos modules end: their result, or a failure with the service's HRESULT, message
# and D-Bus error name (a VpcError), never a traceback; and the per-VM entries of logoff.
# Copyright: vpc-guestosd contributors
# GNU Lesser General Public License v2.1 or later (see https://www.gnu.org/licenses/lgpl-2.1.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.vpc.guestos.plugins.module_utils.vpcctl import Vpcctl, VpcError, hresult_text


def vm_result(name, users, **fields):
    """One VM's entry: a success that changed nothing unless FIELDS say otherwise."""
    r = dict(name=name, task=None, users=users, error_code=0, hresult=hresult_text(0), error_name='',
             message='', changed=False, failed=False)
    r.update(fields)
    return r


def failed_vm(name, users, error):
    """One VM's entry for a VpcError."""
    return vm_result(name, users, outcome='failed', failed=True, msg=error.msg, **error.fields())


def summary(results):
    """The module's result for per-VM RESULTS: changed when any changed; failed when any failed,
    with every failure's msg and the first one's error fields."""
    out = dict(changed=any(r['changed'] for r in results), results=results)
    failures = [r for r in results if r['failed']]
    if failures:
        first = failures[0]
        out.update(failed=True, msg='; '.join(r['msg'] for r in failures),
                   error_name=first.get('error_name', ''), error_code=first.get('error_code', 0),
                   hresult=first.get('hresult', hresult_text(0)))
    return out


def run_module(module, run, **on_failure):
    """Exits MODULE with run(module, vpcctl)'s result dict (a failure when it says failed); a
    VpcError fails it with msg and the error's fields, and ON_FAILURE's (the result keys that are
    always returned, empty)."""
    try:
        result = run(module, Vpcctl(module))
    except VpcError as e:
        fields = dict(on_failure)
        fields.update(e.fields())
        module.fail_json(msg=e.msg, **fields)
    if result.pop('failed', False):
        module.fail_json(**result)
    module.exit_json(**result)
