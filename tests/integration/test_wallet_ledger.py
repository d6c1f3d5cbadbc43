"""The wallet ledger finalization writes (billing.rules.wallet_ledger) on a real DuckDB
warehouse: consumption once per invoice, reversal of a voided invoice, breakage once."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal as D

from adapters.warehouse.connection import Warehouse
from billing.rules import wallet_ledger

NOW = datetime(2026, 10, 2)
INVOICE = {
    "invoice_id": "inv_1",
    "tenant_id": "t1",
    "currency": "USD",
    "period_end": date(2026, 10, 1),
    "total_amount": D("12.00"),
}


def entries(con) -> list[tuple]:
    rows = con.fetchall(
        "select entry_id, grant_id, amount from raw.wallet_ledger_entries order by entry_id"
    )
    return [(e, g, D(a)) for e, g, a in rows]


def test_consumption_reversal_and_breakage(settings):
    warehouse = Warehouse(settings)
    with warehouse.connection() as con:
        warehouse.ensure_schema(con)
        con.execute("create table raw.control_wallets (id bigint, name varchar, priority bigint)")
        con.execute("insert into raw.control_wallets values (1, 'promo', 1), (2, 'main', 2)")
        con.execute(
            "create table raw.control_wallet_grants (id bigint, wallet_id bigint, "
            "tenant_id varchar, currency varchar, amount decimal(38, 12), "
            "granted_at timestamp, expires_at timestamp)"
        )
        con.execute(
            "insert into raw.control_wallet_grants values "
            "(10, 1, 't1', 'USD', 5, '2026-09-01', '2026-10-15'), "
            "(11, 2, 't1', 'USD', 20, '2026-09-01', null)"
        )
        con.execute("create table raw.control_invoice_voids (invoice_id varchar)")
        assert wallet_ledger.has_wallets(con)

        def finalize(invoice: dict, now: datetime) -> list:
            wallet_ledger.record_reversals(con, now)
            balances = wallet_ledger.load_balances(con)
            paid = wallet_ledger.consume(
                con, balances, invoice, wallet_ledger.wallet_names(con), now
            )
            wallet_ledger.record_breakage(con, balances, now)
            return paid

        # 12.00: promo's 5 first, then 7 of main's 20.
        assert finalize(INVOICE, NOW) == [
            (1, "Wallet promo applied", D("5")),
            (2, "Wallet main applied", D("7.00")),
        ]
        consumed = [
            ("consumption|inv_1|10", 10, D("-5")),
            ("consumption|inv_1|11", 11, D("-7")),
        ]
        assert entries(con) == consumed
        # The same invoice again (a re-run): the ids collide, nothing is appended twice.
        wallet_ledger.consume(
            con,
            wallet_ledger.load_balances(con) | {("t1", "USD"): []},
            INVOICE,
            {},
            NOW,
        )
        assert entries(con) == consumed

        # Voided: the next run gives both back; the re-issue (8.00) burns promo again.
        con.execute("insert into raw.control_invoice_voids values ('inv_1')")
        reissue = {**INVOICE, "invoice_id": "inv_2", "total_amount": D("8.00")}
        assert finalize(reissue, NOW) == [
            (1, "Wallet promo applied", D("5")),
            (2, "Wallet main applied", D("3.00")),
        ]
        assert entries(con) == consumed + [
            ("consumption|inv_2|10", 10, D("-5")),
            ("consumption|inv_2|11", 11, D("-3")),
            ("reversal|consumption|inv_1|10", 10, D("5")),
            ("reversal|consumption|inv_1|11", 11, D("7")),
        ]
        # After promo's expiry nothing of it is left to break; a later reversal of inv_2
        # gives promo 5 back, which breaks at once (the second breakage of grant 10).
        assert finalize({**INVOICE, "total_amount": D("0")}, datetime(2026, 10, 20)) == []
        con.execute("insert into raw.control_invoice_voids values ('inv_2')")
        finalize({**INVOICE, "total_amount": D("0")}, datetime(2026, 10, 21))
        assert entries(con)[:1] == [("breakage|10|2", 10, D("-5"))]
        left = {g.grant_id: g.remaining for g in wallet_ledger.load_balances(con)[("t1", "USD")]}
        assert left == {10: D("0"), 11: D("20")}
