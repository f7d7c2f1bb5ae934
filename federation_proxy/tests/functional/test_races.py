"""Two changes of the same object at once, on PostgreSQL.

Each test plays one side of the race itself, on a connection of its
own, as another API process would: it writes the competing change and
keeps its transaction open, starts the API request, waits until
PostgreSQL shows that request waiting for a lock, then commits.  The
request must then answer what it would have answered had it come
second (a 409 or a 404, never a 500), and leave the database as the
first change left it.
"""

import threading
import time

import sqlalchemy as sa

from federation_proxy.db import models
from federation_proxy.tests.functional import base
from svc_common.tests.fixtures import postgresql

_VOS = models.VirtualOrganisation.__table__
_MEMBERSHIPS = models.Membership.__table__
_REQUESTS = models.MembershipRequest.__table__
_USERS = models.User.__table__
_IDENTITIES = models.Identity.__table__


class TestRacesOnPostgreSQL(base.FederationTestCase):

    def setUp(self):
        self.url = self.useFixture(postgresql.Database()).url
        self.OVERRIDES = {('database', 'connection'): self.url}
        super().setUp()
        self.engine = sa.create_engine(self.url)
        self.addCleanup(self.engine.dispose)

    def _waiting_for_a_lock(self):
        with self.engine.connect() as look:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if look.exec_driver_sql(
                        'SELECT count(*) FROM pg_locks '
                        'WHERE NOT granted').scalar():
                    return
                time.sleep(0.05)
        self.fail('the request never waited for the other transaction')

    def _race(self, first, second):
        """Run ``first(connection)`` in an open transaction, start
        ``second()``, commit ``first`` once ``second`` waits for it;
        returns what ``second`` returned."""
        answers = []

        def run():
            try:
                answers.append(second())
            except Exception as exc:  # the test reports it
                answers.append(exc)

        with self.engine.connect() as holder:
            with holder.begin():
                first(holder)
                thread = threading.Thread(target=run)
                thread.start()
                self.addCleanup(thread.join, 60)
                self._waiting_for_a_lock()
        thread.join(60)
        self.assertEqual(1, len(answers), 'the request did not finish')
        if isinstance(answers[0], Exception):
            raise answers[0]
        return answers[0]

    def _request(self, method, path, body=None, headers=base.ADMIN):
        return lambda: self.app.request(
            path, method=method, headers=dict(headers, **{
                'Content-Type': 'application/json'}),
            body=b'' if body is None else self.app.JSONEncoder().encode(
                body).encode('utf-8'), expect_errors=True)

    def assertError(self, status, code, resp):
        self.assertEqual(status, resp.status_int, resp.body)
        self.assertEqual('federation.' + code,
                         resp.json['errors'][0]['code'])

    def _rows(self, table, **where):
        with self.engine.connect() as conn:
            return conn.execute(sa.select(table).where(*[
                table.c[name] == value
                for name, value in where.items()])).all()

    def test_creating_a_vo_another_transaction_is_creating(self):
        def other_creates(conn):
            conn.execute(_VOS.insert(), {'id': 'other', 'name': 'astro'})

        resp = self._race(other_creates, self._request(
            'POST', '/v1/vos', {'name': 'astro', 'managers': []}))
        self.assertError(409, 'vo_exists', resp)
        self.assertEqual(['other'],
                         [r.id for r in self._rows(_VOS, name='astro')])

    def test_adding_a_membership_another_transaction_is_adding(self):
        self.add_person('bob')
        vo = self.make_vo('astro')
        group = self.app.get('/v1/vos/%s/groups' % vo['id'],
                             headers=base.ADMIN).json['groups'][0]

        def other_adds(conn):
            conn.execute(_MEMBERSHIPS.insert(), {
                'id': 'other', 'vo_id': vo['id'], 'group_id': group['id'],
                'user_id': 'bob', 'role': 'member', 'status': 'active'})

        resp = self._race(other_adds, self._request(
            'POST', '/v1/vos/%s/memberships' % vo['id'],
            {'user_id': 'bob', 'role': 'member'}))
        self.assertError(409, 'membership_exists', resp)
        self.assertEqual(['other'], [
            r.id for r in self._rows(_MEMBERSHIPS, user_id='bob')])
        self.assertEqual([], self.notifier.events())
