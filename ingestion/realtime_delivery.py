"""The notification worker of the ``billing realtime`` process, and that process: the consumer
plus the worker."""

from __future__ import annotations

import logging
import threading

from adapters.kafka import EventProducer
from adapters.webhooks import http_post
from billing.control_plane.db import session_factory
from billing.rules.events import utc_now
from billing.services.alerts import deliver_due
from billing.settings import Settings
from ingestion.realtime_consumer import RealtimeConsumer

log = logging.getLogger(__name__)


class DeliveryWorker:
    """Sends due notifications every ``interval`` seconds until stopped (a thread)."""

    def __init__(self, settings: Settings, interval: float = 0.5, clock=utc_now):
        self.settings = settings
        self.interval = interval
        self.clock = clock
        self._producer: EventProducer | None = None

    def _publish(self, messages) -> None:
        if self._producer is None:
            self._producer = EventProducer(self.settings)
        self._producer.send(self.settings.billing_events_topic, list(messages))

    def run_once(self) -> dict[str, int]:
        return deliver_due(
            self.settings, session_factory(self.settings), self.clock(), self._publish, http_post
        )

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - logged, the next pass retries
                log.exception("notification delivery pass failed")
            stop.wait(self.interval)
        if self._producer is not None:
            self._producer.close()


def run_realtime(settings: Settings, stop: threading.Event) -> None:
    """The ``billing realtime`` process: the consumer plus the delivery worker."""
    worker = DeliveryWorker(settings)
    thread = threading.Thread(target=worker.run, args=(stop,), name="delivery", daemon=True)
    thread.start()
    try:
        RealtimeConsumer(settings).run(stop)
    finally:
        stop.set()
        thread.join(timeout=10)
