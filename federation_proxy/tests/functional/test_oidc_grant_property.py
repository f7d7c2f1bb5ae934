"""Property test (hypothesis) of the grants of one person with one
relying party on two devices: only a real replay ends the other
device's grant.

Device B does whatever a client, a retry, a second tab or someone who
saw a code or token might do: exchange a code with or without its PKCE
verifier, exchange it again, let it expire, refresh, refresh with a
narrower scope, revoke its refresh token and show it again, show a
rotated refresh token again.  Device A holds a grant of the same person
with the same client.  A's grant must end exactly when B showed again a
code or refresh token that had obtained tokens (OAuth 2.0 Security BCP:
one of the two holders is not the client), and never otherwise: a
failed exchange, an expired code, a revoked token shown again, a
narrower scope asked for once change nothing for A.  After each step B
holds what the model says: a refresh token that works, with the whole
grant's scope.
"""

import datetime

import fixtures
import hypothesis
from hypothesis import strategies as st

from federation_proxy.db import oidc as oidc_db
from federation_proxy.tests.functional import oidc_setup as s
from federation_proxy.tests.functional import test_oidc_provider as p

SETTINGS = hypothesis.settings(
    max_examples=150, deadline=None, derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck))

SCOPE = 'openid profile email'

ACTIONS = ('exchange', 'exchange_without_verifier', 'exchange_again',
           'exchange_expired', 'refresh', 'refresh_narrower',
           'refresh_rotated', 'revoke', 'refresh_revoked')


class TestOnlyAReplayEndsAGrant(p.ProviderTestCase):

    def _refresh(self, token, **extra):
        return self.token(dict({'grant_type': 'refresh_token',
                                'refresh_token': token}, **extra),
                          status='*')

    def _expired(self, code, verifier):
        later = datetime.datetime.utcnow() + datetime.timedelta(minutes=5)
        real = oidc_db.redeem_code
        with fixtures.MockPatchObject(
                oidc_db, 'redeem_code',
                side_effect=lambda db, ctx, c, cid, now, **kw:
                real(db, ctx, c, cid, later, **kw)):
            return self.exchange(code, verifier, status='*')

    def _step(self, action, b):
        """Device B does ``action``; True when it was a real replay
        (which ends the person's every grant with the client)."""
        if action.startswith('exchange'):
            if action == 'exchange_again' and b['used_code']:
                code, verifier = b['used_code']
                resp = self.exchange(code, verifier, status='*')
                self.assertEqual(400, resp.status_int)
                return True
            code, verifier = self.code()
            if action == 'exchange_without_verifier':
                guessed, _ = s.pkce_pair()
                resp = self.exchange(code, guessed, status='*')
                self.assertEqual(400, resp.status_int)
                # Then the client's own exchange, below.
            elif action == 'exchange_expired':
                for _attempt in range(2):
                    self.assertEqual(400, self._expired(
                        code, verifier).status_int)
                return False
            body = self.exchange(code, verifier).json
            b.update(used_code=(code, verifier), live=body['refresh_token'])
            self.assertEqual(SCOPE, body['scope'])
            return False
        if b['live'] is None:
            return False
        if action in ('refresh', 'refresh_narrower'):
            extra = {'scope': 'openid'} if action == 'refresh_narrower' else {}
            resp = self._refresh(b['live'], **extra)
            self.assertEqual(200, resp.status_int, resp.body)
            self.assertEqual(extra.get('scope', SCOPE), resp.json['scope'])
            b['rotated'].append(b['live'])
            b['live'] = resp.json['refresh_token']
            return False
        if action == 'refresh_rotated' and b['rotated']:
            resp = self._refresh(b['rotated'][-1])
            self.assertEqual(400, resp.status_int)
            return True
        if action == 'revoke':
            self.app.post('/oidc/revoke', {'token': b['live']},
                          headers=s.basic(self.client_id, self.secret))
            b['revoked'], b['live'] = b['live'], None
            return False
        if action == 'refresh_revoked' and b.get('revoked'):
            self.assertEqual(400, self._refresh(b['revoked']).status_int)
        return False

    @hypothesis.given(actions=st.lists(st.sampled_from(ACTIONS),
                                       min_size=1, max_size=8))
    @SETTINGS
    def test_the_other_device_keeps_its_grant(self, actions):
        device_a = self.login()
        b = {'live': None, 'rotated': [], 'used_code': None}
        replayed = False
        for action in actions:
            replayed = self._step(action, b) or replayed
            if replayed:
                break
            # A's grant stands, and B's live refresh token (if any)
            # still has the whole grant's scope.
            resp = self._refresh(device_a['refresh_token'])
            self.assertEqual(200, resp.status_int, (actions, resp.body))
            device_a['refresh_token'] = resp.json['refresh_token']
            if b['live'] is not None:
                self.assertEqual(SCOPE, self.introspect(
                    b['live']).json.get('scope'), actions)
        resp = self._refresh(device_a['refresh_token'])
        self.assertEqual(400 if replayed else 200, resp.status_int,
                         (actions, resp.body))
