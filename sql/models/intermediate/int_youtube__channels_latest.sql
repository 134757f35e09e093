-- The latest known subscriber count of each YouTube channel.
with ranked as (
    select
        channel_id, subscriber_count,
        row_number() over (
            partition by channel_id
            order by delivery_date desc, source_file desc, record_number desc
        ) as version_rank
    from {{ ref('stg_youtube__channels') }}
)

select channel_id, subscriber_count
from ranked
where version_rank = 1
