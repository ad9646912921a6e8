"""The wiki: 63 seeded articles about a fictional world (countries, cities, rivers, mountains,
people, inventions, languages) that link to each other, with categories, search, editing with
full revision history, and page creation.

Articles are stored as revisions of a small wikitext: ``'''bold'''``, ``== Heading ==``,
``* list items``, ``[[Target]]`` / ``[[Target|label]]`` links and ``[[Category:Name]]`` tags.
Facts sit in a "Facts" section as ``* Key: value`` lines, which makes them easy to find for an
agent and easy to check for an evaluator.
"""

from __future__ import annotations

import random
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ponder.environments.sites.common import SiteContext, hash_password, page_links, pager_for

SCHEMA = """
CREATE TABLE wiki_pages (id INTEGER PRIMARY KEY, title TEXT UNIQUE NOT NULL COLLATE NOCASE, current_rev INTEGER);
CREATE TABLE wiki_revisions (
  id INTEGER PRIMARY KEY, page_id INTEGER NOT NULL, user_id INTEGER NOT NULL, content TEXT NOT NULL,
  summary TEXT NOT NULL, created TEXT NOT NULL
);
CREATE INDEX wiki_revisions_page ON wiki_revisions(page_id);
"""

DEFAULT_USER = "alex"
DEFAULT_PASSWORD = "password123"
EDITORS = ["Quillon", "Marginalia", "Ferrule", "Inkstone", "Palimpsest", "Vellum", "Rubricator", "Folio", "Gazetteer",
           "Scrivener"]
SYLLABLES = ["var", "nor", "es", "ka", "ri", "tel", "mon", "da", "lu", "sen", "ar", "bel", "or", "vin", "tha", "zel",
             "ro", "ma", "hal", "cas", "dun", "eli", "fen", "gor", "ith", "jor", "kel", "lin", "mir", "os"]
FIRST_NAMES = ["Aldric", "Brenna", "Cassian", "Delia", "Edmund", "Fiora", "Gideon", "Hestia", "Ivo", "Juna",
               "Konrad", "Liora", "Matthias", "Nerys", "Oren", "Petra", "Quentin", "Rosalind"]
OCCUPATIONS = ["explorer", "astronomer", "architect", "poet", "inventor", "cartographer", "mathematician"]
INVENTIONS = ["Tide Clock", "Lantern Press", "Wind Loom", "Star Compass", "Water Organ", "Salt Engine"]
CURRENCIES = ["crown", "mark", "florin", "thaler", "ducat"]
PAGE_SIZE = 20
LINK = re.compile(r"\[\[([^\]|]+)(?:\|([^\]]+))?\]\]")
CATEGORY = re.compile(r"\[\[Category:([^\]]+)\]\]")


def _name(rng: random.Random, used: set[str], parts: int) -> str:
    while True:
        name = "".join(rng.choice(SYLLABLES) for _ in range(parts)).capitalize()
        if name not in used and len(name) >= 4:
            used.add(name)
            return name


def _fmt(n: int) -> str:
    return f"{n:,}"


