{#
  The shared UGC item columns every UGC staging model emits, and their union across the enabled
  platforms (Fivetran's "conform, then union"). A platform is switched off with its var,
  e.g. --vars '{ugc_tiktok_videos_enabled: false}'.
#}
{% macro ugc_item_columns() -%}
    {{ return([
        "source", "platform", "item_id", "item_url", "post_key", "delivery_date", "source_file",
        "record_number", "created_at", "updated_at", "is_review", "is_deleted", "is_approved", "sku",
        "gtin", "google_location_id", "campaign_id", "ambassador_id", "author_id", "author_handle",
        "author_followers", "star_rating", "has_text", "has_media", "is_incentivized", "content_type",
        "hashtag_text", "views", "likes", "comments", "shares", "saves",
    ]) }}
{%- endmacro %}

{% macro ugc_union_items(platforms) -%}
    {%- set enabled = [] -%}
    {%- for source, model in platforms.items() if var('ugc_' ~ source ~ '_enabled', true) -%}
        {%- do enabled.append(model) -%}
    {%- endfor -%}
    {%- if not enabled -%}
        {{ exceptions.raise_compiler_error("every UGC platform is switched off: nothing to union") }}
    {%- endif -%}
    {%- for model in enabled %}
select
    {{ ugc_item_columns() | join(',\n    ') }}
from {{ ref(model) }}
{% if not loop.last %}union all{% endif %}
    {%- endfor -%}
{%- endmacro %}
