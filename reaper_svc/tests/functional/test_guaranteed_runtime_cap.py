"""``[preemption] max_guaranteed_runtime``: the longest guaranteed
runtime a pending request may ask for.

Servers under a guarantee are no victims: without the operator's limit
any project member could take room for 30 days.
"""

import copy
import datetime

from oslo_config import cfg
import testtools

from reaper_svc.conf import preemption as preemption_conf
from reaper_svc.db import guarantees as guarantees_db
from reaper_svc.db import pending as pending_db
from reaper_svc.tests.functional import base
from reaper_svc.tests.functional import test_promoter as tp
from svc_common.tests.fixtures import api as af

PHYSICS = af.identity(['member', 'reader'], 'physics', user_id='alice')
PHYSICS_ADMIN = af.identity(['admin', 'member', 'reader'], 'physics',
                            user_id='carol')
HOUR = 3600
DAYS_30 = 30 * 24 * HOUR


def body(min_runtime):
    request = {'servers': [dict(base.SERVER, count=1)]}
    if min_runtime != 'absent':
        request['min_runtime'] = min_runtime
    return request


class CapTestCase(testtools.TestCase):

    #: ``[preemption] max_guaranteed_runtime``; None: the default.
    CAP = None

    def setUp(self):
        super().setUp()
        overrides = {}
        if self.CAP is not None:
            overrides[('preemption', 'max_guaranteed_runtime')] = self.CAP
        self.reaper = self.useFixture(base.ReaperApp(overrides=overrides))
        self.app = self.reaper.app

    def submit(self, min_runtime, headers=PHYSICS, status=201):
        return self.app.post_json('/v1/pending', body(min_runtime),
                                  headers=headers, status=status)

    def queued(self):
        return self.app.get('/v1/pending', headers=PHYSICS).json['pending']


class TestDefaultCap(CapTestCase):

    def test_thirty_days_as_before(self):
        self.assertEqual(DAYS_30, self.submit(DAYS_30).json['pending'][
            'min_runtime'])
        self.submit(DAYS_30 + 1, status=400)
        self.assertEqual(1, len(self.queued()))


class TestOperatorCap(CapTestCase):

    CAP = 8 * HOUR

    def test_more_than_the_cap_is_refused_and_nothing_is_queued(self):
        for headers in (PHYSICS, PHYSICS_ADMIN):
            error = self.submit(8 * HOUR + 1, headers=headers,
                                status=400).json['errors'][0]
            self.assertEqual(
                ('preemption.min_runtime_too_long', 'min_runtime', 28800),
                (error['code'], error['field'], error['limit']))
            self.assertEqual(
                'Invalid field min_runtime: 28801 s is more than this '
                'cloud guarantees, at most 28800 s ([preemption] '
                'max_guaranteed_runtime).', error['detail'])
        self.assertEqual([], self.queued())

    def test_up_to_the_cap_and_none_are_taken(self):
        self.assertEqual(8 * HOUR, self.submit(8 * HOUR).json['pending'][
            'min_runtime'])
        self.assertIsNone(self.submit(None).json['pending']['min_runtime'])
        self.assertIsNone(self.submit('absent').json['pending'][
            'min_runtime'])


class TestNoGuarantee(CapTestCase):

    CAP = 0

    def test_every_guarantee_is_refused(self):
        error = self.submit(1, status=400).json['errors'][0]
        self.assertEqual('preemption.min_runtime_too_long', error['code'])
        self.assertIn('this cloud guarantees no runtime', error['detail'])
        self.submit('absent')
        self.assertEqual(1, len(self.queued()))


class TestOption(testtools.TestCase):

    def test_bounds(self):
        conf = cfg.ConfigOpts()
        preemption_conf.register_opts(conf)
        self.assertEqual(DAYS_30, conf.preemption.max_guaranteed_runtime)
        for wrong in (-1, DAYS_30 + 1):
            self.assertRaises(ValueError, conf.set_override,
                              'max_guaranteed_runtime', wrong, 'preemption')


class TestQueuedBeforeTheCapWasLowered(tp.PromoterTestBase):

    def test_built_with_the_guarantee_of_the_cap(self):
        self.use_cloud(copy.deepcopy(tp.full()[:2]))
        request = self.queue(count=1, min_runtime=2 * HOUR)
        self.engine.conf.set_override('max_guaranteed_runtime', 600,
                                      'preemption')
        self.assertEqual([request['id']], self.promoter.promote()['built'])
        [server] = pending_db.get_request(
            self.engine.db, self.ctx, request['id'])['server_ids']
        until = guarantees_db.current(self.engine.db, self.ctx)[server]
        self.assertEqual(self.now + datetime.timedelta(seconds=600), until)


class TestLoweredCapShortensRecordedGuarantees(tp.PromoterTestBase):
    """Lowering ``max_guaranteed_runtime`` holds the guarantees recorded
    before to it too: they are read clamped to their recording time plus
    the limit (a guarantee of 30 days, recorded under the old limit,
    kept its servers out of every preemption for 30 days)."""

    def test_a_recorded_guarantee_ends_at_the_lowered_cap(self):
        sim = self.use_cloud(copy.deepcopy(tp.full()[:2]))
        # The engine's clock is the database's here: a guarantee is
        # clamped from the time the database recorded it.
        self.now = guarantees_db.clock.database_now(self.engine.db,
                                                    self.ctx)
        request = self.queue(count=1, min_runtime=2 * HOUR)
        self.assertEqual([request['id']], self.promoter.promote()['built'])
        [server] = pending_db.get_request(
            self.engine.db, self.ctx, request['id'])['server_ids']
        source = guarantees_db.GuaranteeSource(self.engine.db, self.ctx,
                                               self.engine.conf)
        self.assertEqual(self.now + datetime.timedelta(hours=2),
                         source()[server])
        # The engine's driver reads them so.
        self.assertTrue(sim.has_guarantee_source)
        self.engine.conf.set_override('max_guaranteed_runtime', 600,
                                      'preemption')
        until = source()[server]
        database_now = guarantees_db.clock.database_now(self.engine.db,
                                                        self.ctx)
        self.assertLessEqual(until,
                             database_now + datetime.timedelta(seconds=600))
        self.assertIn(server, sim.guarantees())
        self.assertLessEqual(sim.guarantees()[server], until)
        # 0 ends every guarantee at once.
        self.engine.conf.set_override('max_guaranteed_runtime', 0,
                                      'preemption')
        self.assertNotIn(server, source())
        self.assertNotIn(server, sim.guarantees())
