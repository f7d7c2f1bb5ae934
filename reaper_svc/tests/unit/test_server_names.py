"""The server names ``POST /v1/pending`` takes are those Nova's ``POST
/servers`` takes.

The reaper took any name without control characters; Nova refuses a
name with a character outside the Basic Multilingual Plane (emoji), a
line or paragraph separator, a format character (a zero-width space)
or a space at either end.  Such a request was queued and failed when it
was built, hours later perhaps, "The cloud refused the build".  Nova
34's own check of a server's name (its ``name`` format) is the oracle,
over every character of the Basic Multilingual Plane and some beyond.
"""

from nova.api.validation import validators as nova_validators
import testtools

from reaper_svc.api import pending
from svc_common import errors


def nova_takes(name):
    try:
        return nova_validators._validate_name(name)
    except Exception:
        return False


def reaper_takes(name):
    try:
        pending.check_server_name(name, 'servers/0/name')
        return True
    except errors.BadRequest:
        return False


class TestServerNames(testtools.TestCase):

    def test_every_character_as_nova_takes_it(self):
        chars = [chr(code) for code in range(0x10000)]
        chars += ['\U0001F600', '\U00010000', '\U0010FFFD', '\U000E0001']
        differ = []
        for char in chars:
            for name in ('a%sb' % char, char, 'a' + char, char + 'b'):
                if name.endswith('\n'):
                    # Nova's pattern ends in $, which matches before a
                    # final newline; the reaper's schema refuses every
                    # control character.
                    continue
                if nova_takes(name) != reaper_takes(name):
                    differ.append((name, nova_takes(name)))
        self.assertEqual([], differ[:20])

    def test_the_refusal_names_the_field(self):
        error = self.assertRaises(errors.BadRequest, pending.check_server_name,
                                  'job ', 'servers/3/name')
        self.assertIn('servers/3/name', str(error))
