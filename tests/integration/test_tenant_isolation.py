"""Standing check: tenant isolation on every operation of the OpenAPI document.

Two tenants, A and B, each with one resource of every tenant-owned kind (key, subscription,
quota, budget, milestone, credit, alert, Stripe customer, cost center, invoices and usage in a
published serving snapshot); then, for every operation the document lists:

- no key and every kind of wrong key get 401 (except the public routes in ``PUBLIC``);
- admin-only operations (the ``require_admin`` dependency) refuse A's key with 403;
- A's key against B's resource (by id or tenant id in the path, by ``tenant_id`` filter) gets
  403 or 404 naming nobody, and nothing in the control plane changes;
- A's own reads succeed and never contain B's rows.

The operations are read from ``app.openapi()``: a new route is checked the day it is added,
and one with a path parameter, a required query parameter or a tenant-key write this file
does not know how to fill fails with a message saying which table to extend.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from adapters.warehouse.connection import Warehouse
from adapters.warehouse.serving import ServingReader, publish_snapshot
from api.deps import require_admin
from api.main import API_PREFIX
from billing.control_plane.db import get_engine
from billing.control_plane.models import Base
from billing.rules.events import utc_now
from tests.conftest import ADMIN_KEY
from tests.integration.tenant_world import ADMIN, OWNED, Tenant, World, admin_post, build_world

# Operations that need no key, and why.
PUBLIC = {
    ("POST", "/stripe/webhooks"): "Stripe calls it; its signature is the authentication",
}

# Path parameters: the resource each one names, by name, and for a resource's own `{code}` or
# `{key}`, by the collection it is in. Kinds in OWNED belong to a tenant (filled with B's for
# the attack, A's for the own read); the others are shared by all tenants.
PATH_PARAMS = {
    "tenant_id": "tenant",
    "quota_id": "quota",
    "key_id": "api_key",
    "subscription_id": "subscription",
    "invoice_id": "invoice",
    "milestone_id": "milestone",
    "rule_id": "rule",
    "version": "plan_version",
    "wallet_id": "wallet",
    "contract_id": "contract",
}
CODES = {
    "/meters/": "meter",
    "/plans/": "plan",
    "/coupons/": "coupon",
    "/tax-rates/": "tax_rate",
    "/cost-centers/": "cost_center",
}
# Optional query filters naming a tenant-owned resource: A's key filtering by B's gets no row.
OWNED_FILTERS = {"subscription_id": "subscription"}

# Required query parameters other than tenant_id: a valid value.
REQUIRED_QUERY = {"meter": "calls"}

# Operations a tenant key may call with a body, and why that cannot touch another tenant (the
# ingest attempt on B is in ``_attack_body``: refused per event, 422 when none is valid).
TENANT_WRITES = {
    ("POST", "/usage"): "per-event: another tenant's subject is rejected as forbidden_tenant",
    ("POST", "/pricing/calculate"): "a calculation: no tenant data read or written",
    ("POST", "/pricing/quote"): "a calculation: no tenant data read or written",
}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def world(request, broker, tmp_path_factory, postgres_available) -> Iterator[World]:
    """Built once per control-plane database for the module: the tests only read it or
    check that their refused attempts changed nothing."""
    data_dir = tmp_path_factory.mktemp("isolation")
    with build_world(request.param, broker, data_dir, postgres_available) as built:
        yield built


@dataclass
class Operation:
    method: str
    path: str  # without the API prefix
    route: object  # an APIRoute, or its context in the router that includes it
    spec: dict

    @property
    def admin_only(self) -> bool:
        return _needs(self.route.dependant, require_admin)

    def query_names(self, where: str = "query", required: bool | None = None) -> set[str]:
        return {
            p["name"]
            for p in self.spec.get("parameters", [])
            if p["in"] == where and (required is None or p.get("required", False) == required)
        }

    def path_kinds(self) -> dict[str, str | None]:
        """Each path parameter and the kind of resource it names (None: not known)."""
        code = next((k for prefix, k in CODES.items() if self.path.startswith(prefix)), None)
        own = {"code": code, "key": code}  # a resource's own code or key
        return {n: PATH_PARAMS.get(n, own.get(n)) for n in self.query_names("path")}

    def url(self, world: World, owner: Tenant, tenant_filter: str | None = None) -> str:
        path = self.path
        for name, kind in self.path_kinds().items():
            path = path.replace("{" + name + "}", world.value(kind, owner))
        query = {n: REQUIRED_QUERY[n] for n in self.query_names(required=True) if n != "tenant_id"}
        wanted = tenant_filter is not None or "tenant_id" in self.query_names(required=True)
        if wanted and "tenant_id" in self.query_names():
            query["tenant_id"] = tenant_filter or owner.tenant_id
        suffix = "&".join(f"{k}={v}" for k, v in sorted(query.items()))
        return f"{API_PREFIX}{path}" + (f"?{suffix}" if suffix else "")

    def attacks(self, world: World, target: Tenant) -> list[str]:
        """URLs by which A's key reaches ``target``: its ids in the path, its tenant filter."""
        urls = []
        if self.targets_owned():
            urls.append(self.url(world, target))
        if "tenant_id" in self.query_names():
            urls.append(self.url(world, world.a, tenant_filter=target.tenant_id))
        return urls

    def targets_owned(self) -> bool:
        return any(kind in OWNED for kind in self.path_kinds().values())


