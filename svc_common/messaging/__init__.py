"""The AMQP bus as Arbiter services use it.

:mod:`~svc_common.messaging.bus` builds transports, notifiers and listeners
from an explicit ``ConfigOpts``; :mod:`~svc_common.messaging.idempotency`
makes listener endpoints safe against redelivery;
:mod:`~svc_common.messaging.redelivery` requeues after a delay what the
database failed;
:mod:`~svc_common.messaging.routing_notifier` is the ``arbiter-routing``
notification driver that Nova loads to route events to Arbiter's topics.
"""
