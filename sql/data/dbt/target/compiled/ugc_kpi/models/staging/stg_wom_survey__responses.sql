-- Word-of-mouth survey responses, one row per delivered version. Blank people_told = no answer.
select
    response_id,
    ambassador_id,
    campaign_id,
    cast(answered_at as timestamp with time zone) as answered_at,
    cast(people_told as bigint) as people_told,
    lower(trim(tried_product)) in ('yes', 'y', 'true', '1', 'oui') as has_tried_product,
    cast(recommend_score as integer) as recommend_score,
    delivery_date,
    source_file,
    record_number
from "warehouse"."raw"."wom_surveys"