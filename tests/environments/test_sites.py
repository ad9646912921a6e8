"""The local sites through real HTTP (httpx) against a real uvicorn server on loopback."""

from __future__ import annotations

import re
import sqlite3

import httpx
import pytest

from ponder.environments.server import SiteServer, template_image
from ponder.environments.sites import shop
from ponder.environments.sites.common import cookie_name
from ponder.errors import ConfigError


@pytest.fixture(scope="module")
def server():
    with SiteServer(seed=0) as s:
        yield s


@pytest.fixture()
def fresh(server):
    server.reset()
    return server


def client(server: SiteServer, site: str | None = None, login: bool = False) -> httpx.Client:
    c = httpx.Client(follow_redirects=True, timeout=10)
    if login:
        r = c.post(server.base_urls[site] + "/login", data={"username": "alex", "password": "password123", "next": "/"})
        assert r.status_code == 200 and "Signed in as alex" in r.text
    return c


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", re.sub(r"(?s)<style.*?</style>", "", html)).split())


def test_every_site_serves_its_home_and_404s(server):
    c = client(server)
    for site, base in server.base_urls.items():
        r = c.get(base + "/")
        assert r.status_code == 200, site
        assert f"{site.capitalize()}" in r.text
    assert c.get(server.base_urls["shop"] + "/product/99999").status_code == 404
    assert c.get(server.base_urls["forum"] + "/f/nosuchforum").status_code == 404
    assert c.get(server.base_urls["wiki"] + "/article/No_such_page").status_code == 404


def test_catalogue_is_deterministic_and_large_enough():
    a, b = sqlite3.connect(":memory:"), sqlite3.connect(":memory:")
    a.deserialize(template_image(0))
    b.deserialize(template_image(0))
    rows = a.execute("SELECT id, name, price, category, rating_sum, review_count FROM shop_products ORDER BY id").fetchall()
    assert len(rows) >= 200
    assert rows == b.execute("SELECT id, name, price, category, rating_sum, review_count FROM shop_products ORDER BY id").fetchall()
    assert len({r[3] for r in rows}) == 8
    assert a.execute("SELECT COUNT(*) FROM shop_reviews").fetchone()[0] > 400
    other = sqlite3.connect(":memory:")
    other.deserialize(template_image(1))
    assert other.execute("SELECT name FROM shop_products ORDER BY id").fetchall() != [(r[1],) for r in rows]


def test_shop_search_filters_sort_and_pages(server):
    c = client(server)
    base = server.base_urls["shop"]
    r = c.get(base + "/search", params={"q": "cable"})
    names = re.findall(r'/product/\d+">([^<]+)</a>', r.text)
    assert names and all("cable" in n.lower() for n in names)
    r = c.get(base + "/search", params={"category": "electronics", "sort": "price_asc", "max_price": "30"})
    prices = [float(p.replace(",", "")) for p in re.findall(r"</a> \$([\d,.]+)", r.text)]
    assert prices == sorted(prices) and prices and max(prices) <= 30
    count = int(re.search(r"(\d+) products? found", r.text).group(1))
    conn = server.db()
    expected = len(shop.list_products(conn, {"category": "electronics", "max_price": "30"}))
    conn.close()
    assert count == expected
    # a category has 30 products: two pages of 20
    first = c.get(base + "/category/books")
    assert "Page 1 of 2" in first.text and "Next page" in first.text
    second = c.get(base + "/category/books", params={"page": 2})
    assert "Page 2 of 2" in second.text and len(re.findall(r"/product/\d+\"", second.text)) == 10
    # search words are text, not LIKE patterns; relevance puts name matches first
    assert "0 products found" in c.get(base + "/search", params={"q": "%"}).text
    r = c.get(base + "/search", params={"q": "electronics cable"})
    names = re.findall(r'/product/\d+">([^<]+)</a>', r.text)
    assert names and "cable" in names[0].lower()
    # rating filter: every listed product is rated 4 or more
    r = c.get(base + "/search", params={"min_rating": "4"})
    ratings = [float(x) for x in re.findall(r"rated ([\d.]+) out of 5", r.text)]
    assert ratings and min(ratings) >= 3.95


def test_login_is_required_and_wrong_password_is_refused(fresh):
    c = client(fresh)
    base = fresh.base_urls["shop"]
    r = c.get(base + "/cart")
    assert "/shop/login" in str(r.url) and "next=%2Fcart" in str(r.url)
    r = c.post(base + "/login", data={"username": "alex", "password": "wrong", "next": "/cart"})
    assert r.status_code == 401 and "Wrong username or password" in r.text
    r = c.post(base + "/login", data={"username": "alex", "password": "password123", "next": "/cart"})
    assert r.url.path == "/shop/cart" and "Shopping cart" in r.text
    # the shop's session does not log you into the forum
    assert "Sign in" in c.get(fresh.base_urls["forum"] + "/").text
    c.post(base + "/logout")
    assert "/shop/login" in str(c.get(base + "/cart").url)