def _needs(dependant, call) -> bool:
    return any(d.call is call or _needs(d, call) for d in dependant.dependencies)


def _api_routes(app) -> list:
    """The app's API routes with their full paths and effective dependencies."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI without included-router contexts: routes are flat
        return [r for r in app.routes if isinstance(r, APIRoute)]
    return [c for c in iter_route_contexts(app.routes) if isinstance(c.original_route, APIRoute)]


def operations(app) -> list[Operation]:
    routes = {
        (method, route.path_format): route for route in _api_routes(app) for method in route.methods
    }
    ops = []
    for path, items in app.openapi()["paths"].items():
        for method, spec in items.items():
            route = routes[(method.upper(), path)]
            assert path.startswith(API_PREFIX), path
            ops.append(Operation(method.upper(), path[len(API_PREFIX) :], route, spec))
    return ops


def _snapshot_control_plane(settings) -> dict[str, list[tuple]]:
    with get_engine(settings).connect() as con:
        return {
            table.name: sorted(
                (tuple(map(repr, row)) for row in con.execute(select(table))),
            )
            for table in Base.metadata.sorted_tables
        }


def _headers(key: str, style: int) -> dict[str, str]:
    return {"X-API-Key": key} if style % 2 else {"Authorization": f"Bearer {key}"}


def _send(client, op: Operation, url: str, headers: dict, body=None):
    kwargs = {"headers": headers}
    if op.method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = {} if body is None else body
    return client.request(op.method, url, **kwargs)


def _detail(response) -> str:
    """The error's ``detail`` (the rest of the body's shape is not this test's business)."""
    return str(response.json().get("detail"))


