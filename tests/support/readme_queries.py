"""The example queries of the README's "For analysts" section (every ```sql block of it): the
README is their one home, and the tests run them against the sample warehouse."""

from __future__ import annotations

import re

from ugc_pipeline.catalog import PROJECT_DIR

SECTION = "## For analysts"


def analyst_queries() -> list[str]:
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    start = readme.index(SECTION + "\n")
    end = readme.find("\n## ", start + len(SECTION))
    section = readme[start:end if end != -1 else len(readme)]
    return [q.strip().rstrip(";") for q in re.findall(r"^```sql\n(.*?)^```", section, flags=re.DOTALL | re.MULTILINE)]
