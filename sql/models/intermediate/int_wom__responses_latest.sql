-- The latest version of each survey response.
with ranked as (
    select
        responses.*,
        row_number() over (
            partition by response_id
            order by delivery_date desc, source_file desc, record_number desc
        ) as version_rank
    from {{ ref('stg_wom_survey__responses') }} as responses
)

select response_id, ambassador_id, campaign_id, answered_at, people_told, has_tried_product, recommend_score
from ranked
where version_rank = 1
