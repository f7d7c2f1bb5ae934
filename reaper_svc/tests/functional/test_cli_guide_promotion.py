"""The preemption CLI guide's promotion example, run as a reader runs it,
with short waits.

The guide's session (``doc/source/cli/preemption.rst``) ends with a
pending request the promoter builds after the reaper made room: it waits
for the promoter's pass (``[preemption] promote_interval``, 30 s) and
then for the grace period (``[preemption] grace_period``, 300 s) and the
passes that follow it.  Those blocks are marked ``.. tested-example:
waits scaled`` (which the suite's runner of examples,
``svc_common.tests.functional.test_doc_examples``, leaves alone, since
it has no way to make them short).  Here the whole session runs in
document order against ``arbiter-all-in-one`` with a ``--config-dir``
whose ``reaper.conf`` makes those options short, and each ``sleep N`` of
those blocks waits as long as :data:`WAITS` says N stands for with those
options.  Every other command and every output is the guide's.
"""

import os
import re
import subprocess
import sys
import time
import urllib.request
import uuid

import fixtures
import testtools

from svc_common.cmd import all_in_one
from svc_common.tests.fixtures import ports
from svc_common.tests.functional import test_commands
from svc_common.tests.functional import test_doc_examples as tde

DOCUMENT = os.path.join('doc', 'source', 'cli', 'preemption.rst')
SCALED_MARKER = '.. tested-example: waits scaled'
#: ``reaper.conf`` of the run: the waits of the guide, short.  The grace
#: period outlasts the commands between the notice and the guide's look
#: at the noticed action (a few seconds each on a loaded machine).
OPTIONS = {'promote_interval': 1, 'action_interval': 1, 'grace_period': 20}
#: What each ``sleep`` of the guide waits for, with the options above
#: (the guide's own values: promote_interval 30, grace_period 300,
#: action_interval 10).
WAITS = {
    # One pass of the promoter.
    30: OPTIONS['promote_interval'] + 2,
    # The grace period, the leader's pass that deletes the victims and
    # the promoter's pass that builds the request.
    340: sum(OPTIONS.values()) + 3,
}


def scaled(command):
    """``command`` with each guide wait replaced by the run's."""
    def wait(match):
        seconds = int(match.group(1))
        if seconds not in WAITS:
            raise AssertionError('the guide waits %d s: say in WAITS what '
                                 'for' % seconds)
        return 'sleep %d' % WAITS[seconds]
    return re.sub(r'\bsleep (\d+)\b', wait, command)


def session(text):
    """``[(command, expected lines)]`` of every tested block, in the
    document's order, and how many of them are in scaled blocks."""
    plain = tde.marked_blocks(text)
    every = tde.marked_blocks(text.replace(SCALED_MARKER, tde.MARKER))
    pairs = [pair for block in every
             for pair in tde.commands_and_outputs(block)]
    scaled_pairs = len(pairs) - sum(len(tde.commands_and_outputs(b))
                                    for b in plain)
    return pairs, scaled_pairs


class ShortLocalRun(fixtures.Fixture):
    """``arbiter-all-in-one`` on free ports with ``reaper.conf`` of
    :data:`OPTIONS` in its ``--config-dir``; ``.base`` is its first
    port."""

    def _setUp(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        config_dir = os.path.join(tmp, 'etc')
        os.mkdir(config_dir)
        with open(os.path.join(config_dir, 'reaper.conf'), 'w') as conf:
            conf.write('[preemption]\n' + ''.join(
                '%s = %s\n' % item for item in sorted(OPTIONS.items())))
        count = len(all_in_one.load_specs())
        self.base = ports.free_port()
        while any(ports.port_open(self.base + i) for i in range(count)):
            self.base = ports.free_port()
        proc = subprocess.Popen(
            [test_commands.command('arbiter-all-in-one'), '--data-dir',
             os.path.join(tmp, 'data'), '--config-dir', config_dir,
             '--port-base', str(self.base)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(test_commands._kill, proc)
        deadline = time.monotonic() + 60
        for offset in range(count):
            url = 'http://127.0.0.1:%d/healthcheck' % (self.base + offset)
            while True:
                if proc.poll() is not None:
                    raise AssertionError('arbiter-all-in-one exited: %s'
                                         % proc.stdout.read())
                try:
                    urllib.request.urlopen(url, timeout=2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise AssertionError('%s did not answer' % url)
                    time.sleep(0.2)


class TestPromotionExample(testtools.TestCase):

    def test_waits_are_what_the_options_make_them(self):
        self.assertEqual('openstack x; sleep 3; sleep %d'
                         % (sum(OPTIONS.values()) + 3),
                         scaled('openstack x; sleep 30; sleep 340'))
        self.assertRaises(AssertionError, scaled, 'sleep 330')

    def test_the_guide_has_the_promotion_example(self):
        with open(os.path.join(test_commands.REPO, DOCUMENT)) as source:
            pairs, count = session(source.read())
        self.assertGreater(count, 0)
        self.assertIn('active', '\n'.join(pairs[-1][1]))

    def test_promotion_example(self):
        with open(os.path.join(test_commands.REPO, DOCUMENT)) as source:
            pairs, _count = session(source.read())
        run = self.useFixture(ShortLocalRun())

        def to_test(text):
            return re.sub(r'127\.0\.0\.1:98(7\d)',
                          lambda m: '127.0.0.1:%d' % (
                              run.base + int(m.group(1)) - 70), text)

        separator = 'EXAMPLE-%s' % uuid.uuid4().hex
        script = ''.join('echo %s\n%s\n' % (separator,
                                            scaled(to_test(command)))
                         for command, _expected in pairs)
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(('OS_', 'ARBITER_NOAUTH_'))}
        env['PATH'] = os.pathsep.join([os.path.dirname(sys.executable),
                                       env.get('PATH', os.defpath)])
        result = subprocess.run(['bash', '-c', script], capture_output=True,
                                text=True, timeout=180,
                                cwd=test_commands.REPO, env=env)
        outputs = result.stdout.split(separator + '\n')[1:]
        self.assertEqual(len(pairs), len(outputs), result.stderr)
        for (command, expected), actual in zip(pairs, outputs):
            self.assertTrue(
                tde.output_matches(expected, actual),
                '$ %s\nexpected:\n%s\nactual:\n%s\nstderr:\n%s'
                % (command, '\n'.join(expected), actual, result.stderr))
