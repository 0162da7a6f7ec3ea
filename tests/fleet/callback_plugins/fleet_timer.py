# The fleet test's timer: the wall time of the play, from its start to the recap (ansible-playbook's
# own start-up and the collection loading left out), and when each host's tasks started and ended,
# written to $FLEET_TIMER_FILE as JSON.
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = '''
name: fleet_timer
type: aggregate
short_description: the play's wall time, for the fleet test
description: Writes the seconds from the first play's start to the recap, and each task's start and
  end per host (seconds since the play's start), to $FLEET_TIMER_FILE.
'''


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'fleet_timer'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.start = None
        self.tasks = []

    def _now(self):
        return time.monotonic() - self.start

    def v2_playbook_on_play_start(self, play):
        if self.start is None:
            self.start = time.monotonic()

    def v2_runner_on_start(self, host, task):
        self.tasks.append(dict(host=host.get_name(), task=task.get_name(), start=self._now(), end=None))

    def _end(self, result, *args, **kwargs):     # on_failed has ignore_errors, on_unreachable not
        for t in reversed(self.tasks):
            if t['host'] == result._host.get_name() and t['task'] == result._task.get_name() and t['end'] is None:
                t['end'] = self._now()
                return

    v2_runner_on_ok = v2_runner_on_failed = v2_runner_on_skipped = v2_runner_on_unreachable = _end

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get('FLEET_TIMER_FILE')
        if path and self.start is not None:
            with open(path, 'w') as f:
                json.dump({'play_seconds': self._now(), 'tasks': self.tasks}, f)
