"""``openstack federation user identity remove`` with a '%' in the
user's ID.

The command put the user's percent-encoded ID into the template that
every identity is formatted into: ``bob%s`` (``bob%25s``) failed with
"not enough arguments for format string", ``bob%b`` with "unsupported
format character 'b'"; neither request was sent.
"""

import io

import testtools

from federation_proxy.osc.v1 import user


class RecordingClient(object):
    def __init__(self):
        self.deleted = []

    def delete(self, path):
        self.deleted.append(path)


class FakeApp(object):
    def __init__(self, client):
        self.stdout = io.StringIO()
        self.stderr = io.StringIO()
        self.options = None
        self.client_manager = type('CM', (), {'federation': client})()


class TestRemoveIdentity(testtools.TestCase):

    def test_percent_in_the_user_id_is_sent_encoded(self):
        for user_id, encoded in (('bob%s', 'bob%25s'),
                                 ('bob%b', 'bob%25b'), ('bob', 'bob')):
            client = RecordingClient()
            cmd = user.RemoveIdentity(FakeApp(client), None)
            parsed = cmd.get_parser('federation user identity remove') \
                .parse_args([user_id, 'id-1', 'id%2'])
            cmd.run(parsed)
            self.assertEqual(
                ['/v1/users/%s/identities/id-1' % encoded,
                 '/v1/users/%s/identities/id%%252' % encoded],
                client.deleted)