def test_cart_and_checkout_place_an_order(fresh):
    c = client(fresh, "shop", login=True)
    base = fresh.base_urls["shop"]
    conn = fresh.db()
    pid, price = conn.execute("SELECT id, price FROM shop_products WHERE stock > 5 ORDER BY id LIMIT 1").fetchone()
    before_cart = conn.execute("SELECT product_id, qty FROM shop_cart").fetchall()
    conn.close()
    r = c.post(base + "/cart/add", data={"product_id": pid, "qty": "2"})
    assert r.url.path == "/shop/cart" and "Added 2 x" in r.text
    r = c.post(base + "/cart/add", data={"product_id": pid, "qty": "1"})
    assert 'value="3"' in r.text  # quantities add up
    r = c.get(base + "/checkout")
    assert 'value="14 Elm Street"' in r.text
    # placing an order is marked destructive for the browser; adding to the cart is not
    assert re.search(r'<form method="post" action="/shop/checkout" data-destructive>', r.text)
    assert 'action="/shop/cart/add" data-destructive="false"' in c.get(base + f"/product/{pid}").text
    r = c.post(base + "/checkout", data={"ship_name": "Alex Morgan", "ship_street": "1 Test Road", "ship_city": "Town",
                                         "ship_zip": "12345", "shipping_method": "express"})
    assert re.fullmatch(r"/shop/orders/\d+", r.url.path) and "has been placed" in r.text
    order_id = int(r.url.path.rsplit("/", 1)[1])
    conn = fresh.db()
    order = conn.execute("SELECT * FROM shop_orders WHERE id = ?", (order_id,)).fetchone()
    items = {row["product_id"]: row["qty"] for row in conn.execute("SELECT * FROM shop_order_items WHERE order_id = ?", (order_id,))}
    assert order["shipping_method"] == "express" and order["shipping"] == 1500 and order["ship_street"] == "1 Test Road"
    assert items[pid] == 3 and all(items[p] == q for p, q in before_cart)
    assert order["total"] == order["subtotal"] + 1500 and order["subtotal"] >= 3 * price
    assert conn.execute("SELECT COUNT(*) FROM shop_cart").fetchone()[0] == 0
    conn.close()
    assert f"Order #{order_id}" in c.get(base + "/orders").text
    # an incomplete address is refused with a message, not an order
    c.post(base + "/cart/add", data={"product_id": pid, "qty": "1"})
    r = c.post(base + "/checkout", data={"ship_name": "", "ship_street": "", "ship_city": "", "ship_zip": "",
                                         "shipping_method": "standard"})
    assert r.status_code == 400 and "fill in every address field" in r.text


def test_reviews_update_the_rating(fresh):
    c = client(fresh, "shop", login=True)
    base = fresh.base_urls["shop"]
    conn = fresh.db()
    pid, n = conn.execute("SELECT id, review_count FROM shop_products ORDER BY id LIMIT 1").fetchone()
    conn.close()
    r = c.post(base + f"/product/{pid}/review", data={"rating": "5", "title": "Great", "body": "Works"})
    assert "Thank you for your review" in r.text and f"Reviews ({n + 1})" in r.text
    assert "Great" in text(r.text) and "5 out of 5 stars, by Alex Morgan" in text(r.text)


def test_forum_post_comment_reply_vote_and_profile(fresh):
    c = client(fresh, "forum", login=True)
    base = fresh.base_urls["forum"]
    r = c.post(base + "/submit", data={"forum": "books", "title": "A test post", "body": "Hello there"})
    assert "Your post was published" in r.text
    post_path = r.url.path.split("/forum", 1)[1]
    post_url = base + post_path
    r = c.post(post_url + "/comment", data={"body": "First!"})
    assert "First!" in r.text
    conn = fresh.db()
    cid = conn.execute("SELECT id FROM forum_comments WHERE body = 'First!'").fetchone()[0]
    conn.close()
    reply_page = c.get(post_url + f"/reply/{cid}")
    assert "Reply to alex" in reply_page.text
    r = c.post(post_url + "/comment", data={"body": "A reply", "parent_id": str(cid)})
    # the reply is nested inside the parent's list item
    assert re.search(rf'id="comment-{cid}">.*?<ul>\s*<li id="comment-\d+">.*?A reply', r.text, re.S)
    r = c.post(post_url + "/vote", data={"dir": "up"})
    assert re.search(r'id="post-score">2 points', r.text)
    r = c.post(post_url + "/vote", data={"dir": "up"})  # same vote again takes it back
    assert re.search(r'id="post-score">1 point<', r.text)
    r = c.post(post_url + "/vote", data={"dir": "down"})
    assert re.search(r'id="post-score">0 points', r.text)
    conn = fresh.db()
    assert [list(r) for r in conn.execute("SELECT value FROM forum_votes WHERE kind = 'post'")] == [[-1]]
    conn.close()
    profile = c.get(base + "/u/alex")
    assert "A test post" in profile.text and "First!" in profile.text
    r = c.post(base + "/u/alex/edit", data={"bio": "New bio"})
    assert 'id="bio">New bio' in r.text
    # someone else's profile cannot be edited
    r = c.post(base + "/u/maple_fox/edit", data={"bio": "hacked"})
    assert "only edit your own" in r.text
    r = c.post(post_url + "/delete")
    assert "Your post was deleted" in r.text
    assert c.get(base + post_path).status_code == 404


