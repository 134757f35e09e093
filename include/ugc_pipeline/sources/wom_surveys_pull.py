"""Pull the post-campaign word-of-mouth survey answers: the survey tool's daily CSV export.

Connection ``ugc_wom_survey`` (type HTTP): host = the survey tool's export service, password =
its API token (``Authorization: Bearer``; extra ``auth: basic`` + login for HTTP basic instead);
extra ``path`` (required, e.g. ``/api/v3/surveys/wom-2025/responses.csv``; ``{date}`` = the
delivery date, ``{since}`` = the start of the re-pull window), ``params`` (query parameters, same
templating, e.g. ``{"completed_on": "{date}"}``), ``format`` (only ``csv`` is read; by default
the Content-Type must say ``text/csv``). Pages chained by a ``Link: rel="next"`` header are all
landed. See ``ugc_pipeline.sources.export_pull``.
"""

from __future__ import annotations

from ugc_pipeline.sources.export_pull import ExportExtractor


class WomSurveys(ExportExtractor):
    source = "wom_surveys"
    conn_id = "ugc_wom_survey"
    formats = ("csv",)
    label = "word-of-mouth survey export"


EXTRACTOR = WomSurveys()
