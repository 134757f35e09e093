-- One row per campaign: the UGC it brought (by content type and influencer tier), who posted,
-- how far it reached online and offline, and its effects with their 95% intervals and verdicts:
-- web conversion during the campaign against the 28 days before it (Katz interval of a ratio of
-- two proportions) and the in-store sales uplift (difference in differences; delta method on the
-- log of the ratio, with the between-store variances). Methods: docs/DECISIONS.md.
with campaigns as (
    select * from {{ ref('int_brand__campaigns_current') }}
),

items as (
    select *
    from {{ ref('int_ugc_items__enriched') }}
    where is_counted and campaign_id is not null
),

ugc as (
    select
        campaign_id,
        count(*) as ugc_count,
        count(case when content_type = 'photo' then 1 end) as ugc_photo,
        count(case when content_type = 'video' then 1 end) as ugc_video,
        count(case when content_type = 'carousel' then 1 end) as ugc_carousel,
        count(case when content_type = 'reel' then 1 end) as ugc_reel,
        count(case when content_type = 'story' then 1 end) as ugc_story,
        count(case when content_type = 'recipe' then 1 end) as ugc_recipe,
        count(case when content_type = 'tutorial' then 1 end) as ugc_tutorial,
        count(case when content_type = 'review' then 1 end) as ugc_review,
        count(case when content_type = 'rating' then 1 end) as ugc_rating,
        count(case when content_type = 'text' then 1 end) as ugc_text,
        count(case when content_type is null or content_type not in (
            'photo', 'video', 'carousel', 'reel', 'story', 'recipe', 'tutorial', 'review', 'rating', 'text'
        ) then 1 end) as ugc_other_type,
        count(case when influencer_tier = 'nano' then 1 end) as ugc_nano,
        count(case when influencer_tier = 'micro' then 1 end) as ugc_micro,
        count(case when influencer_tier = 'macro' then 1 end) as ugc_macro,
        count(case when influencer_tier = 'unknown' then 1 end) as ugc_unknown_tier,
        count(distinct ambassador_id) as ambassador_count,
        count(distinct author_key) as author_count,
        cast(sum(views) as bigint) as views,
        cast(coalesce(sum(coalesce(likes, 0) + coalesce(comments, 0) + coalesce(shares, 0) + coalesce(saves, 0)), 0)
            as bigint) as engagements,
        count(case when not is_review and views is null and likes is null and comments is null
                         and shares is null and saves is null then 1 end) as posts_without_metrics
    from items
    group by campaign_id
),

authors as (
    select campaign_id, author_key, max(followers) as followers
    from items
    group by campaign_id, author_key
),

reach as (
    select campaign_id, cast(coalesce(sum(followers), 0) as bigint) as potential_reach
    from authors
    group by campaign_id
),

posting_ambassadors as (
    select distinct campaign_id, ambassador_id
    from items
    where ambassador_id is not null
),

responses as (
    select * from {{ ref('int_wom__responses_latest') }}
),

survey as (
    select
        campaign_id,
        cast(coalesce(sum(people_told), 0) as bigint) as offline_reach,
        count(*) as survey_respondents,
        count(people_told) as survey_answers
    from responses
    group by campaign_id
),

campaign_ambassadors as (
    -- every ambassador of the campaign: who posted for it or answered its survey
    select campaign_id, ambassador_id from posting_ambassadors
    union
    select campaign_id, ambassador_id from responses where ambassador_id is not null
),

answering as (
    select
        campaign_ambassadors.campaign_id,
        count(*) as ambassadors,
        count(distinct answered.ambassador_id) as answered
    from campaign_ambassadors
    left join responses as answered
        on answered.campaign_id = campaign_ambassadors.campaign_id
       and answered.ambassador_id = campaign_ambassadors.ambassador_id
       and answered.people_told is not null
    group by campaign_ambassadors.campaign_id
),