def _attack_body(op: Operation, world: World):
    """The body of a tenant-key write aimed at B."""
    if (op.method, op.path) == ("POST", "/usage"):
        return {
            "specversion": "1.0",
            "id": "evt-isolation-1",
            "source": "tests",
            "type": "test.call",
            "time": (utc_now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "subject": world.b.tenant_id,
            "data": {"value": "1", "user_id": "u", "region": "eu"},
        }
    return None


# ----------------------------------------------------------------------------- the document
def test_every_path_parameter_and_required_query_parameter_is_known(world):
    unknown = []
    for op in operations(world.app):
        missing = sorted(n for n, kind in op.path_kinds().items() if kind is None)
        if missing:
            unknown.append(f"{op.method} {op.path}: path {missing} (PATH_PARAMS or CODES)")
        required = op.query_names(required=True) - {"tenant_id"} - set(REQUIRED_QUERY)
        if required:
            unknown.append(f"{op.method} {op.path}: query {sorted(required)} (REQUIRED_QUERY)")
        writes = op.method in ("POST", "PUT", "PATCH", "DELETE")
        listed = (op.method, op.path) in PUBLIC or (op.method, op.path) in TENANT_WRITES
        if writes and not op.admin_only and not listed:
            unknown.append(f"{op.method} {op.path}: a tenant-key write (TENANT_WRITES)")
    table = "extend the tables of tests/integration/test_tenant_isolation.py:\n"
    assert not unknown, table + "\n".join(unknown)


def test_no_billing_route_is_hidden_from_the_document(world):
    """The walk covers every route under the API prefix: none is left out of the document."""
    hidden = [
        r.path_format
        for r in _api_routes(world.app)
        if r.path_format.startswith(API_PREFIX)
        and not getattr(r, "original_route", r).include_in_schema
    ]
    assert not hidden, f"billing routes missing from the OpenAPI document: {hidden}"
    assert len(operations(world.app)) >= 80


def test_no_key_and_wrong_keys_get_401(world):
    revoked = admin_post(world.client, "/api-keys", {"tenant_id": world.a.tenant_id})
    response = world.client.delete(f"{API_PREFIX}/api-keys/{revoked['id']}", headers=ADMIN)
    assert response.status_code == 200
    a_key = world.a.key
    wrong = [
        None,
        "not-the-admin-key",
        ADMIN_KEY + "x",
        "bk_0123456789abcdef_" + "x" * 43,  # well-formed, unknown id
        a_key[: a_key.rindex("_") + 1] + "x" * 43,  # A's key id, forged secret
        revoked["key"],
    ]
    before = _snapshot_control_plane(world.settings)
    failures = []
    for op in operations(world.app):
        if (op.method, op.path) in PUBLIC:
            continue
        url = op.url(world, world.b)
        for i, key in enumerate(wrong):
            headers = {} if key is None else _headers(key, i)
            response = _send(world.client, op, url, headers)
            if response.status_code != 401:
                failures.append(f"{op.method} {url} key #{i}: {response.status_code}")
    assert not failures, "\n".join(failures)
    assert _snapshot_control_plane(world.settings) == before


def test_public_routes_are_the_listed_ones(world):
    """A public route is public on purpose: it answers something other than 401 without a
    key (its own authentication), and the list holds no route that no longer exists."""
    ops = {(op.method, op.path): op for op in operations(world.app)}
    assert set(PUBLIC) <= set(ops)
    response = world.client.post(f"{API_PREFIX}/stripe/webhooks", content=b"{}")
    assert response.status_code == 400  # no Stripe-Signature


def test_admin_only_operations_refuse_tenant_keys(world):
    before = _snapshot_control_plane(world.settings)
    failures, admin_only = [], 0
    for op in operations(world.app):
        if not op.admin_only:
            continue
        admin_only += 1
        for i, url in enumerate((op.url(world, world.b), op.url(world, world.a))):
            response = _send(world.client, op, url, _headers(world.a.key, i))
            if response.status_code != 403:
                failures.append(f"{op.method} {url}: {response.status_code} {response.text}")
    assert not failures, "\n".join(failures)
    assert admin_only >= 40  # the marking is found (not an empty walk)
    assert _snapshot_control_plane(world.settings) == before


def _attack(world: World, admin_reads: bool = True) -> list[str]:
    """A's key at B's ids and filters on every tenant-readable operation: what went wrong."""
    ghost = world.ghost()
    pairs = list(zip(world.secrets_of(world.b), world.secrets_of(ghost), strict=True))
    pairs += [
        (world.b.ids[k], ghost.ids[k]) for k in ("quota", "milestone", "draft_invoice", "contract")
    ]
    failures, attempts = [], 0
    for op in operations(world.app):
        if op.admin_only or (op.method, op.path) in PUBLIC:
            continue
        for i, (url, ghost_url) in enumerate(
            zip(op.attacks(world, world.b), op.attacks(world, ghost), strict=True)
        ):
            attempts += 1
            response = _send(world.client, op, url, _headers(world.a.key, i))
            unknown = _send(world.client, op, ghost_url, _headers(world.a.key, i))
            answer = _detail(response)
            # Longest first: a short numeric id (a quota's "2") must not rewrite part of a
            # longer one (a contract's id) before that one is replaced.
            for real, fake in sorted(pairs, key=lambda pair: -len(pair[0])):
                answer = answer.replace(real, fake)
            if response.status_code not in (403, 404):
                failures.append(f"{op.method} {url}: {response.status_code} {response.text}")
            elif world.b.tenant_id in response.text:
                failures.append(f"{op.method} {url}: names B: {response.text}")
            elif (response.status_code, answer) != (unknown.status_code, _detail(unknown)):
                failures.append(f"{op.method} {url}: {response.text} but {unknown.text} (unknown)")
            if op.method == "GET" and admin_reads:
                admin = world.client.get(url, headers=ADMIN)
                if admin.status_code != 200:
                    failures.append(f"admin GET {url}: {admin.status_code} {admin.text}")
        body = _attack_body(op, world)
        if body is not None:
            attempts += 1
            url = op.url(world, world.a)
            response = _send(world.client, op, url, _headers(world.a.key, 0), body)
            result = response.json().get("results", [{}])[0]
            if response.status_code != 422 or result.get("code") != "forbidden_tenant":
                failures.append(f"{op.method} {url} as B: {response.status_code} {response.text}")
    assert attempts >= 19  # 18 URLs and the ingest body today
    return failures


def test_tenant_key_cannot_reach_another_tenants_resources(world):
    """B's ids in the path and B's tenant id as a filter: 403 or 404 that never names B's
    tenant, the same answer as for ids that exist nowhere (so nothing is revealed), and
    nothing changed. The admin key reads the same URLs (so B's resources are real)."""
    before = _snapshot_control_plane(world.settings)
    failures = _attack(world)
    assert not failures, "\n".join(failures)
    assert _snapshot_control_plane(world.settings) == before


def test_another_tenants_answer_does_not_wait_for_the_marts(world, tmp_path):
    """Served from a snapshot without the marts the routes read (a first run still going):
    another tenant's ids and filters still get 403 or 404, never 503 (scope comes first)."""
    empty = world.settings.model_copy(update={"data_dir": tmp_path})
    with Warehouse(empty).connection() as con:
        con.execute("create schema marts")
        con.execute("create table marts.unrelated (x integer)")
    publish_snapshot(empty)
    served = world.app.state.reader
    world.app.state.reader = ServingReader(empty)
    try:
        failures = _attack(world, admin_reads=False)
    finally:
        world.app.state.reader.close()
        world.app.state.reader = served
    assert not failures, "\n".join(failures)


def test_tenant_key_reads_its_own_and_never_another_tenants_rows(world):
    """Every tenant-readable GET with A's own ids: allowed, and no B row in the answer, also
    when filtered by one of B's resources or given a ``tenant_id`` it does not declare (an
    ignored filter must not widen the answer). The admin's answers to the same lists do hold
    B's rows (so their absence means something)."""
    secrets = world.secrets_of(world.b)
    failures, lists_with_b = [], 0
    for op in operations(world.app):
        if op.admin_only or op.method != "GET":
            continue
        url = op.url(world, world.a)
        sep = "&" if "?" in url else "?"
        variants = [url] + [
            f"{url}{sep}{name}={world.b.ids[kind]}"
            for name, kind in OWNED_FILTERS.items()
            if name in op.query_names()
        ]
        if "tenant_id" not in op.query_names():
            variants.append(f"{url}{sep}tenant_id={world.b.tenant_id}")
        for i, variant in enumerate(variants):
            response = world.client.get(variant, headers=_headers(world.a.key, i))
            if response.status_code != 200 and not (i and response.status_code in (403, 404)):
                failures.append(f"GET {variant}: {response.status_code} {response.text}")
            elif any(s in response.text for s in secrets):
                failures.append(f"GET {variant}: holds B's data: {response.text}")
        if not op.query_names("path"):
            admin = world.client.get(url, headers=ADMIN)
            lists_with_b += any(s in admin.text for s in secrets)
    assert not failures, "\n".join(failures)
    # usage, invoices, subscriptions, quotas, budgets, milestones, alerts hold B's rows
    assert lists_with_b >= 7
