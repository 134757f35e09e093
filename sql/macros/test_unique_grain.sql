{#
  The grain of a table: no two rows share the values of `columns`, NULLs compared as equal
  (a row (day, brand, sku = NULL, ...) twice is a duplicate), as PostgreSQL's
  UNIQUE NULLS NOT DISTINCT keys say it.
#}
{% test unique_grain(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_in_grain
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
