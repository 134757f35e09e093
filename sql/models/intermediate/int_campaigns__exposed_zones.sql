-- One row per campaign and zone exposed to its ambassadors.
with words as (
    select campaign_id, unnest({{ ugc_words('exposed_zone_ids') }}) as zone_id
    from {{ ref('int_brand__campaigns_current') }}
)

select distinct campaign_id, zone_id
from words
where zone_id <> ''
