"""The wiki's built-in tasks, read from the seeded database: article facts, links between articles,
revision history, navigation, and edits and new articles."""

from __future__ import annotations

import sqlite3

from ponder.environments.sites import wiki
from ponder.environments.sites.wiki import facts_of, title_path
from ponder.environments.task_builders.common import Builder

__all__ = ["wiki_tasks"]


def wiki_tasks(conn: sqlite3.Connection) -> list[dict]:
    """The wiki site's tasks (JSON-ready dicts, ids ``wiki-001``...) from a seeded database ``conn``."""
    b = Builder("wiki")
    q = conn.execute
    pages = q(wiki.CURRENT_SQL + " ORDER BY p.id").fetchall()
    info = {p["title"]: p for p in pages}
    facts = {p["title"]: facts_of(p["content"]) for p in pages}
    kind = {p["title"]: wiki.CATEGORY.findall(p["content"])[0] for p in pages}
    of = {k: [t for t in info if kind[t] == k] for k in set(kind.values())}
    titles = list(info)

    def open_article(title: str) -> list[str]:
        return [f"type [searchbox 'Search'] [{title}] [1]", f"click [link '{title}']"]

    def loose(value: str) -> str:
        """A number with thousands separators also matches without them."""
        return f"{value} |OR| {value.replace(',', '')}" if "," in value else value

    cities, countries = of["Cities"], of["Countries"]
    for c in cities[5:7]:
        pop = facts[c]["Population"]
        b.add(f"What is the population of {c}?", difficulty="easy", category="info",
              reference=[*open_article(c), f"stop [{pop}]"], string={"must_include": [loose(pop)]})
    c = cities[7]
    b.add(f"In what year was {c} founded?", difficulty="easy", category="info",
          reference=[*open_article(c), f"stop [{facts[c]['Founded']}]"], string={"must_include": [facts[c]["Founded"]]})
    c = cities[8]
    b.add(f"Who founded the city of {c}?", difficulty="easy", category="info",
          reference=[*open_article(c), f"stop [{facts[c]['Founder']}]"], string={"must_include": [facts[c]["Founder"]]})
    c = cities[9]
    b.add(f"Which river flows through {c}?", difficulty="easy", category="info",
          reference=[*open_article(c), f"stop [{facts[c]['River']}]"], string={"must_include": [facts[c]["River"]]})
    for k in countries[:2]:
        b.add(f"What is the capital of {k}?", difficulty="easy", category="info",
              reference=[*open_article(k), f"stop [{facts[k]['Capital']}]"], string={"must_include": [facts[k]["Capital"]]})
    k = countries[2]
    b.add(f"What is the official language of {k}?", difficulty="easy", category="info",
          reference=[*open_article(k), f"stop [{facts[k]['Official language']}]"],
          string={"must_include": [facts[k]["Official language"]]})
    m = of["Mountains"][1]
    b.add(f"How high is {m}, in metres?", difficulty="easy", category="info",
          reference=[*open_article(m), f"stop [{facts[m]['Height']}]"],
          string={"must_include": [loose(facts[m]["Height"].removesuffix(" m"))]})
    r = of["Rivers"][2]
    b.add(f"How long is the {r}?", difficulty="easy", category="info",
          reference=[*open_article(r), f"stop [{facts[r]['Length']}]"], string={"must_include": [facts[r]["Length"].removesuffix(" km")]})
    inv = of["Inventions"][0]
    b.add(f"Who invented the {inv}?", difficulty="easy", category="info",
          reference=[*open_article(inv), f"stop [{facts[inv]['Inventor']}]"], string={"must_include": [facts[inv]["Inventor"]]})
    n_people = len(of["People"])
    b.add("How many articles are there in the People category of the wiki?", difficulty="medium", category="info",
          reference=["click [link 'People']", f"stop [{n_people}]"], string={"must_include": [str(n_people)]})
    for k in countries[3:5]:
        cap = facts[k]["Capital"]
        b.add(f"What is the population of the capital city of {k}?", difficulty="hard", category="info",
              reference=[*open_article(k), f"click [link '{cap}']", f"stop [{facts[cap]['Population']}]"],
              string={"must_include": [loose(facts[cap]["Population"])]})
    inv = of["Inventions"][2]
    person = facts[inv]["Inventor"]
    b.add(f"In which city was the inventor of the {inv} born?", difficulty="hard", category="info",
          reference=[*open_article(inv), f"click [link '{person}']", f"stop [{facts[person]['Birthplace']}]"],
          string={"must_include": [facts[person]["Birthplace"]]})
    m = of["Mountains"][3]
    climber = facts[m]["First climbed by"]
    b.add(f"What was the occupation of the first person to climb {m}?", difficulty="hard", category="info",
          reference=[*open_article(m), f"click [link '{climber}']", f"stop [{facts[climber]['Occupation']}]"],
          string={"must_include": [facts[climber]["Occupation"]]})
    revs = {t: q("SELECT r.*, u.username FROM wiki_revisions r JOIN users u ON u.id = r.user_id WHERE page_id = ? ORDER BY r.id",
                 (info[t]["page_id"],)).fetchall() for t in titles}
    multi = [t for t in titles if len(revs[t]) >= 3 and len({r["username"] for r in revs[t]}) >= 2]
    for t in multi[:2]:
        b.add(f"Who made the most recent edit to the wiki article \"{t}\"?", difficulty="medium", category="info",
              reference=[*open_article(t), "click [link 'View history']", f"stop [{revs[t][-1]['username']}]"],
              string={"must_include": [revs[t][-1]["username"]]})
    t = multi[2]
    b.add(f"How many revisions does the wiki article \"{t}\" have?", difficulty="medium", category="info",
          reference=[*open_article(t), "click [link 'View history']", f"stop [{len(revs[t])}]"],
          string={"must_include": [str(len(revs[t]))]})
    t = multi[3]
    b.add(f"Who created the wiki article \"{t}\"?", difficulty="medium", category="info",
          reference=[*open_article(t), "click [link 'View history']", f"stop [{revs[t][0]['username']}]"],
          string={"must_include": [revs[t][0]["username"]]})
    updated = [t for t in cities if any(r["summary"] == "Updated population figure" for r in revs[t])]
    if updated:
        t = updated[0]
        idx = next(i for i, r in enumerate(revs[t]) if r["summary"] == "Updated population figure")
        old = facts_of(revs[t][idx - 1]["content"])["Population"]
        b.add(f"What was the population of {t} according to the wiki before its population figure was last updated?",
              difficulty="hard", category="info",
              reference=[*open_article(t), "click [link 'View history']", f"click [link 'Revision {revs[t][idx - 1]['id']}']",
                         f"stop [{old}]"],
              string={"must_include": [loose(old)]})
    person = of["People"][4]
    b.add(f"In what year did {person} win the Golden Quill award? If the wiki does not say, answer N/A.",
          difficulty="medium", category="info", reference=[*open_article(person), "stop [N/A]"],
          string={"fuzzy_match": "N/A"}, string_note="The wiki never mentions a Golden Quill award.")

    # navigation
    t = of["Rivers"][4]
    b.add(f"Open the wiki article about the {t}.", difficulty="easy", category="navigation",
          reference=[*open_article(t), "stop []"], url=f"__WIKI__/article/{title_path(t)}")
    t = of["People"][6]
    b.add(f"Show the revision history of the article about {t}.", difficulty="easy", category="navigation",
          reference=[*open_article(t), "click [link 'View history']", "stop []"], url=f"__WIKI__/article/{title_path(t)}/history")
    b.add("Show me the list of all mountains on the wiki (their category page).", difficulty="easy",
          category="navigation", reference=["click [link 'Mountains']", "stop []"], url="__WIKI__/category/Mountains")
    b.add("Search the wiki for \"salt\".", difficulty="easy", category="navigation",
          reference=["type [searchbox 'Search'] [salt] [1]", "stop []"], url="__WIKI__/search?q=salt")
    t = multi[4]
    b.add(f"Open the very first revision of the wiki article \"{t}\".", difficulty="medium", category="navigation",
          reference=[*open_article(t), "click [link 'View history']", f"click [link 'Revision {revs[t][0]['id']}']", "stop []"],
          url=f"__WIKI__/article/{title_path(t)}/revision/{revs[t][0]['id']}")

    # state changes
    def current_content(title: str, must: list[str]) -> dict:
        return {"sql": "SELECT r.content FROM wiki_pages p JOIN wiki_revisions r ON r.id = p.current_rev WHERE p.title = ?",
                "params": [title], "required_contents": {"must_include": must}}

    def edit_steps(title: str, content: str, summary: str) -> list[str]:
        return ["click [link 'Edit this page']", f"type [textbox 'Content'] [{content}] [0]",
                f"type [textbox 'Edit summary'] [{summary}] [0]", "click [button 'Save page']"]

    for c, new in ((cities[10], "1,234,000"), (cities[11], "77,500")):
        content = info[c]["content"].replace(f"* Population: {facts[c]['Population']}", f"* Population: {new}")
        b.add(f"Update the population of {c} on the wiki to {new}.", difficulty="medium", category="state", login=True,
              reference=[*open_article(c), *edit_steps(c, content, "Updated population"), "stop []"],
              db=[current_content(c, [f"Population: {new}", f"Founded: {facts[c]['Founded']}"])],
              html=[{"url": f"__WIKI__/article/{title_path(c)}", "locator": "document.querySelector('#content').outerText",
                     "required_contents": {"must_include": [f"Population: {new}"]}}])
    c = cities[12]
    content = info[c]["content"] + "\n[[Category:Port cities]]"
    b.add(f"Add the wiki article {c} to the category \"Port cities\".", difficulty="medium", category="state",
          login=True, reference=[*open_article(c), *edit_steps(c, content, "Added category"), "stop []"],
          db=[current_content(c, ["[[Category:Port cities]]", "[[Category:Cities]]"])],
          html=[{"url": "__WIKI__/category/Port_cities", "locator": "document.querySelector('#members') ? document.querySelector('#members').outerText : ''",
                 "required_contents": {"must_include": [c]}}])
    p = of["People"][8]
    sentence = f"{p} kept a detailed diary of every journey."
    content = info[p]["content"].replace("\n\n[[Category:", f" {sentence}\n\n[[Category:")
    b.add(f"Add the sentence \"{sentence}\" to the end of the History section of the wiki article about {p}.",
          difficulty="hard", category="state", login=True,
          reference=[*open_article(p), *edit_steps(p, content, "Added diary note"), "stop []"],
          db=[current_content(p, [sentence, "== History ==", f"Born: {facts[p]['Born']}"])])
    for title, text in (("Harbor of Lights", "The '''Harbor of Lights''' is a festival held every winter in [[" + cities[0] + "]]."),
                        ("Salt Road", "The '''Salt Road''' was a trade route that linked [[" + cities[1] + "]] and [[" + cities[2] + "]].")):
        b.add(f"Create a new wiki article titled \"{title}\" with the text: {text}", difficulty="medium",
              category="state", login=True,
              reference=["click [link 'Create a page']", f"type [textbox 'Page title'] [{title}] [0]",
                         "click [button 'Create']", f"type [textbox 'Content'] [{text}] [0]",
                         "type [textbox 'Edit summary'] [New article] [0]", "click [button 'Save page']", "stop []"],
              db=[current_content(title, [text])],
              html=[{"url": "last", "locator": "document.querySelector('#firstHeading') ? document.querySelector('#firstHeading').outerText : ''",
                     "required_contents": {"exact_match": title}}])
    assert len(titles) == len(set(titles))
    return b.tasks
