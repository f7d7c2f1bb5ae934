"""An engine process for the leadership tests (not a test module).

``python -m svc_common.tests.functional.engine_child <state_path> <name>``
runs a :class:`~svc_common.engine.runner.Runner` with one leader-only
task that takes ``TASK_SECONDS`` and reports on stdout, one line each:
``leader``, ``task started``, ``task finished``, ``stopped``.
"""

import sys
import time

from limits_svc import service
from svc_common.conf import coordination as coordination_conf
from svc_common import config
from svc_common.engine import runner as runner_mod

ELECTION_INTERVAL = 0.2
TASK_SECONDS = 1.0


def say(line):
    sys.stdout.write(line + '\n')
    sys.stdout.flush()


def task():
    say('task started')
    time.sleep(TASK_SECONDS)
    say('task finished')


def main():
    state_path, name = sys.argv[1:3]
    conf = config.build_conf(service.SPEC, overrides={
        (None, 'state_path'): state_path})
    coordination_conf.register_opts(conf)
    conf.set_override('election_interval', ELECTION_INTERVAL,
                      group='coordination')
    runner = runner_mod.Runner(service.SPEC, conf, member_id=name)
    runner.add_periodic('slow', 60, task, run_on_election=True)
    runner.add_periodic('announce', 60, lambda: say('leader'),
                        run_on_election=True)
    result = runner.run()
    say('stopped')
    return result


if __name__ == '__main__':
    sys.exit(main())
