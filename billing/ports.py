"""The interfaces the domain core defines and its adapters implement.

The core never imports an adapter: a service that needs the warehouse, the serving snapshot, a
message broker or the payment provider takes one of these as an argument; the composition roots
(the API's dependencies, the Dagster resources, the CLI) pass the real adapter
(``adapters.warehouse``, ``adapters.kafka``, ``adapters.stripe``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

# (name, duckdb type, postgres type) of a column.
ColumnTypes = Sequence[tuple[str, str, str]]


class WarehouseConnection(ABC):
    """A connection with explicit transactions and ``:name`` parameters."""

    kind: str

    @abstractmethod
    def execute(self, sql: str, params: dict[str, Any] | None = None) -> int:
        """Run a statement; return the affected row count where the driver reports one."""

    @abstractmethod
    def fetchall(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple]: ...

    def fetchone(self, sql: str, params: dict[str, Any] | None = None) -> tuple | None:
        rows = self.fetchall(sql, params)
        return rows[0] if rows else None

    @abstractmethod
    def load_temp_table(self, name: str, columns: ColumnTypes, data: Any) -> None:
        """Create (or replace) a temporary table ``name`` holding ``data`` (a dict of column
        lists or an Arrow table) with the given column types."""

    @abstractmethod
    def begin(self) -> None: ...

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def rollback(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    @contextmanager
    def transaction(self) -> Iterator[WarehouseConnection]:
        self.begin()
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        self.commit()

    def table_exists(self, schema: str, table: str) -> bool:
        row = self.fetchone(
            "select count(*) from information_schema.tables "
            "where table_schema = :schema and table_name = :table",
            {"schema": schema, "table": table},
        )
        return bool(row and row[0])

    def list_tables(self, schema: str) -> list[str]:
        rows = self.fetchall(
            "select table_name from information_schema.tables where table_schema = :schema "
            "and table_type = 'BASE TABLE' order by table_name",
            {"schema": schema},
        )
        return [r[0] for r in rows]


class NoSnapshot(LookupError):
    """Nothing has been published yet."""


class MissingTable(LookupError):
    pass


class MartReader(Protocol):
    """Reads the published marts (``adapters.warehouse.serving.ServingReader``): ``{table}`` in
    the SQL names a mart of the current snapshot."""

    def query(self, sql: str, params: dict[str, Any] | None = None) -> tuple[list[dict], Any]: ...

    def close(self) -> None: ...


class BrokerUnavailable(RuntimeError):
    """The message broker could not be reached or refused the request."""


class MessageProducer(Protocol):
    """Sends ``(key, value)`` messages to a topic (``adapters.kafka.EventProducer``); raises
    :class:`BrokerUnavailable` when the broker is down."""

    def send(
        self, topic: str, messages: Iterable[tuple[bytes, bytes]], timeout: float | None = None
    ) -> Any: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class IntentResult:
    payment_intent_id: str | None
    status: str | None  # the provider's PaymentIntent status
    failure_code: str | None = None
    failure_message: str | None = None


class PaymentGateway(Protocol):
    """The payment provider (``adapters.stripe.gateway.StripeGateway``)."""

    def find_customer(self, tenant_id: str) -> str | None: ...

    def create_customer(self, tenant_id: str, name: str | None, email: str | None) -> str: ...

    def default_payment_method(self, customer_id: str) -> str | None: ...

    def create_payment_intent(self, *args: Any, **kwargs: Any) -> IntentResult: ...

    def find_payment_intent(self, *args: Any, **kwargs: Any) -> IntentResult | None: ...

    def retrieve_payment_intent(self, payment_intent_id: str) -> dict: ...
