"""The forum's built-in tasks, read from the seeded database: posts, comments, users and karma,
navigation, and votes, comments, replies, posts and biography changes."""

from __future__ import annotations

import sqlite3

from ponder.environments.sites.forum import karma, list_posts
from ponder.environments.task_builders.common import ALEX_FORUM, Builder, points, search_steps

__all__ = ["forum_tasks"]


def forum_tasks(conn: sqlite3.Connection) -> list[dict]:
    """The forum site's tasks (JSON-ready dicts, ids ``forum-001``...) from a seeded database ``conn``."""
    b = Builder("forum")
    q = conn.execute
    forums = q("SELECT * FROM forum_forums ORDER BY position").fetchall()
    posts = q("SELECT p.*, u.username AS author, f.title AS forum_title,"
              " (SELECT COUNT(*) FROM forum_comments c WHERE c.post_id = p.id) AS n_comments"
              " FROM forum_posts p JOIN users u ON u.id = p.user_id JOIN forum_forums f ON f.name = p.forum ORDER BY p.id").fetchall()
    titles = [p["title"] for p in posts]
    unique = [p for p in posts if titles.count(p["title"]) == 1 and not any(
        p["title"] != t and p["title"] in t for t in titles)]

    def open_post(p) -> list[str]:
        return [f"click [link '{p['forum_title']}']", *(["click [link 'Next page']"] if _page_of(p) > 1 else []),
                f"click [link '{p['title']}']"]

    def _page_of(p) -> int:
        ordered = [x["id"] for x in list_posts(conn, p["forum"], "new")]
        return ordered.index(p["id"]) // 10 + 1

    with_comments = [p for p in unique if p["n_comments"] >= 3]
    for p in with_comments[0:2]:
        b.add(f"How many comments does the forum post \"{p['title']}\" have?", difficulty="easy", category="info",
              reference=[*open_post(p), f"stop [{p['n_comments']}]"], string={"must_include": [str(p["n_comments"])]})
    for p in unique[3:5]:
        b.add(f"Who wrote the forum post \"{p['title']}\"?", difficulty="easy", category="info",
              reference=[*open_post(p), f"stop [{p['author']}]"], string={"must_include": [p["author"]]})
    p = unique[6]
    b.add(f"How many points does the post \"{p['title']}\" have?", difficulty="easy", category="info",
          reference=[*open_post(p), f"stop [{p['score']}]"], string={"must_include": [str(p["score"])]})
    p = unique[8]
    b.add(f"In which forum was the post \"{p['title']}\" published?", difficulty="easy", category="info",
          reference=[*search_steps(p["title"], p["title"]), f"stop [{p['forum_title']}]"],
          string={"must_include": [p["forum_title"]]})
    for f in forums[:2]:
        top = list_posts(conn, f["name"], "top")
        b.add(f"What is the title of the highest-scoring post in the {f['title']} forum?", difficulty="medium",
              category="info",
              reference=[f"click [link '{f['title']}']", "click [link 'Top']", f"stop [{top[0]['title']}]"],
              string={"must_include": [top[0]["title"]]})
    for f in forums[2:]:
        top = list_posts(conn, f["name"], "comments")
        if top[0]["n_comments"] > top[1]["n_comments"]:
            b.add(f"Which post in the {f['title']} forum has the most comments?", difficulty="medium", category="info",
                  reference=[f"click [link '{f['title']}']", "click [link 'Most comments']", f"stop [{top[0]['title']}]"],
                  string={"must_include": [top[0]["title"]]})
            break
    f = forums[3]
    n = q("SELECT COUNT(*) FROM forum_posts WHERE forum = ?", (f["name"],)).fetchone()[0]
    b.add(f"How many posts are there in the {f['title']} forum?", difficulty="easy", category="info",
          reference=[f"stop [{n}]"], string={"must_include": [str(n)]})
    users = q("SELECT * FROM users WHERE site = 'forum' AND username != 'alex' ORDER BY id").fetchall()
    for u in users[1:3]:
        k = karma(conn, u["id"])
        b.add(f"What is the karma of the forum user {u['username']}?", difficulty="medium", category="info",
              reference=[f"goto [__FORUM__/u/{u['username']}]", f"stop [{k}]"], string={"must_include": [str(k)]})
    u = users[4]
    b.add(f"When did {u['username']} join the forum?", difficulty="easy", category="info",
          reference=[f"goto [__FORUM__/u/{u['username']}]", f"stop [{u['joined']}]"],
          string={"must_include": [u["joined"]]})
    u = users[5]
    n = q("SELECT COUNT(*) FROM forum_posts WHERE user_id = ?", (u["id"],)).fetchone()[0]
    b.add(f"How many posts has {u['username']} written?", difficulty="medium", category="info",
          reference=[f"goto [__FORUM__/u/{u['username']}]", f"stop [{n}]"], string={"must_include": [str(n)]})
    u = users[6]
    n = q("SELECT COUNT(*) FROM forum_comments WHERE user_id = ?", (u["id"],)).fetchone()[0]
    b.add(f"How many comments has {u['username']} made on the forum?", difficulty="medium", category="info",
          reference=[f"goto [__FORUM__/u/{u['username']}]", f"stop [{n}]"], string={"must_include": [str(n)]})
    u = users[7]
    b.add(f"What does {u['username']}'s forum biography say?", difficulty="easy", category="info",
          reference=[f"goto [__FORUM__/u/{u['username']}]", f"stop [{u['bio']}]"], string={"fuzzy_match": [u["bio"]]})
    for p in with_comments[2:]:
        first = q("SELECT c.*, u.username FROM forum_comments c JOIN users u ON u.id = c.user_id WHERE post_id = ?"
                  " ORDER BY created, c.id LIMIT 1", (p["id"],)).fetchone()
        b.add(f"Who wrote the first comment on the post \"{p['title']}\"?", difficulty="medium", category="info",
              reference=[*open_post(p), f"stop [{first['username']}]"], string={"must_include": [first["username"]]})
        break
    # a reply: the only nested comment under a unique parent author
    for p in unique:
        rows = q("SELECT c.*, u.username FROM forum_comments c JOIN users u ON u.id = c.user_id WHERE post_id = ?",
                 (p["id"],)).fetchall()
        nested = [c for c in rows if c["parent_id"] is not None]
        if len(nested) != 1:
            continue
        parent = next(c for c in rows if c["id"] == nested[0]["parent_id"])
        if sum(1 for c in rows if c["username"] == parent["username"]) != 1 or nested[0]["username"] == parent["username"]:
            continue
        b.add(f"On the post \"{p['title']}\", who replied to {parent['username']}'s comment, and what did they say?",
              difficulty="hard", category="info",
              reference=[*open_post(p), f"stop [{nested[0]['username']}: {nested[0]['body']}]"],
              string={"must_include": [nested[0]["username"]], "fuzzy_match": [nested[0]["body"]]})
        break

    # navigation
    f = forums[4]
    b.add(f"Show the {f['title']} forum sorted by top posts.", difficulty="easy", category="navigation",
          reference=[f"click [link '{f['title']}']", "click [link 'Top']", "stop []"], url=f"__FORUM__/f/{f['name']}?sort=top")
    p = unique[10]
    b.add(f"Open the profile of the person who wrote the post \"{p['title']}\".", difficulty="medium",
          category="navigation", reference=[*open_post(p), f"click [link '{p['author']}']", "stop []"],
          url=f"__FORUM__/u/{p['author']}")
    b.add("Search the forum for posts about night trains.", difficulty="easy", category="navigation",
          reference=["type [searchbox 'Search'] [night trains] [1]", "stop []"], url="__FORUM__/search?q=night+trains")
    f = forums[5]
    b.add(f"Go to the second page of the {f['title']} forum.", difficulty="easy", category="navigation",
          reference=[f"click [link '{f['title']}']", "click [link 'Next page']", "stop []"], url=f"__FORUM__/f/{f['name']}?page=2")
    p = unique[12]
    b.add(f"Open the post \"{p['title']}\".", difficulty="easy", category="navigation",
          reference=[*open_post(p), "stop []"], url=f"__FORUM__/f/{p['forum']}/{p['id']}")

    # state changes
    def vote_row(kind: str, target: int, value: int) -> dict:
        return {"sql": f"SELECT value FROM forum_votes WHERE user_id = {ALEX_FORUM} AND kind = ? AND target_id = ?",
                "params": [kind, target], "expected": [[value]]}

    for p in unique[14:16]:
        b.add(f"Upvote the post \"{p['title']}\".", difficulty="easy", category="state", login=True,
              reference=[*open_post(p), "click [button 'Upvote post']", "stop []"], db=[vote_row("post", p["id"], 1)],
              html=[{"url": "last", "locator": "document.querySelector('#post-score').outerText",
                     "required_contents": {"must_include": [points(p["score"] + 1)]}}])
    p = unique[16]
    b.add(f"Downvote the post \"{p['title']}\".", difficulty="easy", category="state", login=True,
          reference=[*open_post(p), "click [button 'Downvote post']", "stop []"], db=[vote_row("post", p["id"], -1)])
    for p, text in ((unique[17], "Thanks, this helped me a lot."), (unique[18], "I tried this last spring and it worked.")):
        b.add(f"Comment \"{text}\" on the post \"{p['title']}\".", difficulty="medium", category="state", login=True,
              reference=[*open_post(p), f"type [textbox 'Comment'] [{text}] [0]", "click [button 'Post comment']", "stop []"],
              db=[{"sql": f"SELECT COUNT(*) FROM forum_comments WHERE post_id = ? AND user_id = {ALEX_FORUM}"
                          " AND parent_id IS NULL AND body = ?", "params": [p["id"], text], "expected": [[1]]}],
              html=[{"url": "last", "locator": "document.querySelector('#comments').outerText",
                     "required_contents": {"must_include": [text]}}])
    for p in with_comments[3:]:
        c = q("SELECT c.*, u.username FROM forum_comments c JOIN users u ON u.id = c.user_id WHERE post_id = ?"
              " ORDER BY c.score DESC, c.id", (p["id"],)).fetchall()
        if len(c) >= 2 and c[0]["score"] > c[1]["score"]:
            b.add(f"Upvote the highest-scoring comment on the post \"{p['title']}\".", difficulty="hard",
                  category="state", login=True,
                  reference=[*open_post(p), f"click [button 'Upvote comment {c[0]['id']}']", "stop []"],
                  db=[vote_row("comment", c[0]["id"], 1)])
            text = "Good point, I agree."
            b.add(f"Reply \"{text}\" to {c[0]['username']}'s highest-scoring comment on the post \"{p['title']}\".",
                  difficulty="hard", category="state", login=True,
                  reference=[*open_post(p), f"click [link 'Reply to comment {c[0]['id']}']",
                             f"type [textbox 'Reply'] [{text}] [0]", "click [button 'Post reply']", "stop []"],
                  db=[{"sql": f"SELECT parent_id, body FROM forum_comments WHERE user_id = {ALEX_FORUM} AND post_id = ?",
                       "params": [p["id"]], "expected": [[c[0]["id"], text]]}])
            break
    for f, title, body in ((forums[1], "Favourite weeknight soup?", "Looking for something warm and quick."),
                           (forums[6], "Which lens for a first portrait?", "I have a small budget and an old camera.")):
        b.add(f"Create a post in the {f['title']} forum titled \"{title}\" with the text \"{body}\".",
              difficulty="medium", category="state", login=True,
              reference=["click [link 'Submit a post']", f"select [combobox 'Forum'] [{f['title']}]",
                         f"type [textbox 'Title'] [{title}] [0]", f"type [textbox 'Body'] [{body}] [0]",
                         "click [button 'Submit post']", "stop []"],
              db=[{"sql": f"SELECT forum, body FROM forum_posts WHERE user_id = {ALEX_FORUM} AND title = ?",
                   "params": [title], "expected": [[f["name"], body]]}])
    bio = "Amateur baker and weekend cyclist."
    b.add(f"Change my forum biography to \"{bio}\".", difficulty="medium", category="state", login=True,
          reference=["click [link 'My profile']", "click [link 'Edit profile']", f"type [textbox 'Biography'] [{bio}] [0]",
                     "click [button 'Save profile']", "stop []"],
          db=[{"sql": "SELECT bio FROM users WHERE site = 'forum' AND username = 'alex'", "expected": [[bio]]}],
          html=[{"url": "__FORUM__/u/alex", "locator": "document.querySelector('#bio').outerText",
                 "required_contents": {"exact_match": bio}}])
    return b.tasks
