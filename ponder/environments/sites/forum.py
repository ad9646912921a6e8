"""The forum: seven subforums of seeded posts with threaded comments, up/down votes, user
profiles with karma, posting, replying, deleting one's own posts and search."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ponder.environments.sites.common import SiteContext, hash_password, int_param, page_links, pager_for

SCHEMA = """
CREATE TABLE forum_forums (name TEXT PRIMARY KEY, title TEXT NOT NULL, description TEXT NOT NULL, position INTEGER NOT NULL);
CREATE TABLE forum_posts (
  id INTEGER PRIMARY KEY, forum TEXT NOT NULL, user_id INTEGER NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL,
  created TEXT NOT NULL, score INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE forum_comments (
  id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL, parent_id INTEGER, user_id INTEGER NOT NULL, body TEXT NOT NULL,
  created TEXT NOT NULL, score INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE forum_votes (user_id INTEGER NOT NULL, kind TEXT NOT NULL, target_id INTEGER NOT NULL, value INTEGER NOT NULL,
  PRIMARY KEY (user_id, kind, target_id));
CREATE INDEX forum_posts_forum ON forum_posts(forum);
CREATE INDEX forum_comments_post ON forum_comments(post_id);
"""

FORUMS = {
    "technology": ("Technology", "Gadgets, software and the machines we live with.",
                   ["home servers", "mechanical keyboards", "Linux laptops", "self-hosting", "retro computing",
                    "password managers", "3D printing", "smart home gear"]),
    "cooking": ("Cooking", "Recipes, techniques and kitchen disasters.",
                ["sourdough", "fermentation", "cast iron pans", "meal prep", "homemade pasta", "curry", "bread baking",
                 "knife skills"]),
    "gardening": ("Gardening", "Growing food and flowers, indoors and out.",
                  ["tomatoes", "composting", "raised beds", "houseplants", "seed saving", "fruit trees",
                   "balcony gardens", "succulents"]),
    "books": ("Books", "What we are reading and why.",
              ["science fiction", "poetry", "audiobooks", "book clubs", "historical fiction", "reading slumps",
               "classic novels", "graphic novels"]),
    "travel": ("Travel", "Trips, routes and packing lists.",
               ["solo travel", "night trains", "budget hostels", "travel insurance", "packing light", "long layovers",
                "road trips", "language apps"]),
    "fitness": ("Fitness", "Training, recovery and staying motivated.",
                ["running", "kettlebells", "stretching", "home workouts", "cycling", "rock climbing", "rest days",
                 "swimming"]),
    "photography": ("Photography", "Cameras, light and the pictures we take.",
                    ["film cameras", "street photography", "night photography", "prime lenses", "photo editing",
                     "tripods", "portraits", "bird photography"]),
}
TITLES = [
    "Best way to get started with {t}?", "What I learned from a year of {t}", "Is {t} worth the effort?",
    "Help: {t} keeps going wrong for me", "Unpopular opinion about {t}", "Beginner question about {t}",
    "Show off your {t} setup", "{T} on a budget", "Favourite resources for {t}", "Mistakes I made with {t}",
]
OPINIONS = [
    "Honestly it was harder than the guides made it look", "It has become the best part of my week",
    "I almost gave up twice before it clicked", "The community advice here saved me a lot of money",
    "I still think most people overcomplicate it", "Patience matters more than gear",
]
REPLIES = [
    "Great point, thanks for sharing.", "I had the same problem last year and gave up.", "Could you post more details?",
    "This is the advice I needed today.", "I respectfully disagree with most of this.", "Bookmarking this for later.",
    "Have you tried starting smaller?", "Same here, it took me months.", "The second paragraph is spot on.",
    "Which guide did you follow?", "Welcome to the club!", "I would add that timing matters a lot.",
    "This deserves more upvotes.", "Not sure this works for everyone.", "Thanks, this clears it up.",
]
USERNAMES = [
    "maple_fox", "bytewizard", "quietriver", "sunny_days", "trailmix", "nightowl42", "pixelpusher", "greenthumb",
    "bookworm_bea", "wanderlust", "ironlifter", "shutterbug", "codemonkey", "saltandpepper", "moss_and_fern",
    "pagetuner", "backpacker_jo", "cardio_kate", "lens_flare", "tinkerer", "fieldnotes", "oldschool", "riverstone",
    "cloudberry",
]
BIOS = [
    "Weekend tinkerer and coffee snob.", "Mostly lurking, sometimes helpful.", "Gardener, reader, occasional baker.",
    "I post about my projects here.", "Long-time member, short-time expert.", "Trying something new every month.",
]
DEFAULT_USER = "alex"
DEFAULT_PASSWORD = "password123"
POSTS_PER_FORUM = 14
PAGE_SIZE = 10
SORTS = {"new": ("Newest", "p.created DESC, p.id DESC"), "top": ("Top", "p.score DESC, p.id DESC"),
         "comments": ("Most comments", "n_comments DESC, p.id DESC")}


def seed(conn: sqlite3.Connection, rng: random.Random) -> None:
    """Fill the forum tables deterministically from ``rng``."""
    ids = {}
    for username in [DEFAULT_USER, *USERNAMES]:
        joined = (datetime(2019, 1, 1) + timedelta(days=rng.randint(0, 1800))).strftime("%Y-%m-%d")
        bio = "Just here to learn." if username == DEFAULT_USER else rng.choice(BIOS)
        cur = conn.execute(
            "INSERT INTO users(site, username, password, display_name, email, bio, joined) VALUES ('forum', ?, ?, ?, ?, ?, ?)",
            (username, hash_password(DEFAULT_PASSWORD), username, f"{username}@example.org", bio, joined),
        )
        ids[username] = cur.lastrowid
    others = [ids[u] for u in USERNAMES]
    base = datetime(2025, 11, 1, 8, 0)
    for pos, (name, (title, description, topics)) in enumerate(FORUMS.items()):
        conn.execute("INSERT INTO forum_forums VALUES (?, ?, ?, ?)", (name, title, description, pos))
        combos = [(tpl, t) for tpl in TITLES for t in topics]
        for tpl, topic in rng.sample(combos, POSTS_PER_FORUM):
            post_title = tpl.format(t=topic, T=topic[0].upper() + topic[1:])
            body = (f"I have been into {topic} for {rng.randint(2, 30)} months now. {rng.choice(OPINIONS)}. "
                    "Curious what everyone here thinks.")
            created = base - timedelta(days=rng.randint(0, 200), minutes=rng.randint(0, 1400))
            cur = conn.execute(
                "INSERT INTO forum_posts(forum, user_id, title, body, created, score) VALUES (?, ?, ?, ?, ?, ?)",
                (name, rng.choice(others), post_title, body, created.strftime("%Y-%m-%d %H:%M"), rng.randint(-3, 160)),
            )
            post_id = cur.lastrowid
            comment_ids: list[int] = []
            for k in range(rng.choice([0, 1, 2, 3, 4, 5, 6, 8])):
                parent = rng.choice(comment_ids) if comment_ids and rng.random() < 0.5 else None
                when = created + timedelta(minutes=37 * (k + 1) + rng.randint(0, 30))
                cur = conn.execute(
                    "INSERT INTO forum_comments(post_id, parent_id, user_id, body, created, score) VALUES (?, ?, ?, ?, ?, ?)",
                    (post_id, parent, rng.choice(others), rng.choice(REPLIES), when.strftime("%Y-%m-%d %H:%M"),
                     rng.randint(-2, 40)),
                )
                comment_ids.append(cur.lastrowid)


POST_SQL = (
    "SELECT p.*, u.username AS author, f.title AS forum_title,"
    " (SELECT COUNT(*) FROM forum_comments c WHERE c.post_id = p.id) AS n_comments"
    " FROM forum_posts p JOIN users u ON u.id = p.user_id JOIN forum_forums f ON f.name = p.forum"
)


def list_posts(conn: sqlite3.Connection, forum: str, sort: str = "new") -> list[sqlite3.Row]:
    """A subforum's posts in display order (shared with the task generator)."""
    order = SORTS.get(sort, SORTS["new"])[1]
    return conn.execute(POST_SQL + f" WHERE p.forum = ? ORDER BY {order}", (forum,)).fetchall()


def karma(conn: sqlite3.Connection, user_id: int) -> int:
    """Sum of the scores of a user's posts and comments."""
    return conn.execute(
        "SELECT (SELECT COALESCE(SUM(score), 0) FROM forum_posts WHERE user_id = ?)"
        " + (SELECT COALESCE(SUM(score), 0) FROM forum_comments WHERE user_id = ?)",
        (user_id, user_id),
    ).fetchone()[0]


def routes(ctx: SiteContext) -> list:
    conn = ctx.conn

    def forums() -> list[sqlite3.Row]:
        return conn.execute(
            "SELECT f.*, (SELECT COUNT(*) FROM forum_posts p WHERE p.forum = f.name) AS n FROM forum_forums f ORDER BY position"
        ).fetchall()

    def home(request: Request, form: dict) -> Response:
        recent = conn.execute(POST_SQL + " ORDER BY p.created DESC, p.id DESC LIMIT 8").fetchall()
        return ctx.render(request, "home.html", forums=forums(), recent=recent)

    def forum_page(request: Request, form: dict) -> Response:
        forum = conn.execute("SELECT * FROM forum_forums WHERE name = ?", (request.path_params["forum"],)).fetchone()
        if forum is None:
            return ctx.not_found(request, "forum")
        sort = request.query_params.get("sort", "new")
        sort = sort if sort in SORTS else "new"
        posts = list_posts(conn, forum["name"], sort)
        pager = pager_for(request, len(posts), PAGE_SIZE)
        return ctx.render(
            request, "forum.html", forum=forum, posts=posts[pager.offset: pager.offset + pager.size], pager=pager,
            links=page_links(ctx, request, f"/f/{forum['name']}", pager), sort=sort, sorts=SORTS,
        )

    def get_post(request: Request) -> sqlite3.Row | None:
        return conn.execute(POST_SQL + " WHERE p.id = ? AND p.forum = ?",
                            (request.path_params["pid"], request.path_params["forum"])).fetchone()

    def post_page(request: Request, form: dict) -> Response:
        post = get_post(request)
        if post is None:
            return ctx.not_found(request, "post")
        rows = conn.execute(
            "SELECT c.*, u.username AS author FROM forum_comments c JOIN users u ON u.id = c.user_id"
            " WHERE c.post_id = ? ORDER BY c.created, c.id",
            (post["id"],),
        ).fetchall()
        children: dict[int | None, list] = {}
        for row in rows:
            children.setdefault(row["parent_id"], []).append(row)
        user = ctx.current_user(request)
        votes = {}
        if user is not None:
            votes = {(r["kind"], r["target_id"]): r["value"] for r in conn.execute(
                "SELECT * FROM forum_votes WHERE user_id = ?", (user["id"],))}
        return ctx.render(request, "post.html", user=user, post=post, children=children, votes=votes)

    def vote(request: Request, form: dict) -> Response:
        user, redirect = ctx.require_user(request)
        if redirect:
            return redirect
        post = get_post(request)
        if post is None:
            return ctx.not_found(request, "post")
        kind = "comment" if form.get("comment_id") else "post"
        target = int_param(form.get("comment_id"), 0, lo=0) if kind == "comment" else post["id"]
        table = "forum_comments" if kind == "comment" else "forum_posts"
        if kind == "comment" and conn.execute(
            "SELECT 1 FROM forum_comments WHERE id = ? AND post_id = ?", (target, post["id"])
        ).fetchone() is None:
            return ctx.not_found(request, "comment")
        value = 1 if form.get("dir", "up") == "up" else -1
        old = conn.execute("SELECT value FROM forum_votes WHERE user_id = ? AND kind = ? AND target_id = ?",
                           (user["id"], kind, target)).fetchone()
        old_value = old["value"] if old else 0
        new_value = 0 if old_value == value else value  # voting the same way again takes the vote back
        if new_value:
            conn.execute("INSERT OR REPLACE INTO forum_votes VALUES (?, ?, ?, ?)", (user["id"], kind, target, new_value))
        else:
            conn.execute("DELETE FROM forum_votes WHERE user_id = ? AND kind = ? AND target_id = ?", (user["id"], kind, target))
        conn.execute(f"UPDATE {table} SET score = score + ? WHERE id = ?", (new_value - old_value, target))
        return ctx.redirect(f"/f/{post['forum']}/{post['id']}")

    def comment(request: Request, form: dict) -> Response:
        user, redirect = ctx.require_user(request)
        if redirect:
            return redirect
        post = get_post(request)
        if post is None:
            return ctx.not_found(request, "post")
        body = form.get("body", "").strip()
        parent = int_param(form.get("parent_id"), 0, lo=0) or None
        back = f"/f/{post['forum']}/{post['id']}"
        if parent is not None and conn.execute(
            "SELECT 1 FROM forum_comments WHERE id = ? AND post_id = ?", (parent, post["id"])
        ).fetchone() is None:
            return ctx.not_found(request, "comment")
        if not body:
            return ctx.redirect(back, msg="A comment cannot be empty.")
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
        conn.execute(
            "INSERT INTO forum_comments(post_id, parent_id, user_id, body, created, score) VALUES (?, ?, ?, ?, ?, 1)",
            (post["id"], parent, user["id"], body, now),
        )
        return ctx.redirect(back, msg="Your comment was posted.")

    def reply_page(request: Request, form: dict) -> Response:
        user, redirect = ctx.require_user(request)
        if redirect:
            return redirect
        post = get_post(request)
        parent = conn.execute(
            "SELECT c.*, u.username AS author FROM forum_comments c JOIN users u ON u.id = c.user_id"
            " WHERE c.id = ? AND c.post_id = ?",
            (request.path_params["cid"], post["id"] if post else -1),
        ).fetchone()
        if post is None or parent is None:
            return ctx.not_found(request, "comment")
        return ctx.render(request, "reply.html", user=user, post=post, parent=parent)

    def delete_post(request: Request, form: dict) -> Response:
        user, redirect = ctx.require_user(request)
        if redirect:
            return redirect
        post = get_post(request)
        if post is None:
            return ctx.not_found(request, "post")
        if post["user_id"] != user["id"]:
            return ctx.redirect(f"/f/{post['forum']}/{post['id']}", msg="You can only delete your own posts.")
        conn.execute("DELETE FROM forum_comments WHERE post_id = ?", (post["id"],))
        conn.execute("DELETE FROM forum_posts WHERE id = ?", (post["id"],))
        return ctx.redirect(f"/f/{post['forum']}", msg="Your post was deleted.")

    def submit(request: Request, form: dict) -> Response:
        user, redirect = ctx.require_user(request)
        if redirect:
            return redirect
        if request.method == "GET":
            return ctx.render(request, "submit.html", user=user, forums=forums(),
                              selected=request.query_params.get("forum", ""), error="", values={})
        forum, title, body = form.get("forum", ""), form.get("title", "").strip(), form.get("body", "").strip()
        if conn.execute("SELECT 1 FROM forum_forums WHERE name = ?", (forum,)).fetchone() is None or not title:
            return ctx.render(request, "submit.html", user=user, forums=forums(), selected=forum, status=400,
                              error="Choose a forum and give your post a title.", values=form)
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
        cur = conn.execute(
            "INSERT INTO forum_posts(forum, user_id, title, body, created, score) VALUES (?, ?, ?, ?, ?, 1)",
            (forum, user["id"], title, body, now),
        )
        return ctx.redirect(f"/f/{forum}/{cur.lastrowid}", msg="Your post was published.")

    def profile(request: Request, form: dict) -> Response:
        person = conn.execute("SELECT * FROM users WHERE site = 'forum' AND username = ?",
                              (request.path_params["username"],)).fetchone()
        if person is None:
            return ctx.not_found(request, "user")
        posts = conn.execute(POST_SQL + " WHERE p.user_id = ? ORDER BY p.created DESC, p.id DESC",
                             (person["id"],)).fetchall()
        comments = conn.execute(
            "SELECT c.*, p.title AS post_title, p.forum FROM forum_comments c JOIN forum_posts p ON p.id = c.post_id"
            " WHERE c.user_id = ? ORDER BY c.created DESC, c.id DESC LIMIT 10",
            (person["id"],),
        ).fetchall()
        n_comments = conn.execute("SELECT COUNT(*) FROM forum_comments WHERE user_id = ?", (person["id"],)).fetchone()[0]
        return ctx.render(request, "profile.html", person=person, posts=posts, comments=comments,
                          n_comments=n_comments, karma=karma(conn, person["id"]))

    def edit_profile(request: Request, form: dict) -> Response:
        user, redirect = ctx.require_user(request)
        if redirect:
            return redirect
        if user["username"] != request.path_params["username"]:
            return ctx.redirect(f"/u/{request.path_params['username']}", msg="You can only edit your own profile.")
        if request.method == "POST":
            conn.execute("UPDATE users SET bio = ? WHERE id = ?", (form.get("bio", "").strip(), user["id"]))
            return ctx.redirect(f"/u/{user['username']}", msg="Your profile was saved.")
        return ctx.render(request, "edit_profile.html", user=user)

    def search(request: Request, form: dict) -> Response:
        q = request.query_params.get("q", "").strip()
        rows: list = []
        if q:
            where, args = [], []
            for word in q.split():
                where.append("(instr(lower(p.title), ?) OR instr(lower(p.body), ?))")
                args += [word.lower()] * 2
            rows = conn.execute(POST_SQL + " WHERE " + " AND ".join(where) + " ORDER BY p.score DESC, p.id", args).fetchall()
        pager = pager_for(request, len(rows), PAGE_SIZE)
        return ctx.render(request, "search.html", q=q, posts=rows[pager.offset: pager.offset + pager.size],
                          total=len(rows), pager=pager, links=page_links(ctx, request, "/search", pager))

    e = ctx.endpoint
    return [
        Route("/", e(home)),
        Route("/search", e(search)),
        Route("/submit", e(submit), methods=["GET", "POST"]),
        Route("/f/{forum}", e(forum_page)),
        Route("/f/{forum}/{pid:int}", e(post_page)),
        Route("/f/{forum}/{pid:int}/vote", e(vote), methods=["POST"]),
        Route("/f/{forum}/{pid:int}/comment", e(comment), methods=["POST"]),
        Route("/f/{forum}/{pid:int}/reply/{cid:int}", e(reply_page)),
        Route("/f/{forum}/{pid:int}/delete", e(delete_post), methods=["POST"]),
        Route("/u/{username}", e(profile)),
        Route("/u/{username}/edit", e(edit_profile), methods=["GET", "POST"]),
        *ctx.login_routes(),
    ]
