"""Kafka I/O shared by the landing consumer, the ingest endpoint, the demo and the benchmark."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaException, Producer, TopicCollection, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from billing.ports import BrokerUnavailable
from billing.settings import Settings


class KafkaUnavailable(BrokerUnavailable):
    """The broker could not be reached or refused the request."""


@dataclass(frozen=True)
class PartitionState:
    partition: int
    low: int
    high: int


@dataclass(frozen=True)
class TopicState:
    topic: str
    topic_id: str | None
    partitions: tuple[PartitionState, ...]

    @property
    def end_offsets(self) -> dict[int, int]:
        return {p.partition: p.high for p in self.partitions}


def admin_client(settings: Settings) -> AdminClient:
    return AdminClient(settings.kafka_client_config())


def ensure_topics(settings: Settings, timeout: float = 15.0) -> None:
    """Create the usage and billing-events topics if they do not exist."""
    admin = admin_client(settings)
    try:
        existing = set(admin.list_topics(timeout=timeout).topics)
    except KafkaException as exc:
        raise KafkaUnavailable(
            f"cannot reach Kafka at {settings.kafka_bootstrap_servers}: {exc}"
        ) from exc
    wanted = [
        NewTopic(settings.usage_topic, num_partitions=settings.usage_topic_partitions),
        NewTopic(settings.billing_events_topic, num_partitions=1),
    ]
    missing = [t for t in wanted if t.topic not in existing]
    if not missing:
        return
    for topic, future in admin.create_topics(missing, operation_timeout=timeout).items():
        try:
            future.result(timeout)
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise KafkaUnavailable(f"cannot create topic {topic}: {exc}") from exc


def topic_state(settings: Settings, topic: str, timeout: float = 10.0) -> TopicState:
    """Partitions, low/high watermarks and the topic id (which changes if it is recreated)."""
    admin = admin_client(settings)
    try:
        description = admin.describe_topics(TopicCollection([topic]))[topic].result(timeout)
    except KafkaException as exc:
        raise KafkaUnavailable(f"cannot describe topic {topic!r}: {exc}") from exc
    topic_id = str(description.topic_id) if description.topic_id else None
    consumer = Consumer(
        settings.kafka_client_config(
            **{"group.id": "billing-watermarks", "enable.auto.commit": False}
        )
    )
    try:
        partitions = []
        for p in sorted(description.partitions, key=lambda x: x.id):
            low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, p.id), timeout=timeout, cached=False
            )
            partitions.append(PartitionState(p.id, low, high))
    except KafkaException as exc:
        raise KafkaUnavailable(f"cannot read offsets of {topic!r}: {exc}") from exc
    finally:
        consumer.close()
    return TopicState(topic, topic_id, tuple(partitions))


class EventProducer:
    """A thread-safe idempotent producer that waits for acknowledgement of each batch."""

    def __init__(self, settings: Settings):
        self.timeout = settings.kafka_produce_timeout_seconds
        self._producer = Producer(
            settings.kafka_client_config(
                **{
                    "enable.idempotence": True,
                    "acks": "all",
                    "linger.ms": 5,
                    "compression.type": "lz4",
                    "message.timeout.ms": int(settings.kafka_produce_timeout_seconds * 1000),
                }
            )
        )
        self._lock = threading.Lock()

    def send(
        self,
        topic: str,
        messages: list[tuple[bytes | None, bytes]],
        timeout: float | None = None,
    ):
        """Produce ``(key, value)`` messages; raise :class:`KafkaUnavailable` unless all are
        acknowledged."""
        timeout = self.timeout if timeout is None else timeout
        errors: list[str] = []

        def on_delivery(err, _msg):
            if err is not None:
                errors.append(str(err))

        with self._lock:
            for key, value in messages:
                while True:
                    try:
                        self._producer.produce(topic, value=value, key=key, on_delivery=on_delivery)
                        break
                    except BufferError:
                        self._producer.poll(0.05)
            remaining = self._producer.flush(timeout)
        if remaining:
            raise KafkaUnavailable(
                f"{remaining} message(s) not acknowledged by Kafka in {timeout}s"
            )
        if errors:
            raise KafkaUnavailable(f"Kafka refused {len(errors)} message(s): {errors[0]}")

    def close(self) -> None:
        self._producer.flush(5)


def produce_messages(settings, messages, batch_size: int = 50_000) -> int:
    """Produce ``(key, value)`` messages (e.g. a synthetic plan's ``generate(plan)``) to the
    usage topic in batches; return how many were sent."""
    producer = EventProducer(settings)
    sent, batch = 0, []
    try:
        for message in messages:
            batch.append(message)
            if len(batch) >= batch_size:
                producer.send(settings.usage_topic, batch)
                sent, batch = sent + len(batch), []
        if batch:
            producer.send(settings.usage_topic, batch)
            sent += len(batch)
    finally:
        producer.close()
    return sent