def test_wiki_edit_history_revision_and_new_page(fresh):
    c = client(fresh, "wiki", login=True)
    base = fresh.base_urls["wiki"]
    r = c.get(base + "/category/Cities")
    title = re.findall(r'/article/([^"]+)">', r.text)[0]
    article = c.get(base + f"/article/{title}")
    n_before = len(re.findall(r"Revision \d+", c.get(base + f"/article/{title}/history").text))
    edit = c.get(base + f"/article/{title}/edit")
    content = re.search(r'<textarea id="e-content" name="content"[^>]*>(.*?)</textarea>', edit.text, re.S).group(1)
    import html as htmlmod

    content = htmlmod.unescape(content)
    new = re.sub(r"\* Population: [\d,]+", "* Population: 123,456", content)
    r = c.post(base + f"/article/{title}/edit", data={"content": new, "summary": "test edit"})
    assert "Your edit was saved" in r.text and "Population: 123,456" in text(r.text)
    assert "Population: 123,456" not in text(article.text)
    hist = c.get(base + f"/article/{title}/history").text
    revs = re.findall(r"Revision (\d+)", hist)
    assert len(revs) == n_before + 1 and "test edit" in hist and "(current)" in hist
    old = c.get(base + f"/article/{title}/revision/{revs[-1]}")
    assert "This is an old revision" in old.text and "123,456" not in old.text
    # links render, missing targets are marked as new pages
    r = c.post(base + "/article/Brand_New_Page/edit", data={"content": "See [[Nowhere Land]] and [[" + title.replace("_", " ") + "]].", "summary": ""})
    assert r.url.path == "/wiki/article/Brand_New_Page"
    assert 'class="new">Nowhere Land</a>' in r.text and f'href="/wiki/article/{title}"' in r.text
    # search finds the article by a word of its content
    s = c.get(base + "/search", params={"q": "Nowhere"})
    assert "Brand New Page" in s.text


def test_wiki_edit_needs_login(fresh):
    c = client(fresh)
    r = c.post(fresh.base_urls["wiki"] + "/article/Anything/edit", data={"content": "x"})
    assert "/wiki/login" in str(r.url)
    conn = fresh.db()
    assert conn.execute("SELECT COUNT(*) FROM wiki_pages WHERE title = 'Anything'").fetchone()[0] == 0
    conn.close()


def test_instances_are_isolated(tmp_path):
    with SiteServer(tmp_path / "a", seed=0) as a, SiteServer(tmp_path / "b", seed=0) as b:
        assert a.db_path != b.db_path and a.port != b.port
        ca = client(a, "forum", login=True)
        ca.post(a.base_urls["forum"] + "/submit", data={"forum": "books", "title": "Only in A", "body": ""})
        for s, n in ((a, 1), (b, 0)):
            conn = s.db()
            assert conn.execute("SELECT COUNT(*) FROM forum_posts WHERE title = 'Only in A'").fetchone()[0] == n
            conn.close()
        assert "Only in A" not in client(b).get(b.base_urls["forum"] + "/f/books").text


