-- Every UGC item version of every enabled platform, in the shared item columns (ugc_item_columns):
-- one staging model per platform, conformed there, unioned here. Adding a platform adds its
-- source and staging model here (tests/unit/test_dbt_project.py checks this list against the
-- adapters' registry).
{{ ugc_union_items({
    'google_business_reviews': 'stg_google_business__reviews',
    'yotpo_reviews': 'stg_yotpo__reviews',
    'retailer_reviews': 'stg_retailer__reviews',
    'instagram_media': 'stg_instagram__media',
    'tiktok_videos': 'stg_tiktok__videos',
    'youtube_videos': 'stg_youtube__videos',
    'ambassador_posts': 'stg_ambassador_platform__posts',
}) }}
