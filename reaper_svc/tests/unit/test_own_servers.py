"""Which servers the promoter takes as a pending request's own (and may
delete or adopt): never one a user could have tagged.

A server is the request's own only when it is of the request's project,
was created by the user the promoter built it as, carries the exact
token of its builds and was created (at a time the cloud tells) not
before its first build started (less the clock slack).  Whatever else
its metadata says (the request's id, a wrong or partial token, any
text), it is left.
"""

import datetime

import hypothesis
from hypothesis import strategies as st
import testtools

from reaper_svc import promoter

START = datetime.datetime(2030, 1, 1, 10)
TOKEN = 'q3Zb0yV8kT1mN5cR7xW2pL9dF4gH6jA0'
REQUEST = {'id': 'r1', 'project_id': 'physics', 'build_token': TOKEN,
           'build_started_at': START, 'build_user_id': 'reaper'}

tokens = st.one_of(st.just(TOKEN), st.just(TOKEN[:-1]), st.just(''),
                   st.just(TOKEN + ' '), st.text(max_size=40))
servers = st.fixed_dictionaries({
    'id': st.uuids().map(str),
    'status': st.sampled_from(['ACTIVE', 'BUILD', 'ERROR', 'SHUTOFF']),
    'project_id': st.sampled_from(['physics', 'chemistry', None]),
    'user_id': st.sampled_from(['reaper', 'colleague', None]),
    'created_at': st.one_of(st.none(), st.datetimes(
        min_value=START - datetime.timedelta(days=2),
        max_value=START + datetime.timedelta(days=2))),
    'metadata': st.fixed_dictionaries(
        {promoter.REQUEST_METADATA: st.just('r1')},
        optional={promoter.TOKEN_METADATA: tokens,
                  'other': st.text(max_size=10)}),
})


class TestOwnServers(testtools.TestCase):

    @hypothesis.settings(max_examples=300, deadline=None, derandomize=True)
    @hypothesis.given(st.lists(servers, max_size=8))
    def test_only_servers_with_the_token_built_after_the_start(self, found):
        own, foreign = promoter.own_servers(REQUEST, found)
        self.assertEqual(sorted(s['id'] for s in found),
                         sorted(s['id'] for s in own + foreign))
        for server in own:
            self.assertEqual('physics', server['project_id'])
            self.assertEqual('reaper', server['user_id'])
            self.assertEqual(TOKEN, server['metadata'].get(
                promoter.TOKEN_METADATA))
            self.assertGreaterEqual(server['created_at'],
                                    START - promoter.CLOCK_SLACK)
        for server in foreign:
            self.assertTrue(
                server['project_id'] != 'physics'
                or server['user_id'] != 'reaper'
                or server['metadata'].get(promoter.TOKEN_METADATA) != TOKEN
                or server['created_at'] is None
                or server['created_at'] < START - promoter.CLOCK_SLACK)

    @hypothesis.settings(max_examples=100, deadline=None, derandomize=True)
    @hypothesis.given(st.lists(servers, max_size=8))
    def test_a_request_without_its_builder_owns_nothing(self, found):
        """A build user unknown: nothing is known to be its own."""
        own, foreign = promoter.own_servers(
            dict(REQUEST, build_user_id=None), found)
        self.assertEqual([], own)

    @hypothesis.settings(max_examples=100, deadline=None, derandomize=True)
    @hypothesis.given(st.lists(servers, max_size=8))
    def test_a_request_without_a_token_owns_nothing(self, found):
        """Left building by a release before the token."""
        own, foreign = promoter.own_servers(
            dict(REQUEST, build_token=None, build_started_at=None), found)
        self.assertEqual([], own)
