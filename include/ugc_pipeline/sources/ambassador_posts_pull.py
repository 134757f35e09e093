"""Pull the ambassador platform's daily posts export (CSV or NDJSON) over HTTPS.

Connection ``ugc_ambassador_platform`` (type HTTP): host = the platform's export service
(``https://exports.ambassador-platform.example``), password = its API token (sent as
``Authorization: Bearer``; extra ``auth: basic`` + login for HTTP basic instead); extra ``path``
(required, e.g. ``/v1/exports/posts?date={date}``: ``{date}`` = the delivery date, ``{since}`` =
the start of the re-pull window), ``params`` (query parameters, same templating, e.g.
``{"updated_since": "{since}"}`` so that the growing metrics of recent posts are delivered again),
``format`` (``csv`` or ``ndjson``; else from the Content-Type). Pages chained by a
``Link: rel="next"`` header are all landed. See ``ugc_pipeline.sources.export_pull``.
"""

from __future__ import annotations

from ugc_pipeline.sources.export_pull import ExportExtractor


class AmbassadorPosts(ExportExtractor):
    source = "ambassador_posts"
    conn_id = "ugc_ambassador_platform"
    formats = ("csv", "ndjson")
    label = "ambassador posts export"


EXTRACTOR = AmbassadorPosts()
