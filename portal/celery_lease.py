"""A worker renews its lease on the Redis messages it holds, so only a dead worker's come back.

kombu's Redis transport emulates acknowledgements: a message a worker took is kept in the
``unacked`` hash, indexed by the time it was taken, until the worker acknowledges it (with
``CELERY_TASK_ACKS_LATE``: once its task has finished). Any worker puts a message that has
been waiting longer than ``visibility_timeout`` back into its queue. That is how a SIGKILLed
worker's tasks are delivered again, but kombu cannot tell a dead holder from a slow one: a task
running longer than the timeout, or a retry waiting for its countdown in a worker's memory
(an ETA), would be delivered a second time while its worker is alive and well.

So every worker moves the index time of each message it still holds to "now", four times per
``visibility_timeout``. A message then waits past the timeout only when its worker stopped
renewing it: the worker died (or its event loop was stuck for that long). That makes a
timeout of seconds safe (the demo's: ``CELERY_VISIBILITY_TIMEOUT`` in scripts/start_demo.py).

kombu keeps what a channel holds in ``QoS._delivered`` (no public accessor): the renewal reads
it and updates only index entries that still exist (``ZADD XX``), so a message acknowledged or
restored meanwhile is never brought back. Other transports are left alone.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import bootsteps

logger = logging.getLogger(__name__)

# Renewals per visibility timeout: a worker can miss three in a row and keep its messages.
RENEWALS_PER_TIMEOUT = 4


def held_messages(consumer: Any) -> tuple[Any, list[str]]:
    """(the Redis channel of the worker's task consumer, the delivery tags it has not acked),
    or (None, []) on another transport or before the consumer is connected."""
    channel = getattr(getattr(consumer, "task_consumer", None), "channel", None)
    qos = getattr(channel, "qos", None)
    if channel is None or not hasattr(channel, "unacked_index_key") or qos is None:
        return None, []
    delivered = getattr(qos, "_delivered", None) or {}
    acked = getattr(qos, "_dirty", None) or set()
    return channel, [tag for tag in list(delivered) if tag not in acked]


def renew_leases(consumer: Any) -> int:
    """Mark the messages this worker holds as taken now; how many index entries were renewed."""
    channel, tags = held_messages(consumer)
    if channel is None or not tags:
        return 0
    now = time.time()
    try:
        with channel.conn_or_acquire() as client:
            # XX: only entries still there; CH: count the changed ones (all of them, as `now`
            # moved on), which the tests read.
            renewed: int = client.zadd(
                channel.unacked_index_key, dict.fromkeys(tags, now), xx=True, ch=True
            )
    except channel.connection_errors:
        # The broker is away; kombu reconnects. Missing a renewal or two is what the margin of
        # RENEWALS_PER_TIMEOUT is for.
        logger.warning("could not renew the lease on %d held messages", len(tags))
        return 0
    return renewed


def renewal_interval(transport_options: dict[str, Any]) -> float | None:
    """Seconds between renewals, from the broker's visibility timeout; None: no timeout set."""
    timeout = transport_options.get("visibility_timeout")
    if not timeout:
        return None
    return max(0.25, float(timeout) / RENEWALS_PER_TIMEOUT)


class RenewLeases(bootsteps.StartStopStep):
    """The consumer's step that renews the leases on a timer of the worker's event loop (the
    thread that also takes and acknowledges messages, so no lock is needed)."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.timer_entry: Any = None

    def start(self, parent: Any) -> None:
        interval = renewal_interval(parent.app.conf.broker_transport_options or {})
        if interval is None or parent.timer is None or self.timer_entry is not None:
            return
        self.timer_entry = parent.timer.call_repeatedly(interval, renew_leases, (parent,))

    def stop(self, parent: Any) -> None:
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None

    def shutdown(self, parent: Any) -> None:
        self.stop(parent)
