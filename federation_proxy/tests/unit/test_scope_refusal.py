"""A malformed scope name is refused without repeating it.

``scope=openid café`` was told "Scope 'café' is malformed.": Python's
quotes, and the very characters RFC 6749 (5.2) keeps out of an
``error_description`` (outside ASCII, ``"``, ``\\``), since a name is
malformed for holding them.
"""

import re

import testtools

from federation_proxy.oidc import protocol

#: The characters RFC 6749 (5.2) allows in an error_description.
DESCRIPTION = re.compile(r'[\x20\x21\x23-\x5b\x5d-\x7e]*')


class TestScopeRefusal(testtools.TestCase):

    def test_malformed_name_is_not_repeated(self):
        for scope in ('openid caf\u00e9', 'a"b', 'a\\b', 'x\x7f'):
            error = self.assertRaises(protocol.OAuthError,
                                      protocol.parse_scope, scope)
            self.assertEqual(
                ('invalid_scope', 'A scope name holds a character RFC 6749 '
                 '(A.4) does not allow.'),
                (error.error, error.description), scope)
            self.assertTrue(DESCRIPTION.fullmatch(error.description))

    def test_well_formed(self):
        self.assertEqual(['openid', 'a!#[]~'],
                         protocol.parse_scope(' openid  a!#[]~ openid'))
