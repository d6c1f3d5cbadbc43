"""Control-plane records (SQLAlchemy 2.0), one module per aggregate, all on the one ``Base``
(one metadata: Alembic's target and the snapshots). Migrations live in
``billing/control_plane/migrations``.

Timestamps are stored as naive UTC. The pipeline snapshots these tables into the warehouse
(``raw.control_<table>``); the API never writes the warehouse.
"""

from billing.control_plane.models.base import MONEY, QUANTITY, Base, ExactDecimal
from billing.control_plane.models.contracts import Contract, ContractCommitInstalment, ContractRamp
from billing.control_plane.models.cost_centers import (
    UNALLOCATED,
    CostAllocationRule,
    CostAllocationTarget,
    CostCenter,
    TenantCostCenter,
)
from billing.control_plane.models.invoicing import (
    CreditGrant,
    InvoiceVoid,
    TaxRate,
    Tenant,
    TenantTaxRate,
)
from billing.control_plane.models.meters import ApiKey, Meter
from billing.control_plane.models.overrides import (
    SubscriptionChargeOverride,
    SubscriptionChargeOverrideTier,
    SubscriptionOverrideVersion,
)
from billing.control_plane.models.payments import (
    InvoicePayment,
    PaymentAttempt,
    PaymentStatusEvent,
    StripeCustomer,
    StripeWebhookEvent,
)
from billing.control_plane.models.plans import Plan, PlanCharge, PlanChargeTier
from billing.control_plane.models.quotas import (
    BillingAlert,
    NotificationDelivery,
    ResourceQuota,
    TenantBudget,
    UsageMilestone,
)
from billing.control_plane.models.realtime import (
    RealtimeDistinctValue,
    RealtimeOffset,
    RealtimeSeenEvent,
    RealtimeUsage,
    ReconciliationDrift,
    ReconciliationRun,
)
from billing.control_plane.models.subscriptions import (
    Coupon,
    CouponRedemption,
    Subscription,
    SubscriptionEvent,
    SubscriptionPhase,
)
from billing.control_plane.models.wallets import Wallet, WalletGrant

__all__ = [
    "ApiKey",
    "Base",
    "BillingAlert",
    "Contract",
    "ContractCommitInstalment",
    "ContractRamp",
    "CostAllocationRule",
    "CostAllocationTarget",
    "CostCenter",
    "Coupon",
    "CouponRedemption",
    "CreditGrant",
    "ExactDecimal",
    "InvoicePayment",
    "InvoiceVoid",
    "MONEY",
    "Meter",
    "NotificationDelivery",
    "PaymentAttempt",
    "PaymentStatusEvent",
    "Plan",
    "PlanCharge",
    "PlanChargeTier",
    "QUANTITY",
    "RealtimeDistinctValue",
    "RealtimeOffset",
    "RealtimeSeenEvent",
    "RealtimeUsage",
    "ReconciliationDrift",
    "ReconciliationRun",
    "ResourceQuota",
    "StripeCustomer",
    "StripeWebhookEvent",
    "Subscription",
    "SubscriptionChargeOverride",
    "SubscriptionChargeOverrideTier",
    "SubscriptionEvent",
    "SubscriptionOverrideVersion",
    "SubscriptionPhase",
    "TaxRate",
    "Tenant",
    "TenantBudget",
    "TenantCostCenter",
    "TenantTaxRate",
    "UNALLOCATED",
    "UsageMilestone",
    "Wallet",
    "WalletGrant",
]