web as (
    select * from {{ ref('int_brand__web_conversion_latest') }}
),

conversion_windows as (
    select
        campaigns.campaign_id,
        least(campaigns.end_date, (select max(activity_date) from web)) as conversion_through_date,
        cast(coalesce(sum(case when web.activity_date < campaigns.start_date then web.sessions end), 0) as bigint)
            as sessions_pre,
        cast(coalesce(sum(case when web.activity_date < campaigns.start_date then web.orders end), 0) as bigint)
            as orders_pre,
        cast(coalesce(sum(case when web.activity_date >= campaigns.start_date then web.sessions end), 0) as bigint)
            as sessions_during,
        cast(coalesce(sum(case when web.activity_date >= campaigns.start_date then web.orders end), 0) as bigint)
            as orders_during
    from campaigns
    left join web
        on web.sku = campaigns.sku
       and web.activity_date between campaigns.start_date - 28 and campaigns.end_date
    group by campaigns.campaign_id, campaigns.start_date, campaigns.end_date
),

conversion as (
    select
        *,
        cast(orders_pre as double precision) / nullif(sessions_pre, 0) as conversion_rate_pre,
        cast(orders_during as double precision) / nullif(sessions_during, 0) as conversion_rate_during,
        {{ ugc_log_ratio_se('orders_during', 'sessions_during', 'orders_pre', 'sessions_pre') }} as log_se,
        sessions_pre >= {{ ugc_min_sessions() }} and sessions_during >= {{ ugc_min_sessions() }}
            and orders_pre >= {{ ugc_min_orders() }} and orders_during >= {{ ugc_min_orders() }} as is_enough
    from conversion_windows
),

conversion_ratios as (
    select *, conversion_rate_during / nullif(conversion_rate_pre, 0) as rate_ratio
    from conversion
),

conversion_estimates as (
    select
        *,
        {{ ugc_interval_bound('rate_ratio', 'log_se', 'low') }} as variation_low,
        {{ ugc_interval_bound('rate_ratio', 'log_se', 'high') }} as variation_high
    from conversion_ratios
),

store_arms as (
    -- mean, sample variances and pre/during covariance of the stores' daily averages, per arm
    select
        campaign_id,
        arm,
        count(*) as stores,
        avg(pre_avg) as pre_mean,
        avg(during_avg) as during_mean,
        var_samp(pre_avg) as pre_var,
        var_samp(during_avg) as during_var,
        covar_samp(pre_avg, during_avg) as pre_during_cov
    from {{ ref('int_campaigns__store_windows') }}
    group by campaign_id, arm
),

store_arm_variances as (
    -- delta method: Var(ln(during_mean / pre_mean)) of one arm
    select
        *,
        case when stores >= 2 and pre_mean > 0 and during_mean > 0 then
            during_var / (stores * during_mean * during_mean)
            + pre_var / (stores * pre_mean * pre_mean)
            - 2 * pre_during_cov / (stores * pre_mean * during_mean)
        end as log_ratio_var
    from store_arms
),

sales as (
    select
        campaigns.campaign_id,
        coalesce(test.stores, 0) as test_stores,
        coalesce(control.stores, 0) as control_stores,
        (test.during_mean / nullif(test.pre_mean, 0)) / nullif(control.during_mean / nullif(control.pre_mean, 0), 0)
            as ratio,
        sqrt(greatest(test.log_ratio_var + control.log_ratio_var, {{ ugc_one() }} * 0)) as log_se,
        coalesce(test.stores, 0) >= {{ ugc_min_stores_per_arm() }}
            and coalesce(control.stores, 0) >= {{ ugc_min_stores_per_arm() }} as is_enough
    from campaigns
    left join store_arm_variances as test on test.campaign_id = campaigns.campaign_id and test.arm = 'test'
    left join store_arm_variances as control on control.campaign_id = campaigns.campaign_id and control.arm = 'control'
),