def dump(server: SiteServer) -> list:
    conn = server.db()
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def test_snapshot_restore_and_reset_are_exact(fresh):
    c = client(fresh, "shop", login=True)
    base = fresh.base_urls["shop"]
    c.post(base + "/cart/add", data={"product_id": "3", "qty": "1"})
    at_snapshot = dump(fresh)
    page_at_snapshot = c.get(base + "/cart").text
    token = fresh.snapshot()
    c.post(base + "/cart/add", data={"product_id": "4", "qty": "2"})
    c.post(base + "/account", data={"display_name": "Changed", "email": "x@y.z", "street": "", "city": "", "zip": "", "phone": ""})
    assert dump(fresh) != at_snapshot
    fresh.restore(token)
    assert dump(fresh) == at_snapshot
    assert c.get(base + "/cart").text == page_at_snapshot  # the session (in the database) survived too
    fresh.restore(token)  # a token can be restored more than once
    assert dump(fresh) == at_snapshot
    fresh.reset()
    conn = sqlite3.connect(":memory:")
    conn.deserialize(template_image(0))
    assert dump(fresh) == list(conn.iterdump())
    # reset also ends sessions
    assert "/shop/login" in str(c.get(base + "/cart").url)


def test_login_cookies_open_a_session(fresh):
    cookies = fresh.login_cookies("forum")
    assert cookies[0]["name"] == cookie_name("forum") and cookies[0]["path"] == "/forum"
    c = httpx.Client(follow_redirects=True, cookies={cookies[0]["name"]: cookies[0]["value"]})
    assert "Signed in as alex" in c.get(fresh.base_urls["forum"] + "/").text
    with pytest.raises(ConfigError):
        fresh.login_cookies("forum", "nobody")


def test_bad_site_name_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown site 'shopp'"):
        SiteServer(sites=("shopp",))


def test_cli_serves_the_sites_for_a_person():
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "ponder.cli.main", "web", "serve", "--site", "wiki", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        url = re.search(r"(http://127\.0\.0\.1:\d+/wiki/)", line).group(1)
        r = httpx.get(url, timeout=10)
        assert r.status_code == 200 and "Welcome to the Wiki" in r.text
        assert httpx.get(url.replace("/wiki/", "/shop/"), timeout=10).status_code == 404  # only the wiki
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_admin_manages_orders_and_products_seen_by_the_shop(fresh):
    base = fresh.base_urls["admin"]
    anon = client(fresh)
    assert "/admin/login" in str(anon.get(base + "/orders").url)
    # a shop login is not an admin login
    assert "/admin/login" in str(client(fresh, "shop", login=True).get(base + "/orders").url)
    c = httpx.Client(follow_redirects=True, timeout=10)
    r = c.post(base + "/login", data={"username": "admin", "password": "password123", "next": "/"})
    assert "Dashboard" in r.text
    conn = fresh.db()
    n_shipped = conn.execute("SELECT COUNT(*) FROM shop_orders WHERE status = 'Shipped'").fetchone()[0]
    oid = conn.execute("SELECT id FROM shop_orders WHERE status = 'Pending' ORDER BY id LIMIT 1").fetchone()[0]
    product = conn.execute("SELECT * FROM shop_products WHERE stock > 0 ORDER BY id LIMIT 1").fetchone()
    conn.close()
    r = c.get(base + "/orders", params={"status": "Shipped"})
    assert f"{n_shipped} orders found" in r.text or f"{n_shipped} order found" in r.text
    r = c.post(base + f"/orders/{oid}", data={"status": "Shipped"})
    assert f"Order #{oid} is now Shipped" in r.text
    assert "Choose a valid status" in c.post(base + f"/orders/{oid}", data={"status": "Lost"}).text
    r = c.post(base + f"/products/{product['id']}", data={"price": "12.34", "stock": "0"})
    assert "The product was saved" in r.text
    shop_page = anon.get(fresh.base_urls["shop"] + f"/product/{product['id']}").text
    assert "$12.34" in shop_page and "Out of stock" in shop_page and "Add to cart" not in shop_page
    assert "positive price" in c.post(base + f"/products/{product['id']}", data={"price": "-1", "stock": "3"}).text


def test_admin_sales_report_adds_up(fresh):
    from ponder.environments.sites.admin import sales_report

    c = httpx.Client(follow_redirects=True, timeout=10)
    c.post(fresh.base_urls["admin"] + "/login", data={"username": "admin", "password": "password123"})
    conn = fresh.db()
    year = sales_report(conn, 2025, None)
    months = [sales_report(conn, 2025, m) for m in range(1, 13)]
    direct = conn.execute("SELECT SUM(total) FROM shop_orders WHERE status != 'Canceled' AND created LIKE '2025%'").fetchone()[0]
    conn.close()
    assert year["revenue"] == sum(m["revenue"] for m in months) == direct > 0
    assert year["orders"] == sum(m["orders"] for m in months)
    r = c.get(fresh.base_urls["admin"] + "/reports/sales", params={"year": "2025", "month": "3"})
    assert f"revenue ${months[2]['revenue'] / 100:,.2f}" in r.text and "March 2025" in r.text
    if months[2]["top"]:
        assert months[2]["top"][0]["name"] in r.text
