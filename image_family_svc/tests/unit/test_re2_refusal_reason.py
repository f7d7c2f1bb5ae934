"""A pattern RE2 cannot run is refused with RE2's reason as text.

``{"pattern": "("}`` was told "RE2 cannot run it: b'missing ): ('":
the Python bytes RE2's binding raises, quotes and ``b`` prefix included.
"""

import testtools

from image_family_svc import properties_schema


class TestRe2RefusalReason(testtools.TestCase):

    def test_reason_is_text(self):
        for pattern, reason in (('(', '"missing ): ("'),
                                ('\u00e9(', '"missing ): \\u00e9("'),
                                ('a{1001}',
                                 '"invalid repetition size: {1001}"')):
            refused = properties_schema.refusal({'properties': {
                'a': {'type': 'string', 'pattern': pattern}}})
            self.assertEqual(['properties', 'a', 'pattern'], refused[0])
            self.assertIn('RE2 cannot run it: %s;' % reason, refused[1])
