"""Property-based runs of the image family service's server counts: Nova
notifications of random servers' lives (created on an image, rebuilt
onto others, deleted), delivered in any order and some twice
(redeliveries, two engine hosts of one pool), each with the time Nova
sent it.  Once all are delivered, no image counts fewer servers than
run from it, and asking for the deletion of every image deletes none
that a running server uses (it waits, ``pending_delete``)."""

import datetime
import os

import fixtures
import hypothesis
from hypothesis import strategies as st
import testtools

from image_family_svc.db import families
from image_family_svc.db import members
from image_family_svc.db import usage
from image_family_svc import lifecycle as lc
from image_family_svc import listeners
from image_family_svc import service
from svc_common import context
from svc_common.db import migration
from svc_common.tests.fixtures import backends

IMAGES = ['img-%d' % n for n in range(4)]
T0 = datetime.datetime(2030, 1, 1, 12, 0, 0)


@st.composite
def lives(draw):
    """The notifications of 1 to 4 servers' lives, in the order Nova sent
    them: ``(kind, server, image, sent)``."""
    sent = []
    clock = [T0]

    def tick():
        clock[0] += datetime.timedelta(seconds=draw(st.integers(1, 600)))
        return clock[0]

    for n in range(draw(st.integers(1, 4))):
        server = 'vm-%d' % n
        sent.append(('create', server, draw(st.sampled_from(IMAGES)),
                     tick()))
        for _ in range(draw(st.integers(0, 3))):
            sent.append(('rebuild', server, draw(st.sampled_from(IMAGES)),
                         tick()))
        if draw(st.booleans()):
            sent.append(('delete', server, None, tick()))
    sent.sort(key=lambda event: event[3])
    return sent


def running(sent):
    """``{image: servers}`` that run from each image once every
    notification of ``sent`` happened."""
    where = {}
    for kind, server, image, _at in sent:
        if kind == 'delete':
            where.pop(server, None)
        else:
            where[server] = image
    counts = {}
    for image in where.values():
        counts[image] = counts.get(image, 0) + 1
    return counts


class TestServerCounts(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.ctx = context.admin_context()
        self.runs = 0

    def fresh_database(self):
        self.runs += 1
        url = 'sqlite:///%s' % os.path.join(self.tmp,
                                            'run-%d.db' % self.runs)
        migration.upgrade(service.SPEC, url)
        db = backends.database_at(self, url)
        families.create_family(db, self.ctx, 'fam', None, 'public', {})
        for image in IMAGES:
            members.join(db, self.ctx, 'fam', image, image[-1], {},
                         state=lc.ACTIVE)
        return db

    @hypothesis.settings(max_examples=60, deadline=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(lives(), st.data())
    def test_counts_and_deletions(self, sent, data):
        db = self.fresh_database()
        # Delivered in any order, some twice (with the same message id).
        delivery = data.draw(st.permutations(
            list(range(len(sent))) + data.draw(st.lists(
                st.integers(0, len(sent) - 1), max_size=4))))
        for index in delivery:
            kind, server, image, at = sent[index]
            metadata = {'message_id': 'm-%d' % index,
                        'timestamp': at.isoformat(' ')}
            stamp = listeners.sent_at(metadata)
            if kind == 'create':
                usage.server_created(db, self.ctx, server, image, 'nova',
                                     metadata['message_id'], sent_at=stamp)
            elif kind == 'rebuild':
                usage.server_rebuilt(db, self.ctx, server, image, 'nova',
                                     metadata['message_id'], sent_at=stamp)
            else:
                usage.server_deleted(db, self.ctx, server, 'nova',
                                     metadata['message_id'])
        truth = running(sent)
        for image in IMAGES:
            counted, _at = usage.servers_of(db, self.ctx, image)
            self.assertGreaterEqual(counted, truth.get(image, 0), image)
            members.request_transition(db, self.ctx, image, lc.OBSOLETE)
            _scheduled, _events = members.request_transition(
                db, self.ctx, image, lc.DELETED)
            state = members.get_image(db, self.ctx, image).row.state
            if truth.get(image):
                self.assertEqual(lc.PENDING_DELETE, state, image)
