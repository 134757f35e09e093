"""Post-campaign word-of-mouth survey answers (CSV). ``people_told`` blank means no answer."""

from ugc_pipeline.sources.base import RawTable, Source, csv_columns

SOURCE = Source(
    name="wom_surveys",
    formats=("csv",),
    description="Ambassadors' answers to the post-campaign survey (offline reach).",
    tables=(
        RawTable(
            name="wom_surveys",
            key=("response_id",),
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
