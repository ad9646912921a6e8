"""What every site's task builder shares: :class:`Builder` (consistent ids and WebArena's task
shape), the logged-in user's id as SQL, and small formatting helpers."""

from __future__ import annotations

__all__ = ["ALEX_FORUM", "ALEX_SHOP", "ALEX_WIKI", "Builder", "money", "points", "search_steps"]

ALEX_SHOP = "(SELECT id FROM users WHERE site = 'shop' AND username = 'alex')"
ALEX_FORUM = "(SELECT id FROM users WHERE site = 'forum' AND username = 'alex')"
ALEX_WIKI = "(SELECT id FROM users WHERE site = 'wiki' AND username = 'alex')"


def money(cents: int) -> str:
    """Cents as the sites print prices: ``$1,234.50``."""
    return f"${cents / 100:,.2f}"


class Builder:
    """Collects one site's tasks with consistent ids and shapes."""

    def __init__(self, site: str):
        self.site = site
        self.tasks: list[dict] = []

    def add(self, intent: str, *, difficulty: str, category: str, reference: list[str], start: str = "/",
            login: bool = False, string: dict | None = None, url: str | None = None,
            html: list[dict] | None = None, db: list[dict] | None = None, string_note: str = "") -> None:
        ev: dict = {"eval_types": [], "reference_answers": None, "reference_url": "", "program_html": []}
        if string is not None:
            ev["eval_types"].append("string_match")
            ev["reference_answers"] = string
            ev["string_note"] = string_note
        if url is not None:
            ev["eval_types"].append("url_match")
            ev["reference_url"] = url
            ev["url_note"] = "GOLD in PRED"
        if html:
            ev["eval_types"].append("program_html")
            ev["program_html"] = html
        if db:
            ev["eval_types"].append("db_state")
            ev["db_state"] = db
        self.tasks.append({
            "task_id": f"{self.site}-{len(self.tasks) + 1:03d}",
            "sites": [self.site],
            "start_url": f"__{self.site.upper()}__{start}",
            "intent": intent,
            "require_login": login,
            "difficulty": difficulty,
            "category": category,
            "eval": ev,
            "reference": reference,
        })


def points(n: int) -> str:
    """A forum score as the forum prints it: ``1 point``, ``5 points``."""
    return f"{n} point" + ("" if abs(n) == 1 else "s")


def search_steps(query: str, link: str) -> list[str]:
    """Reference steps: search for ``query`` in the header's search box, then open ``link``."""
    return [f"type [searchbox 'Search'] [{query}] [1]", f"click [link '{link}']"]
