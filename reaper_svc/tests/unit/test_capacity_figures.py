"""The figures of GET /v1/capacity are read from the cloud at most once
every [preemption] capacity_max_age seconds, whoever asks."""

import threading

import testtools

from reaper_svc.api import capacity
from reaper_svc.drivers import base


class _Cloud(object):
    """Counts its reads; fails while ``failing``."""

    def __init__(self):
        self.reads = 0
        self.failing = False

    def aggregates(self):
        return {'batch': frozenset(['cmp1'])}

    def capacity(self):
        if self.failing:
            raise base.DriverError('Placement: HTTP 503')
        self.reads += 1
        return {'batch': {'VCPU': {'total': 8, 'used': self.reads,
                                   'preemptible': 0, 'free': 0}}}


class TestCapacityFigures(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.cloud = _Cloud()
        self.now = 100.0

    def figures(self, max_age):
        return capacity.CapacityFigures(self.cloud, max_age,
                                        clock=lambda: self.now)

    def used(self, figures):
        return figures.get()[1]['batch']['VCPU']['used']

    def test_read_again_once_max_age_has_passed(self):
        figures = self.figures(10)
        self.assertEqual([1, 1], [self.used(figures) for _ in range(2)])
        self.now += 9.9
        self.assertEqual(1, self.used(figures))
        self.now += 0.1
        self.assertEqual(2, self.used(figures))
        self.assertEqual(2, self.cloud.reads)

    def test_zero_reads_at_every_call(self):
        figures = self.figures(0)
        self.assertEqual([1, 2, 3], [self.used(figures) for _ in range(3)])

    def test_a_failed_read_is_not_kept(self):
        figures = self.figures(10)
        self.used(figures)
        self.now += 10
        self.cloud.failing = True
        self.assertRaises(base.DriverError, figures.get)
        self.assertRaises(base.DriverError, figures.get)
        self.cloud.failing = False
        self.assertEqual(2, self.used(figures))

    def test_callers_at_once_share_one_read(self):
        figures = self.figures(10)
        answers = []
        threads = [threading.Thread(target=lambda: answers.append(
            self.used(figures))) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(([1] * 8, 1), (answers, self.cloud.reads))

    def test_one_per_driver_and_max_age(self):
        first = capacity.figures_of(self.cloud, 10)
        self.assertIs(first, capacity.figures_of(self.cloud, 10))
        self.assertIsNot(first, capacity.figures_of(_Cloud(), 10))
        self.assertEqual(5, capacity.figures_of(self.cloud, 5).max_age)