def generate_world(rng: random.Random) -> dict[str, dict]:
    """The fictional world: title -> {"kind", "facts", "content", "history"} (facts as a dict)."""
    used: set[str] = set()
    countries = [_name(rng, used, 3) for _ in range(5)]
    languages = [_name(rng, used, 2) + "ic" for _ in range(4)]
    cities = [_name(rng, used, 2 + (i % 2)) for i in range(20)]
    rivers = [_name(rng, used, 2) + " River" for _ in range(8)]
    mountains = ["Mount " + _name(rng, used, 2) for _ in range(6)]
    people = []
    for first in rng.sample(FIRST_NAMES, 14):
        people.append(f"{first} {_name(rng, used, 2)}")
    world: dict[str, dict] = {}

    person_facts = {}
    for i, person in enumerate(people):
        born = rng.randint(1150, 1750)
        person_facts[person] = {
            "Born": str(born), "Died": str(born + rng.randint(38, 88)), "Birthplace": f"[[{cities[i]}]]",
            "Occupation": OCCUPATIONS[i % len(OCCUPATIONS)],
        }
    country_of = {c: countries[i % len(countries)] for i, c in enumerate(cities)}
    river_of = {c: rivers[i % len(rivers)] for i, c in enumerate(cities)}
    for i, country in enumerate(countries):
        capital = cities[i]
        facts = {"Capital": f"[[{capital}]]", "Population": _fmt(rng.randint(8, 90) * 100_000),
                 "Official language": f"[[{languages[i % len(languages)]}]]", "Currency": CURRENCIES[i].capitalize(),
                 "Founded": str(rng.randint(800, 1400))}
        intro = (f"'''{country}''' is a country whose capital is [[{capital}]]. Its people speak "
                 f"[[{languages[i % len(languages)]}]] and pay in {CURRENCIES[i]}s.")
        world[country] = {"kind": "Countries", "facts": facts, "intro": intro,
                          "history": f"{country} was unified in {facts['Founded']} after a long series of river wars."}
    for i, city in enumerate(cities):
        founder = people[(i * 3) % len(people)]
        founded = rng.randint(900, 1700)
        facts = {"Country": f"[[{country_of[city]}]]", "Population": _fmt(rng.randint(12, 950) * 1000),
                 "Founded": str(founded), "Founder": f"[[{founder}]]", "River": f"[[{river_of[city]}]]",
                 "Elevation": f"{rng.randint(2, 900)} m"}
        capital_note = " It is the capital of the country." if i < len(countries) else ""
        intro = (f"'''{city}''' is a city in [[{country_of[city]}]] on the [[{river_of[city]}]]. It was founded in "
                 f"{founded} by [[{founder}]].{capital_note}")
        world[city] = {"kind": "Cities", "facts": facts, "intro": intro,
                       "history": f"{city} grew around a {rng.choice(['market', 'harbour', 'monastery', 'bridge', 'mill'])} in its early years."}
    for i, river in enumerate(rivers):
        through = [c for c in cities if river_of[c] == river]
        source = mountains[i % len(mountains)]
        facts = {"Length": f"{rng.randint(80, 2400)} km", "Source": f"[[{source}]]",
                 "Country": f"[[{country_of[through[0]]}]]" if through else "Unknown",
                 "Cities": ", ".join(f"[[{c}]]" for c in through)}
        intro = f"The '''{river}''' rises on [[{source}]] and flows through " + " and ".join(f"[[{c}]]" for c in through) + "."
        world[river] = {"kind": "Rivers", "facts": facts, "intro": intro,
                        "history": f"Boats have carried {rng.choice(['salt', 'timber', 'grain', 'wool'])} down the {river} for centuries."}
    for i, mountain in enumerate(mountains):
        climber = people[(i * 5 + 1) % len(people)]
        facts = {"Height": f"{_fmt(rng.randint(1200, 6900))} m", "Country": f"[[{countries[i % len(countries)]}]]",
                 "First ascent": str(rng.randint(1500, 1900)), "First climbed by": f"[[{climber}]]"}
        intro = f"'''{mountain}''' is a mountain in [[{countries[i % len(countries)]}]], first climbed by [[{climber}]]."
        world[mountain] = {"kind": "Mountains", "facts": facts, "intro": intro,
                           "history": f"Snow covers the summit of {mountain} for most of the year."}
    for i, invention in enumerate(INVENTIONS):
        inventor = people[(i * 2 + 1) % len(people)]
        year = int(person_facts[inventor]["Born"]) + rng.randint(20, 35)
        facts = {"Inventor": f"[[{inventor}]]", "Year": str(year), "Purpose": rng.choice(
            ["timekeeping", "printing", "weaving", "navigation", "music", "mining"])}
        intro = f"The '''{invention}''' is a device invented by [[{inventor}]] in {year}."
        world[invention] = {"kind": "Inventions", "facts": facts, "intro": intro,
                            "history": f"Early models of the {invention} were built from oak and brass."}
        person_facts[inventor].setdefault("Known for", f"[[{invention}]]")
    for i, language in enumerate(languages):
        spoken = [c for j, c in enumerate(countries) if j % len(languages) == i]
        facts = {"Speakers": _fmt(rng.randint(2, 60) * 100_000), "Spoken in": ", ".join(f"[[{c}]]" for c in spoken) or "None",
                 "Script": rng.choice(["Runic", "Latin", "Syllabic"])}
        intro = f"'''{language}''' is a language spoken in " + (" and ".join(f"[[{c}]]" for c in spoken) or "no country today") + "."
        world[language] = {"kind": "Languages", "facts": facts, "intro": intro,
                           "history": f"{language} has a rich tradition of {rng.choice(['songs', 'epics', 'riddles'])}."}
    for person in people:
        facts = person_facts[person]
        intro = (f"'''{person}''' ({facts['Born']}-{facts['Died']}) was a {facts['Occupation']} born in "
                 f"{facts['Birthplace']}.")
        world[person] = {"kind": "People", "facts": facts, "intro": intro,
                         "history": f"{person.split()[0]} spent many years travelling before settling down."}
    return world


