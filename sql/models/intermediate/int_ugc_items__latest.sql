-- The current version of every UGC item: the latest delivery wins; within one delivery the
-- latest update, else the last occurrence. Deleted and unapproved items drop out here.
with ranked as (
    select
        items.*,
        row_number() over (
            partition by source, item_id
            order by delivery_date desc, updated_at desc nulls last, source_file desc, record_number desc
        ) as version_rank
    from {{ ref('int_ugc_items__unioned') }} as items
)

select *
from ranked
where version_rank = 1
  and not is_deleted
  and is_approved
