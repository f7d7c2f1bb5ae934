"""svc_common.messaging.redelivery: a notification the database fails is
requeued after a delay, not at once, and its id is not remembered."""

import time

import fixtures
from oslo_db import exception as db_exc
import oslo_messaging
import sqlalchemy.exc
import testtools

from svc_common.messaging import idempotency
from svc_common.messaging import redelivery

REQUEUE = oslo_messaging.NotificationResult.REQUEUE
HANDLED = oslo_messaging.NotificationResult.HANDLED


def _refused():
    return sqlalchemy.exc.OperationalError(
        None, None, Exception('FATAL:  database "x" is not currently '
                              'accepting connections\n(more)'))


class DownStore(idempotency.InMemoryProcessedMessages):
    """A store kept in a database that refuses connections until
    ``down`` is cleared."""

    down = True

    def claim(self, message_id):
        if self.down:
            raise _refused()
        return super().claim(message_id)


class Endpoint(object):

    redelivery_delay = 0.2

    def __init__(self, error=None):
        self.processed = DownStore()
        self.error = error
        self.handled = []

    @redelivery.later_on_database_failure('redelivery_delay')
    @idempotency.handle_once('processed')
    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        if self.error is not None:
            raise self.error
        self.handled.append(payload)
        return HANDLED


def deliver(endpoint, payload='p', message_id='m-1'):
    return endpoint.info({}, 'nova', 'instance.update', payload,
                         {'message_id': message_id})


class TestLaterOnDatabaseFailure(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger())

    def test_a_failing_store_requeues_after_the_delay(self):
        endpoint = Endpoint()
        start = time.monotonic()
        self.assertEqual(REQUEUE, deliver(endpoint))
        self.assertGreaterEqual(time.monotonic() - start, 0.2)
        self.assertIn('A instance.update notification was not handled, '
                      'the database failed (FATAL:  database "x" is not '
                      'currently accepting connections); it is delivered '
                      'again in 0.2 s', self.log.output)
        self.assertNotIn('Traceback', self.log.output)
        # The database is back: the redelivery is handled.
        endpoint.processed.down = False
        self.assertEqual(HANDLED, deliver(endpoint))
        self.assertEqual(['p'], endpoint.handled)

    def test_a_handler_the_database_fails_is_not_remembered(self):
        endpoint = Endpoint(db_exc.DBConnectionError(_refused()))
        endpoint.processed.down = False
        self.assertEqual(REQUEUE, deliver(endpoint))
        self.assertEqual(0, len(endpoint.processed))
        self.assertNotIn('Traceback', self.log.output)

    def test_a_refused_statement_is_requeued_later_with_a_traceback(self):
        refused = db_exc.DBDataError(sqlalchemy.exc.DataError(
            'INSERT', {}, Exception('value too long')))
        endpoint = Endpoint(refused)
        endpoint.processed.down = False
        self.assertEqual(REQUEUE, deliver(endpoint))
        self.assertIn('the database refused a statement', self.log.output)
        self.assertIn('Traceback', self.log.output)

    def test_other_errors_are_not_caught(self):
        endpoint = Endpoint(ValueError('a bug'))
        endpoint.processed.down = False
        self.assertRaises(ValueError, deliver, endpoint)

    def test_a_batch_is_named_by_its_size(self):
        class Batch(object):
            @redelivery.later_on_database_failure(0)
            def info(self, messages):
                raise _refused()

        self.assertEqual(REQUEUE, Batch().info([{}, {}, {}]))
        self.assertIn('A batch of 3 notifications was not handled',
                      self.log.output)