def render_content(kind: str, intro: str, facts: dict[str, str], history: str | None) -> str:
    lines = [intro, "", "== Facts =="] + [f"* {k}: {v}" for k, v in facts.items()]
    if history:
        lines += ["", "== History ==", history]
    lines += ["", f"[[Category:{kind}]]"]
    return "\n".join(lines)


def seed(conn: sqlite3.Connection, rng: random.Random) -> None:
    """Fill the wiki tables deterministically from ``rng``: every article gets 1-4 revisions."""
    ids = []
    for username in [DEFAULT_USER, *EDITORS]:
        cur = conn.execute(
            "INSERT INTO users(site, username, password, display_name, email, joined) VALUES ('wiki', ?, ?, ?, ?, '2023-05-01')",
            (username, hash_password(DEFAULT_PASSWORD), username, f"{username.lower()}@example.net"),
        )
        ids.append(cur.lastrowid)
    editors = ids[1:]
    world = generate_world(rng)
    clock = datetime(2024, 2, 1, 10, 0)
    for title, art in world.items():
        page_id = conn.execute("INSERT INTO wiki_pages(title) VALUES (?)", (title,)).lastrowid
        final = render_content(art["kind"], art["intro"], art["facts"], art["history"])
        n_extra = rng.choice([0, 1, 1, 2, 3])
        first = final if n_extra == 0 else render_content(art["kind"], art["intro"], art["facts"], None)
        versions = [(first, "Created page")]
        if n_extra >= 1:
            versions.append((final, "Added history section"))
        if n_extra >= 2 and "Population" in art["facts"]:
            old = dict(art["facts"], Population=_fmt(int(art["facts"]["Population"].replace(",", "")) - rng.randint(1, 9) * 1000))
            versions = [(render_content(art["kind"], art["intro"], old, None), "Created page"),
                        (render_content(art["kind"], art["intro"], old, art["history"]), "Added history section"),
                        (final, "Updated population figure")]
        if n_extra >= 3:
            versions.append((final + "\n", "Copyedit"))
        if versions[-1][0].strip() != final.strip():
            versions.append((final, "Updated facts"))
        rev_id = None
        for content, summary in versions:
            clock += timedelta(hours=rng.randint(1, 90), minutes=rng.randint(0, 59))
            rev_id = conn.execute(
                "INSERT INTO wiki_revisions(page_id, user_id, content, summary, created) VALUES (?, ?, ?, ?, ?)",
                (page_id, rng.choice(editors), content, summary, clock.strftime("%Y-%m-%d %H:%M")),
            ).lastrowid
        conn.execute("UPDATE wiki_pages SET current_rev = ? WHERE id = ?", (rev_id, page_id))


def title_path(title: str) -> str:
    """The URL path segment of a title: spaces as underscores, the rest percent-encoded."""
    return quote(title.replace(" ", "_"), safe="")


def title_from_path(segment: str) -> str:
    return segment.replace("_", " ").strip()


def wikitext_to_html(text: str, prefix: str, exists) -> tuple[Markup, list[str]]:
    """Render wikitext; returns the HTML and the categories it declares."""
    categories = [c.strip() for c in CATEGORY.findall(text)]
    text = CATEGORY.sub("", text)
    out: list[str] = []
    in_list = False

    def inline(s: str) -> str:
        parts = s.split("'''")
        s = "".join(str(escape(part)) if i % 2 == 0 else f"<b>{escape(part)}</b>" for i, part in enumerate(parts))

        def link(m: re.Match) -> str:
            target = m.group(1).strip()
            label = (m.group(2) or target).strip()
            cls = "" if exists(target) else ' class="new"'
            return f'<a href="{prefix}/article/{title_path(target)}"{cls}>{label}</a>'

        return LINK.sub(link, s)

    para: list[str] = []

    def flush() -> None:
        if para:
            out.append("<p>" + " ".join(para) + "</p>")
            para.clear()

    for raw in text.splitlines():
        line = raw.strip()
        heading = re.fullmatch(r"(={2,4})\s*(.+?)\s*\1", line)
        if line.startswith("* "):
            flush()
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append(f"<li>{inline(line[2:])}</li>")
            continue
        if in_list:
            out.append("</ul>")
            in_list = False
        if heading:
            flush()
            level = len(heading.group(1))
            out.append(f"<h{level}>{inline(heading.group(2))}</h{level}>")
        elif not line:
            flush()
        else:
            para.append(inline(line))
    flush()
    if in_list:
        out.append("</ul>")
    return Markup("\n".join(out)), categories


