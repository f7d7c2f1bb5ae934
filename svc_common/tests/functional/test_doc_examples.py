"""The examples of README.rst and the user guide, run as a reader runs them.

A console block marked with the RST comment ``.. tested-example`` just
before it is executable: each ``$ `` line (with its ``\\`` continuation
lines) is a shell command, and the lines after it, up to the next ``$ ``,
are its expected output.  All marked blocks of one file run in order in one
``bash`` session (so shell variables and functions carry over) against a
real ``arbiter-all-in-one`` started for the file on free ports, with a
fresh data directory.  The documented ports (9870-9873) are mapped to the
test's ports in the commands and back in the output.  The session is a
reader's with the virtualenv active (its ``bin`` first on ``PATH``, so
that ``openstack`` is the one installed with Arbiter) and with no
``OS_*`` or ``ARBITER_NOAUTH_*`` variables of its own.

Output is compared with runs of white space made equal (the documents wrap
long JSON lines), and ``...`` in the expected output stands for any text.
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

REPO = test_commands.REPO
MARKER = '.. tested-example'
DOC_PORT = 9870
DOCUMENTS = ['README.rst', os.path.join('doc', 'source', 'user', 'index.rst'),
             os.path.join('doc', 'source', 'cli', 'preemption.rst'),
             os.path.join('doc', 'source', 'user', 'image-families.rst'),
             os.path.join('doc', 'source', 'cli', 'image-family.rst'),
             os.path.join('doc', 'source', 'cli', 'limits.rst'),
             os.path.join('doc', 'source', 'user', 'federation.rst')]


def marked_blocks(text):
    """The content lines of each code block that follows a marker."""
    lines = text.splitlines()
    blocks = []
    for index, line in enumerate(lines):
        if line.strip() != MARKER:
            continue
        start = index + 1
        while start < len(lines) and not (
                lines[start].startswith('.. code-block::') or
                lines[start].rstrip().endswith('::')):
            start += 1
        body = []
        for line in lines[start + 1:]:
            if line.strip() and not line.startswith(' '):
                break
            body.append(line)
        while body and not body[-1].strip():
            body.pop()
        indent = min(len(b) - len(b.lstrip()) for b in body if b.strip())
        blocks.append([b[indent:] for b in body])
    return blocks


def commands_and_outputs(block):
    """``[(command, expected output lines)]`` of one console block."""
    pairs = []
    lines = list(block)
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines:
        line = lines.pop(0)
        if not line.startswith('$ '):
            raise AssertionError('output without a command: %r' % line)
        command = [line[2:]]
        while command[-1].endswith('\\'):
            command.append(lines.pop(0).strip())
        expected = []
        while lines and not lines[0].startswith('$ '):
            expected.append(lines.pop(0))
        pairs.append(('\n'.join(command), expected))
    return pairs


def _squash(text):
    return ' '.join(text.split())


def output_matches(expected_lines, actual):
    """Whether ``actual`` is what ``expected_lines`` show (see above)."""
    pattern = '.*?'.join(re.escape(part) for part in
                         _squash('\n'.join(expected_lines)).split('...'))
    return re.fullmatch(pattern, _squash(actual), re.DOTALL) is not None


class LocalRun(fixtures.Fixture):
    """``arbiter-all-in-one`` on four free ports; ``.base`` is the first.

    A port found free may be taken by another process (an outgoing
    connection's local port, in a parallel test run) before the run
    binds it; the run then says so and exits, and is started again on
    other ports, a few times.
    """

    ATTEMPTS = 3

    def _setUp(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        for attempt in range(1, self.ATTEMPTS + 1):
            if self._start(os.path.join(tmp, 'data-%d' % attempt),
                           last=attempt == self.ATTEMPTS):
                return

    def _start(self, data_dir, last):
        count = len(all_in_one.load_specs())
        self.base = ports.free_port()
        while any(ports.port_open(self.base + i) for i in range(count)):
            self.base = ports.free_port()
        self.proc = subprocess.Popen(
            [test_commands.command('arbiter-all-in-one'), '--data-dir',
             data_dir, '--port-base', str(self.base)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(test_commands._kill, self.proc)
        deadline = time.monotonic() + 60
        for offset in range(count):
            url = 'http://127.0.0.1:%d/healthcheck' % (self.base + offset)
            while True:
                if self.proc.poll() is not None:
                    output = self.proc.stdout.read()
                    if 'already in use' in output and not last:
                        return False
                    raise AssertionError('arbiter-all-in-one exited: %s'
                                         % output)
                try:
                    urllib.request.urlopen(url, timeout=2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise AssertionError('%s did not answer' % url)
                    time.sleep(0.2)
        return True


class TestDocExamples(testtools.TestCase):

    def run_document(self, name):
        with open(os.path.join(REPO, name)) as f:
            blocks = marked_blocks(f.read())
        pairs = [pair for block in blocks
                 for pair in commands_and_outputs(block)]
        self.assertNotEqual([], pairs, '%s has no tested example' % name)
        run = self.useFixture(LocalRun())

        def to_test(text):
            return re.sub(r'127\.0\.0\.1:98(7\d)',
                          lambda m: '127.0.0.1:%d' % (
                              run.base + int(m.group(1)) - 70), text)

        def to_doc(text):
            return re.sub(r'127\.0\.0\.1:(\d+)',
                          lambda m: '127.0.0.1:%d' % (
                              DOC_PORT + int(m.group(1)) - run.base)
                          if 0 <= int(m.group(1)) - run.base < 10
                          else m.group(0), text)

        separator = 'EXAMPLE-%s' % uuid.uuid4().hex
        script = ''.join('echo %s\n%s\n' % (separator, to_test(command))
                         for command, _expected in pairs)
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(('OS_', 'ARBITER_NOAUTH_'))}
        env['PATH'] = os.pathsep.join([os.path.dirname(sys.executable),
                                       env.get('PATH', os.defpath)])
        result = subprocess.run(['bash', '-c', script], capture_output=True,
                                text=True, timeout=300, cwd=REPO, env=env)
        outputs = result.stdout.split(separator + '\n')[1:]
        self.assertEqual(len(pairs), len(outputs), result.stderr)
        for (command, expected), actual in zip(pairs, outputs):
            actual = to_doc(actual)
            self.assertTrue(
                output_matches(expected, actual),
                '%s: $ %s\nexpected:\n%s\nactual:\n%s\nstderr:\n%s'
                % (name, command, '\n'.join(expected), actual,
                   result.stderr))

    def test_readme(self):
        self.run_document('README.rst')

    def test_user_guide(self):
        self.run_document(DOCUMENTS[1])

    def test_preemption_cli_guide(self):
        """The preemption commands on the local run's simulated cloud
        (they failed there with "no flavor m1.large" when the reaper had
        no cloud)."""
        self.run_document(DOCUMENTS[2])

    def test_image_family_session(self):
        """The image family user guide's CLI session, from creating the
        family to the scheduled end of its old image."""
        self.run_document(DOCUMENTS[3])

    def test_image_family_cli_guide(self):
        """The image family CLI reference's session: a scheduled
        transition listed and cancelled, an image removed so that its
        family can be deleted (neither had a command before)."""
        self.run_document(DOCUMENTS[4])

    def test_limits_cli_guide(self):
        """The limits CLI reference's examples, one session in the order
        of the page: the tree, a refused check and allocation, the
        lists, registered and project limits, projects."""
        self.run_document(DOCUMENTS[5])

    def test_federation_session(self):
        """The federation user guide's session: people registered, a VO
        shaped by its manager, a request approved, an invitation to a
        group with a custom role accepted, a membership suspended,
        renewed and removed (none of it was run before)."""
        self.run_document(DOCUMENTS[6])


class TestExampleMatching(testtools.TestCase):
    """The comparison itself, so that a loose match cannot pass a
    wrong example."""

    def test_wrapped_json_matches(self):
        self.assertTrue(output_matches(
            ['{"a": 1,', '  "b": "req-..."}'], '{"a": 1, "b": "req-12"}\n'))

    def test_different_output_does_not_match(self):
        self.assertFalse(output_matches(['{"resources": []}'],
                                        '{"resources": [{"name": "x"}]}'))
        self.assertFalse(output_matches([], 'something'))

    def test_blocks_are_split_into_commands(self):
        text = '\n'.join([
            'Text', '', MARKER, '', '.. code-block:: console', '',
            '   $ curl -s \\', '       http://x', '   {"a": 1}',
            '   $ true', '', 'After'])
        self.assertEqual([('curl -s \\\nhttp://x', ['{"a": 1}']),
                          ('true', [])],
                         commands_and_outputs(marked_blocks(text)[0]))
