-- One row per UGC item: a post that an ambassador declared AND that the platform's own export
-- also holds (same post_key: same URL or platform id) counts once, as the platform record.
-- The platform's measured metrics win; the declaration adds the ambassador, the campaign, the
-- declared content type and the follower count at posting time.
with items as (
    select * from "warehouse"."intermediate"."int_ugc_items__latest"
),

matches as (
    select
        measured.source as measured_source,
        measured.item_id as measured_item_id,
        declared.item_id as declared_item_id,
        declared.ambassador_id,
        declared.campaign_id,
        declared.content_type,
        declared.author_followers,
        declared.views,
        declared.likes,
        declared.comments,
        declared.shares,
        row_number() over (
            partition by measured.source, measured.item_id
            order by declared.created_at, declared.item_id
        ) as match_rank
    from items as declared
    inner join items as measured
        on declared.post_key = measured.post_key
       and measured.source <> 'ambassador_posts'
    where declared.source = 'ambassador_posts'
),

final as (
    select
        items.source,
        items.platform,
        items.item_id,
        items.item_url,
        items.created_at,
        items.is_review,
        items.sku,
        items.gtin,
        items.google_location_id,
        coalesce(items.campaign_id, matches.campaign_id) as campaign_id,
        coalesce(items.ambassador_id, matches.ambassador_id) as ambassador_id,
        items.author_id,
        items.author_handle,
        coalesce(matches.author_followers, items.author_followers) as author_followers,
        items.star_rating,
        items.has_text,
        items.has_media,
        items.is_incentivized or matches.declared_item_id is not null as is_incentivized,
        coalesce(matches.content_type, items.content_type) as content_type,
        items.hashtag_text,
        coalesce(items.views, matches.views) as views,
        coalesce(items.likes, matches.likes) as likes,
        coalesce(items.comments, matches.comments) as comments,
        coalesce(items.shares, matches.shares) as shares,
        items.saves,
        matches.declared_item_id
    from items
    left join matches
        on matches.measured_source = items.source
       and matches.measured_item_id = items.item_id
       and matches.match_rank = 1
    where not (
        items.source = 'ambassador_posts'
        and items.item_id in (select declared_item_id from matches)
    )
)

select * from final