def facts_of(content: str) -> dict[str, str]:
    """The ``* Key: value`` facts of an article, links reduced to their labels."""
    facts = {}
    for line in content.splitlines():
        m = re.match(r"\*\s*([^:]+):\s*(.+)", line.strip())
        if m:
            facts[m.group(1).strip()] = LINK.sub(lambda x: (x.group(2) or x.group(1)).strip(), m.group(2)).strip()
    return facts


CURRENT_SQL = (
    "SELECT p.id AS page_id, p.title, r.id AS rev_id, r.content, r.summary, r.created, u.username AS editor"
    " FROM wiki_pages p JOIN wiki_revisions r ON r.id = p.current_rev JOIN users u ON u.id = r.user_id"
)


def routes(ctx: SiteContext) -> list:
    conn = ctx.conn

    def exists(title: str) -> bool:
        return conn.execute("SELECT 1 FROM wiki_pages WHERE title = ?", (title,)).fetchone() is not None

    def current(title: str) -> sqlite3.Row | None:
        return conn.execute(CURRENT_SQL + " WHERE p.title = ?", (title,)).fetchone()

    def categories() -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in conn.execute(CURRENT_SQL):
            for cat in set(CATEGORY.findall(row["content"])):
                counts[cat.strip()] = counts.get(cat.strip(), 0) + 1
        return dict(sorted(counts.items()))

    def home(request: Request, form: dict) -> Response:
        n = conn.execute("SELECT COUNT(*) FROM wiki_pages").fetchone()[0]
        featured = conn.execute(CURRENT_SQL + " ORDER BY p.id LIMIT 1").fetchone()
        return ctx.render(request, "home.html", n_articles=n, categories=categories(), featured=featured,
                          title_path=title_path)

    def article(request: Request, form: dict) -> Response:
        title = title_from_path(request.path_params["title"])
        page = current(title)
        if page is None:
            return ctx.render(request, "missing.html", title=title, title_path=title_path, status=404)
        html, cats = wikitext_to_html(page["content"], ctx.prefix, exists)
        return ctx.render(request, "article.html", page=page, html=html, cats=cats, title_path=title_path)

    def edit(request: Request, form: dict) -> Response:
        user, redirect = ctx.require_user(request)
        if redirect:
            return redirect
        title = title_from_path(request.path_params["title"])
        page = current(title)
        if request.method == "GET":
            return ctx.render(request, "edit.html", user=user, title=title, page=page, title_path=title_path,
                              content=page["content"] if page else "")
        content = form.get("content", "").replace("\r\n", "\n").strip()
        summary = form.get("summary", "").strip() or ("Created page" if page is None else "No summary")
        if not content:
            return ctx.redirect(f"/article/{title_path(title)}/edit", msg="A page cannot be empty.")
        if page is not None and content == page["content"].strip():
            return ctx.redirect(f"/article/{title_path(page['title'])}", msg="No changes were made.")
        if page is None:
            if not re.fullmatch(r"[^\[\]{}|#<>/]{1,120}", title) or title.lower().startswith("category:"):
                return ctx.redirect("/", msg="That is not a valid page title.")
            page_id = conn.execute("INSERT INTO wiki_pages(title) VALUES (?)", (title,)).lastrowid
        else:
            page_id, title = page["page_id"], page["title"]
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
        rev_id = conn.execute(
            "INSERT INTO wiki_revisions(page_id, user_id, content, summary, created) VALUES (?, ?, ?, ?, ?)",
            (page_id, user["id"], content, summary, now),
        ).lastrowid
        conn.execute("UPDATE wiki_pages SET current_rev = ? WHERE id = ?", (rev_id, page_id))
        return ctx.redirect(f"/article/{title_path(title)}", msg="Your edit was saved.")

    def history(request: Request, form: dict) -> Response:
        page = current(title_from_path(request.path_params["title"]))
        if page is None:
            return ctx.not_found(request, "article")
        revisions = conn.execute(
            "SELECT r.*, u.username AS editor FROM wiki_revisions r JOIN users u ON u.id = r.user_id"
            " WHERE r.page_id = ? ORDER BY r.id DESC",
            (page["page_id"],),
        ).fetchall()
        return ctx.render(request, "history.html", page=page, revisions=revisions, title_path=title_path)

    def revision(request: Request, form: dict) -> Response:
        page = current(title_from_path(request.path_params["title"]))
        rev = conn.execute(
            "SELECT r.*, u.username AS editor FROM wiki_revisions r JOIN users u ON u.id = r.user_id"
            " WHERE r.id = ? AND r.page_id = ?",
            (request.path_params["rid"], page["page_id"] if page else -1),
        ).fetchone()
        if rev is None:
            return ctx.not_found(request, "revision")
        html, cats = wikitext_to_html(rev["content"], ctx.prefix, exists)
        return ctx.render(request, "revision.html", page=page, rev=rev, html=html, title_path=title_path)

    def category(request: Request, form: dict) -> Response:
        name = title_from_path(request.path_params["name"])
        tag = f"[[Category:{name}]]"
        titles = [r["title"] for r in conn.execute(CURRENT_SQL + " ORDER BY p.title") if tag in r["content"]]
        if not titles:
            return ctx.not_found(request, "category")
        return ctx.render(request, "category.html", name=name, titles=titles, title_path=title_path)

    def all_categories(request: Request, form: dict) -> Response:
        return ctx.render(request, "categories.html", categories=categories(), title_path=title_path)

    def search(request: Request, form: dict) -> Response:
        q = request.query_params.get("q", "").strip()
        results = []
        if q:
            words = [w.lower() for w in q.split()]
            for row in conn.execute(CURRENT_SQL + " ORDER BY p.title"):
                title, text = row["title"].lower(), row["content"].lower()
                if all(w in title or w in text for w in words):
                    in_title = all(w in title for w in words)
                    body = LINK.sub(lambda m: (m.group(2) or m.group(1)), CATEGORY.sub("", row["content"]))
                    body = body.replace("'''", "")
                    pos = max(0, body.lower().find(words[0]) - 40)
                    results.append((0 if in_title else 1, row["title"], body[pos: pos + 120].replace("\n", " ")))
            results.sort()
        pager = pager_for(request, len(results))
        return ctx.render(request, "search.html", q=q, results=results[pager.offset: pager.offset + pager.size],
                          total=len(results), pager=pager, links=page_links(ctx, request, "/search", pager),
                          title_path=title_path)

    def recent(request: Request, form: dict) -> Response:
        rows = conn.execute(
            "SELECT r.*, p.title, u.username AS editor FROM wiki_revisions r JOIN wiki_pages p ON p.id = r.page_id"
            " JOIN users u ON u.id = r.user_id ORDER BY r.created DESC, r.id DESC LIMIT 20"
        ).fetchall()
        return ctx.render(request, "recent.html", rows=rows, title_path=title_path)

    def new_page(request: Request, form: dict) -> Response:
        user, redirect = ctx.require_user(request)
        if redirect:
            return redirect
        if request.method == "POST":
            title = form.get("title", "").strip()
            if not title:
                return ctx.redirect("/new", msg="Give the new page a title.")
            if exists(title):
                return ctx.redirect(f"/article/{title_path(title)}", msg="That page already exists.")
            return ctx.redirect(f"/article/{title_path(title)}/edit")
        return ctx.render(request, "new.html", user=user)

    e = ctx.endpoint
    return [
        Route("/", e(home)),
        Route("/search", e(search)),
        Route("/recent", e(recent)),
        Route("/new", e(new_page), methods=["GET", "POST"]),
        Route("/categories", e(all_categories)),
        Route("/category/{name}", e(category)),
        Route("/article/{title}", e(article)),
        Route("/article/{title}/edit", e(edit), methods=["GET", "POST"]),
        Route("/article/{title}/history", e(history)),
        Route("/article/{title}/revision/{rid:int}", e(revision)),
        *ctx.login_routes(),
    ]
