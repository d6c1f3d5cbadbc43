{#-
  The body of a CTE: one row per subscription and billing period of the build window
  (usage_window_filter on period_start) with the sum of `amount_column` over `model`'s rows,
  under the same name. For an amount that lands on an invoice from another model (coupons'
  discounts, a commit's true-up).
-#}
{% macro subscription_period_sum(model, amount_column) %}
    select subscription_id, period_start, sum({{ amount_column }}) as {{ amount_column }}
    from {{ ref(model) }}
    where {{ usage_window_filter('period_start', none) }}
    group by subscription_id, period_start
{%- endmacro %}
