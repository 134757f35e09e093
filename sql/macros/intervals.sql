{#
  95% confidence intervals and verdicts of the analyst marts (campaign_summary,
  review_bucket_conversion). Plain arithmetic (ln, exp, sqrt) that DuckDB and PostgreSQL compute
  alike; the methods and thresholds are in docs/DECISIONS.md ("Uncertainty of the analyst marts").
#}

{# The two-sided 95% quantile of the standard normal distribution (scipy.stats.norm.ppf(0.975)). #}
{% macro ugc_z95() -%}
    cast(1.959963984540054 as double precision)
{%- endmacro %}

{# 1 as a double, so that both warehouses compute in doubles (a bare 1.0 is numeric on PostgreSQL). #}
{% macro ugc_one() -%}
    cast(1 as double precision)
{%- endmacro %}

{# The standard error of ln(p1 / p0), p1 = x1 / n1 and p0 = x0 / n0 (Katz et al., 1978): the
   interval of a ratio of two proportions (scipy.stats.relative_risk(...).confidence_interval()).
   Null when a count of events is 0 (the ratio or its log is undefined). #}
{% macro ugc_log_ratio_se(x1, n1, x0, n0) -%}
    case when ({{ x1 }}) > 0 and ({{ x0 }}) > 0 and ({{ n1 }}) > 0 and ({{ n0 }}) > 0 then
        sqrt(greatest(
            {{ ugc_one() }} / ({{ x1 }}) - {{ ugc_one() }} / ({{ n1 }})
            + {{ ugc_one() }} / ({{ x0 }}) - {{ ugc_one() }} / ({{ n0 }}),
            {{ ugc_one() }} * 0))
    end
{%- endmacro %}

{# One bound of the 95% interval of (ratio - 1) from the ratio and the standard error of its log:
   exp(ln(ratio) -/+ z x se) - 1; bound is 'low' or 'high'. #}
{% macro ugc_interval_bound(ratio, log_se, bound) -%}
    case when ({{ ratio }}) > 0 and ({{ log_se }}) is not null then
        exp(ln({{ ratio }}) {{ '-' if bound == 'low' else '+' }} {{ ugc_z95() }} * ({{ log_se }})) - 1
    end
{%- endmacro %}

{# The verdict of an estimate: 'too little data' unless `enough` holds and the interval exists,
   else 'significant' when the 95% interval excludes 0 (no change), else 'not significant'. #}
{% macro ugc_verdict(enough, low, high) -%}
    case
        when not coalesce({{ enough }}, false) or ({{ low }}) is null or ({{ high }}) is null then 'too little data'
        when ({{ low }}) > 0 or ({{ high }}) < 0 then 'significant'
        else 'not significant'
    end
{%- endmacro %}

{# The "too little data" thresholds (settings UGC_MIN_SESSIONS, UGC_MIN_ORDERS,
   UGC_MIN_STORES_PER_ARM, passed as vars on every run; defaults in dbt_project.yml). #}
{% macro ugc_min_sessions() -%}{{ var('min_sessions') | int }}{%- endmacro %}
{% macro ugc_min_orders() -%}{{ var('min_orders') | int }}{%- endmacro %}
{% macro ugc_min_stores_per_arm() -%}{{ var('min_stores_per_arm') | int }}{%- endmacro %}
