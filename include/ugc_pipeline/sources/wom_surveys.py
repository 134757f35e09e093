"""Post-campaign word-of-mouth survey answers (CSV). ``people_told`` blank means no answer."""

from ugc_pipeline.sources.base import RawTable, Source, between, csv_columns, in_set, non_negative, resolves

SOURCE = Source(
    name="wom_surveys",
    formats=("csv",),
    description="Ambassadors' answers to the post-campaign survey (offline reach).",
    tables=(
        RawTable(
            name="wom_surveys",
            key=("response_id",),
            created_column="answered_at",
            rules=(
                *non_negative("people_told"),
                between("recommend_score", 0, 10),
                in_set("tried_product", "yes", "no", ignore_case=True),
                resolves("campaign_id", "campaigns.campaign_id"),
                resolves("ambassador_id", "ambassadors.ambassador_id"),
            ),
            description="One survey response per delivered version.",
            columns=csv_columns(
                "response_id", "ambassador_id", "campaign_id", "answered_at", "people_told",
                "tried_product", "recommend_score",
                types={"answered_at": "timestamp", "people_told": "int", "recommend_score": "int"},
                required=("response_id", "ambassador_id", "campaign_id", "answered_at"),
            ),
        ),
    ),
)