sales_estimates as (
    select
        *,
        {{ ugc_interval_bound('ratio', 'log_se', 'low') }} as uplift_low,
        {{ ugc_interval_bound('ratio', 'log_se', 'high') }} as uplift_high
    from sales
),

final as (
    select
        campaigns.campaign_id,
        campaigns.brand,
        campaigns.sku,
        campaigns.start_date,
        campaigns.end_date,
        coalesce(ugc.ugc_count, 0) as ugc_count,
        coalesce(ugc.ugc_photo, 0) as ugc_photo,
        coalesce(ugc.ugc_video, 0) as ugc_video,
        coalesce(ugc.ugc_carousel, 0) as ugc_carousel,
        coalesce(ugc.ugc_reel, 0) as ugc_reel,
        coalesce(ugc.ugc_story, 0) as ugc_story,
        coalesce(ugc.ugc_recipe, 0) as ugc_recipe,
        coalesce(ugc.ugc_tutorial, 0) as ugc_tutorial,
        coalesce(ugc.ugc_review, 0) as ugc_review,
        coalesce(ugc.ugc_rating, 0) as ugc_rating,
        coalesce(ugc.ugc_text, 0) as ugc_text,
        coalesce(ugc.ugc_other_type, 0) as ugc_other_type,
        coalesce(ugc.ugc_nano, 0) as ugc_nano,
        coalesce(ugc.ugc_micro, 0) as ugc_micro,
        coalesce(ugc.ugc_macro, 0) as ugc_macro,
        coalesce(ugc.ugc_unknown_tier, 0) as ugc_unknown_tier,
        coalesce(ugc.ambassador_count, 0) as ambassador_count,
        coalesce(ugc.author_count, 0) as author_count,
        coalesce(reach.potential_reach, 0) as potential_reach,
        ugc.views,
        coalesce(ugc.engagements, 0) as engagements,
        cast(ugc.engagements as double precision) / nullif(reach.potential_reach, 0) as engagement_rate,
        coalesce(ugc.posts_without_metrics, 0) as posts_without_metrics,
        coalesce(survey.offline_reach, 0) as offline_reach,
        coalesce(survey.survey_respondents, 0) as survey_respondents,
        coalesce(survey.survey_answers, 0) as survey_answers,
        cast(answering.answered as double precision) / nullif(answering.ambassadors, 0) as survey_answer_share,
        conversion_estimates.conversion_through_date,
        conversion_estimates.sessions_pre,
        conversion_estimates.orders_pre,
        conversion_estimates.conversion_rate_pre,
        conversion_estimates.sessions_during,
        conversion_estimates.orders_during,
        conversion_estimates.conversion_rate_during,
        conversion_estimates.rate_ratio - 1 as conversion_variation,
        conversion_estimates.variation_low as conversion_variation_low,
        conversion_estimates.variation_high as conversion_variation_high,
        {{ ugc_verdict('conversion_estimates.is_enough', 'conversion_estimates.variation_low',
                       'conversion_estimates.variation_high') }} as conversion_verdict,
        sales_estimates.test_stores,
        sales_estimates.control_stores,
        sales_estimates.ratio - 1 as sales_uplift,
        sales_estimates.uplift_low as sales_uplift_low,
        sales_estimates.uplift_high as sales_uplift_high,
        {{ ugc_verdict('sales_estimates.is_enough', 'sales_estimates.uplift_low', 'sales_estimates.uplift_high') }}
            as sales_verdict
    from campaigns
    left join ugc on ugc.campaign_id = campaigns.campaign_id
    left join reach on reach.campaign_id = campaigns.campaign_id
    left join survey on survey.campaign_id = campaigns.campaign_id
    left join answering on answering.campaign_id = campaigns.campaign_id
    inner join conversion_estimates on conversion_estimates.campaign_id = campaigns.campaign_id
    inner join sales_estimates on sales_estimates.campaign_id = campaigns.campaign_id
)

select * from final
