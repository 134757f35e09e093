"""Erasing one person (``ugc_pipeline.erasure``; ``ugc-pipeline erase``, the ``ugc_erase`` DAG):
their items leave raw, the quarantine and the marts (rebuilt), an audit row says what was erased
without the personal value, and the rest of the warehouse is untouched. On DuckDB and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from corpus import DAY, NEXT_DAY, tiktok_page, tiktok_video, yotpo_review
from support.pii import pseudonym
from support.postgres import new_database
from support.warehouse_env import BUSINESS_DAY, BUSINESS_SNAPSHOTS, Env, start_env
from ugc_pipeline import cli
from ugc_pipeline.erasure import erase

EMAIL = "sophie.lambert@example.fr"


@pytest.fixture(params=["duckdb", "postgresql"])
def warehouse_db(request, tmp_path):
    """A fresh warehouse of each kind (PostgreSQL: a throwaway database; skipped without a server)."""
    if request.param == "duckdb":
        yield None
        return
    with new_database("erase") as url:
        yield url


def _small_env(tmp_path, url: str | None, business_template) -> Env:
    """The business snapshots of BUSINESS_DAY ingested: on DuckDB, a copy of the session's
    ``business_template`` (the same ingests, made once); on PostgreSQL, ingested here."""
    if not url:
        return start_env(tmp_path, business_template)
    env = Env(tmp_path).with_settings(warehouse_url=url)
    for source, content in BUSINESS_SNAPSHOTS.items():
        env.write(source, BUSINESS_DAY, f"{source}.csv", content)
        assert env.ingest(source, BUSINESS_DAY).status == "success"
    return env


def _ugc(env) -> int:
    return int(env.q("select coalesce(sum(ugc_count), 0) as n from marts.ugc_daily")["n"][0])


def test_erasing_an_email_removes_the_reviews_their_quarantine_and_their_mart_counts(tmp_path, warehouse_db,
                                                                                    business_template):
    env = _small_env(tmp_path, warehouse_db, business_template)
    env.write("yotpo_reviews", DAY, "page-1.json", {"reviews": [
        yotpo_review(487000501, email=EMAIL, name="Sophie L."),
        yotpo_review(487000502, email="Sophie.Lambert@example.fr", created="2025-05-05T08:00:00.000Z"),
        yotpo_review(487000503, email="paul.martin@example.fr", name="Paul M."),
    ]})
    env.write("yotpo_reviews", NEXT_DAY, "page-1.json", {"reviews": [
        yotpo_review(487000504, email=EMAIL, score=6),  # quarantined: score out of range
        yotpo_review(487000505, email="paul.martin@example.fr", created="2025-05-07T08:00:00.000Z"),
    ]})
    env.ingest("yotpo_reviews", DAY)
    env.ingest("yotpo_reviews", NEXT_DAY)
    env.build()
    before = env.records("select kpi_date, sum(ugc_count) as n from marts.ugc_daily group by kpi_date order by 1")
    assert _ugc(env) == 4 and len(env.rejects("yotpo_reviews")) == 1
    env.close()

    result = erase(env.settings, email=" Sophie.Lambert@Example.fr", run_id="erase-1")

    me = pseudonym("email", EMAIL)
    assert result.pseudonym == me and result.asked_by == "email"
    assert (result.raw_rows["yotpo_reviews"], result.rejected_rows, result.kpi_days, result.marts) == (
        2, 1, 2, "rebuilt")
    assert env.records("select id from raw.yotpo_reviews order by id") == [{"id": "487000503"}, {"id": "487000505"}]
    assert env.rejects() == []
    # the marts were rebuilt: her two KPI days lost her reviews, Paul's stayed
    after = {str(r["kpi_date"]): int(r["n"]) for r in env.records(
        "select kpi_date, sum(ugc_count) as n from marts.ugc_daily group by kpi_date order by 1")}
    assert {str(r["kpi_date"]): int(r["n"]) for r in before} == {"2025-05-05": 1, "2025-05-06": 2, "2025-05-07": 1}
    assert after == {"2025-05-06": 1, "2025-05-07": 1}
    [audit] = env.records("select * from audit.erasures")
    assert (audit["asked_by"], audit["pseudonym"], audit["raw_rows"], audit["rejected_rows"], audit["marts"],
            json.loads(audit["raw_rows_by_table"])) == ("email", me, 2, 1, "rebuilt", {"yotpo_reviews": 2})
    assert "sophie" not in json.dumps(audit, default=str).lower()

    # erasing again finds nothing, and says so in its own row
    again = erase(env.settings, id=me, run_id="erase-2")
    assert (again.total_raw, again.rejected_rows, again.marts) == (0, 0, "not_needed")
    assert len(env.records("select erasure_id from audit.erasures")) == 2
    env.close()


def test_erasing_an_ambassadors_handle_removes_every_item_of_that_ambassador(tmp_path, good_day_template):
    env = start_env(tmp_path, good_day_template)
    # one of their videos quarantined on the next day (negative likes), beside another account's
    env.write("tiktok_videos", NEXT_DAY, "videos-page-1.json", tiktok_page([
        tiktok_video(7498300000000009001, likes=-3), tiktok_video(7498300000000009002, username="lea.cuisine")]))
    assert env.ingest("tiktok_videos", NEXT_DAY).records_rejected == 1
    handle = pseudonym("handle", "lucas_miam")
    counts = {t: int(env.q(f"select count(*) as n from raw.{t} where {c}")["n"][0]) for t, c in (
        ("ambassadors", "ambassador_id = 'AMB-0002'"), ("ambassador_posts", "ambassador_id = 'AMB-0002'"),
        ("wom_surveys", "ambassador_id = 'AMB-0002'"), ("tiktok_videos", f"username = '{handle}'"))}
    assert all(counts.values()), counts
    # their items: their TikTok videos and the posts they declared that no platform record of another
    # account absorbed (a declared post that is another account's measured post leaves that post,
    # without the ambassador: "counted once, as the platform record")
    theirs = ("is_counted and ((source = 'tiktok_videos' and item_id in (select id from raw.tiktok_videos "
              "where username = :h)) or (source = 'ambassador_posts' and ambassador_id = 'AMB-0002'))")
    items = int(env.q(f"select count(*) as n from intermediate.int_ugc_items__enriched where {theirs}",
                      h=handle)["n"][0])
    respondents = int(env.q("select sum(survey_respondents) as n from marts.reach_daily")["n"][0])
    # what the marts will count once rebuilt (the views read raw: the next day's videos included)
    total = int(env.q("select count(*) as n from intermediate.int_ugc_items__enriched where is_counted")["n"][0])
    others = int(env.q("select count(*) as n from raw.ambassadors where ambassador_id <> 'AMB-0002'"
                                         )["n"][0])
    assert items > 0
    env.close()

    # the roster's spelling, with its @: the same pseudonym
    result = erase(env.settings, handle="@Lucas_Miam", run_id="erase-amb")

    assert result.ambassadors == 1 and result.marts == "rebuilt"
    assert {t: result.raw_rows[t] for t in counts} == counts
    assert result.rejected_rows == 1 and [r["raw"]["id"] for r in env.rejects("tiktok_videos")] == []
    for table, cond in (("ambassadors", "ambassador_id = 'AMB-0002'"), ("ambassador_posts", "ambassador_id = 'AMB-0002'"),
                        ("wom_surveys", "ambassador_id = 'AMB-0002'"), ("tiktok_videos", f"username = '{handle}'")):
        assert env.q(f"select count(*) as n from raw.{table} where {cond}")["n"][0] == 0, table
    assert int(env.q("select count(*) as n from raw.ambassadors")["n"][0]) == others  # nobody else
    assert env.q("select count(*) as n from raw.tiktok_videos where username = :h",
                 h=pseudonym("handle", "lea.cuisine"))["n"][0] == 1
    # the marts no longer count their items nor their survey answer
    left = env.records("select source, item_id, ambassador_id, author_key from intermediate.int_ugc_items__enriched "
                       "where is_counted and (ambassador_id = 'AMB-0002' or author_key like :k)", k=f"tiktok:{handle}")
    assert left == []
    assert _ugc(env) == total - items
    assert int(env.q("select sum(survey_respondents) as n from marts.reach_daily")["n"][0]) < respondents
    env.close()


def test_the_command_shows_the_pseudonym_never_the_value_nor_the_key(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("UGC_PII_KEY", "cli-key-7c1d-secret")  # the deployment's key, for the ingest and the CLI
    env = Env(tmp_path)
    env.write("yotpo_reviews", DAY, "page-1.json", {"reviews": [yotpo_review(487000601, email=EMAIL)]})
    env.ingest("yotpo_reviews", DAY)
    env.close()
    monkeypatch.setenv("UGC_WAREHOUSE_URL", env.settings.warehouse_url)
    monkeypatch.setenv("UGC_LANDING_URI", env.settings.landing_uri)

    assert cli.main(["erase", "--email", EMAIL, "--dry-run"]) == 0
    out = capsys.readouterr().out
    me = pseudonym("email", EMAIL, "cli-key-7c1d-secret")
    assert me in out and "would erase raw.yotpo_reviews=1;" in out
    assert EMAIL not in out and "cli-key-7c1d-secret" not in out and out.startswith("Settings: ")
    assert cli.main(["erase", "--id", "not-a-pseudonym"]) == 2
