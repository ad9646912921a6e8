"""Evaluator semantics: string matching, URL matching (and WebArena's false positive), the
fuzzy fallback and a judge, db_state against a real server, program_html in real Chromium, and
WebArena's helper functions (the Magento ones against a fake REST API on loopback)."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import httpx
import pytest

from ponder.environments.evaluators import (
    call_helper,
    clean_answer,
    evaluate,
    exact_match,
    fuzzy_fallback,
    must_include,
    reddit_get_post_url,
    url_match,
    webarena_url_match,
)
from ponder.environments.server import SiteServer
from ponder.environments.tasks import task_from_dict
from ponder.errors import ConfigError, EnvError
from ponder.models.scripted import ScriptedChatModel


def make_task(ev: dict, intent: str = "q?") -> object:
    ev = {"reference_answers": None, "reference_url": "", "program_html": [], **ev}
    return task_from_dict({"task_id": "t", "sites": ["shop"], "start_url": "__SHOP__/", "intent": intent,
                           "require_login": False, "eval": ev})


def strings(refs: dict, answer, judge=None, note: str = ""):
    task = make_task({"eval_types": ["string_match"], "reference_answers": refs, "string_note": note})
    return evaluate(task, answer=answer, page=None, judge=judge)


# ---- strings -----------------------------------------------------------------------------------
def test_cleaning_follows_webarena_plus_spaces_and_period():
    assert clean_answer('  "Hello   World."  ') == "hello world"
    assert clean_answer("'$12.99'") == "$12.99"
    assert clean_answer(None) == ""
    assert exact_match("Yes", " yes. ") == 1.0
    assert exact_match("Yes", "yes, it is") == 0.0


def test_must_include_respects_word_boundaries_and_or():
    assert must_include("12", "It costs 12 dollars") == 1.0
    assert must_include("12", "It costs 120 dollars") == 0.0  # WebArena's substring test says 1
    assert must_include("12.99", "$12.99") == 1.0
    assert must_include("1,234 |OR| 1234", "population 1234") == 1.0
    # a number is not cut out of a decimal (a run-time false positive: forum-005 answered "$8.50" for 50 points)
    assert must_include("50", "$8.50") == 0.0 and must_include("8", "8.5 stars") == 0.0
    assert must_include("50", "50. Then") == 1.0 and must_include("8.50", "costs $8.50.") == 1.0 and must_include("3", "1,2, 3") == 1.0
    assert must_include("alex", "Alexander") == 0.0
    assert strings({"must_include": ["Voltix", "19.99"]}, "The Voltix one at $19.99").value == 1.0
    assert strings({"must_include": ["Voltix", "19.99"]}, "The Voltix one").value == 0.0


def test_exact_and_must_include_combine_multiplicatively():
    s = strings({"exact_match": "No", "must_include": ["no"]}, "No")
    assert s.value == 1.0 and s.details["string_match"]["exact_match_score"] == 1.0
    assert strings({"exact_match": "No"}, None).value == 0.0


def test_fuzzy_fallback_is_token_recall():
    assert fuzzy_fallback("Weekend tinkerer and coffee snob.", "weekend tinkerer & coffee snob") == 1.0
    assert fuzzy_fallback("Weekend tinkerer and coffee snob", "a coffee snob") == 0.0
    assert fuzzy_fallback("the red car", "Red car!") == 1.0
    s = strings({"fuzzy_match": ["Good point, I agree."]}, "They said: good point, I agree")
    assert s.value == 1.0 and "fallback" in s.details["string_match"]["fuzzy"]
    assert strings({"fuzzy_match": ["Good point, I agree."]}, "").value == 0.0


def test_unachievable_tasks_need_na():
    assert strings({"fuzzy_match": "N/A"}, "N/A").value == 1.0
    assert strings({"fuzzy_match": "N/A"}, "N/A: the wiki does not say").value == 1.0
    assert strings({"fuzzy_match": "N/A"}, "1523").value == 0.0


def test_fuzzy_match_asks_the_judge():
    judge = ScriptedChatModel(rules=[(r"Student answer: forty-two", "correct"),
                                     (r"Student answer: about 40", "partially correct")], default="incorrect")
    assert strings({"fuzzy_match": ["42"]}, "forty-two", judge=judge).value == 1.0
    s = strings({"fuzzy_match": ["42"]}, "about 40", judge=judge)
    assert s.value == 0.0 and s.details["string_match"]["judge"] == ["partially correct"]
    assert strings({"fuzzy_match": ["42"]}, "17", judge=judge).value == 0.0
    ua = ScriptedChatModel(rules=[(r"Reported reason: .*never", "same")], default="different")
    assert strings({"fuzzy_match": "N/A"}, "It is never mentioned", judge=ua, note="not in the wiki").value == 1.0
    assert strings({"fuzzy_match": "N/A"}, "1523", judge=ua, note="not in the wiki").value == 0.0


@pytest.mark.slow
def test_fuzzy_match_with_the_real_local_model():
    from ponder.models.registry import load_model
    from ponder.usage import Usage

    judge = load_model("smollm2-135m")
    usage = Usage()
    with usage.activate():
        s = strings({"fuzzy_match": ["Paris"]}, "The capital is Paris.", judge=judge)
    reply = s.details["string_match"]["judge"][0]
    assert isinstance(reply, str) and reply  # the model was asked and answered
    assert s.value in (0.0, 1.0)
    assert usage.calls == 1 and usage.completion_tokens <= 16


# ---- URLs --------------------------------------------------------------------------------------
def test_url_match_compares_path_and_query_properly():
    base = "http://127.0.0.1:8000/shop"
    ok = lambda ref, pred: url_match(ref, pred)[0]  # noqa: E731
    assert ok(f"{base}/search?q=yoga+mat&min_rating=4", f"{base}/search?min_rating=4&q=yoga%20mat&sort=&page=1") == 1.0
    assert ok(f"{base}/search?q=yoga+mat&min_rating=4", f"{base}/search?q=yoga+mat") == 0.0
    assert ok(f"{base}/cart", f"{base}/cart/") == 1.0
    assert ok(f"{base}/cart", f"{base}/cart?msg=Cart+updated.") == 1.0
    assert ok(f"{base}/cart", "http://127.0.0.1:9999/shop/cart") == 0.0
    # EXACT (ponder's) also forbids extra parameters
    assert url_match(f"{base}/search?q=a", f"{base}/search?q=a&sort=name", "EXACT")[0] == 0.0
    assert url_match(f"{base}/search?q=a", f"{base}/search?sort=&q=a", "EXACT")[0] == 1.0


def test_webarenas_url_match_false_positive_is_fixed():
    ref, pred = "http://h/shop/product/1", "http://h/shop/product/12"
    assert webarena_url_match(ref, pred) == 1.0  # WebArena: "h/shop/product/1" in "h/shop/product/12"
    assert url_match(ref, pred)[0] == 0.0
    # WebArena also pools query values over |OR| alternatives, so this correct page fails there
    ref = "http://h/search?category=books |OR| http://h/list?sort=price"
    assert webarena_url_match(ref, "http://h/search?category=books") == 0.0
    assert url_match(ref, "http://h/search?category=books")[0] == 1.0


def test_url_match_through_evaluate_resolves_placeholders():
    task = make_task({"eval_types": ["url_match"], "reference_url": "__SHOP__/orders/1003", "url_note": "GOLD in PRED"})
    page = SimpleNamespace(url="http://127.0.0.1:5/shop/orders/1003")
    assert evaluate(task, answer=None, page=page, base_urls={"shop": "http://127.0.0.1:5/shop"}).value == 1.0
    assert evaluate(task, answer=None, page=None, base_urls={"shop": "http://127.0.0.1:5/shop"}).value == 0.0
    with pytest.raises(ConfigError, match="__SHOP__"):
        evaluate(task, answer=None, page=page, base_urls={})


# ---- db_state against a real server ------------------------------------------------------------
@pytest.fixture(scope="module")
def server():
    with SiteServer(seed=0) as s:
        yield s


def db_task(entries: list[dict]):
    return make_task({"eval_types": ["db_state"], "db_state": entries})


def test_db_state_compares_rows(server):
    server.reset()
    phone_is = lambda value: db_task([{"sql": "SELECT phone FROM users WHERE site = 'shop' AND username = 'alex'",  # noqa: E731
                                        "expected": [[value]]}])
    assert evaluate(phone_is("555-0142"), answer=None, page=None, server=server).value == 1.0
    assert evaluate(phone_is("555-0199"), answer=None, page=None, server=server).value == 0.0
    c = httpx.Client(follow_redirects=True)
    c.post(server.base_urls["shop"] + "/login", data={"username": "alex", "password": "password123"})
    c.post(server.base_urls["shop"] + "/account", data={"display_name": "Alex Morgan", "email": "a@b.c", "street": "s",
                                                        "city": "c", "zip": "z", "phone": "555-0199"})
    s = evaluate(phone_is("555-0199"), answer=None, page=None, server=server)
    assert s.value == 1.0 and s.details["db_state"]["checks"][0]["rows"] == [["555-0199"]]
    # numbers compare numerically, rows in order, required_contents over the rows' text
    alex = "(SELECT id FROM users WHERE site = 'shop' AND username = 'alex')"
    task = db_task([{"sql": f"SELECT COUNT(*) FROM shop_orders WHERE user_id = {alex}", "expected": [[6.0]]},
                    {"sql": f"SELECT status FROM shop_orders WHERE user_id = {alex}", "required_contents": {"must_include": ["Pending", "Canceled"]}}])
    assert evaluate(task, answer=None, page=None, server=server).value == 1.0
    conn = server.db()
    ids = [[r[0]] for r in conn.execute(f"SELECT id FROM shop_orders WHERE user_id = {alex} ORDER BY id LIMIT 2")]
    conn.close()
    ordered = f"SELECT id FROM shop_orders WHERE user_id = {alex} ORDER BY id LIMIT 2"
    assert evaluate(db_task([{"sql": ordered, "expected": ids}]), answer=None, page=None, server=server).value == 1.0
    assert evaluate(db_task([{"sql": ordered, "expected": ids[::-1]}]), answer=None, page=None, server=server).value == 0.0
    assert evaluate(db_task([{"sql": ordered, "expected": ids[:1]}]), answer=None, page=None, server=server).value == 0.0
    server.reset()


def test_db_state_is_read_only_and_needs_a_server(server):
    conn = server.db()
    before = conn.execute("SELECT COUNT(*) FROM shop_orders").fetchone()[0]
    conn.close()
    task = db_task([{"sql": "WITH x AS (SELECT 1) SELECT * FROM x; DELETE FROM shop_orders", "expected": []}])
    with pytest.raises(Exception, match="one statement|multiple statements|db_state query failed"):
        evaluate(task, answer=None, page=None, server=server)
    task = db_task([{"sql": "WITH gone AS (SELECT 1) DELETE FROM shop_orders", "expected": []}])
    with pytest.raises(ConfigError, match="readonly|read-only"):
        evaluate(task, answer=None, page=None, server=server)
    conn = server.db()
    assert conn.execute("SELECT COUNT(*) FROM shop_orders").fetchone()[0] == before
    with pytest.raises(Exception, match="readonly|read-only"):
        conn.execute("DELETE FROM shop_orders")
    conn.close()
    with pytest.raises(EnvError, match="needs the SiteServer"):
        evaluate(db_task([{"sql": "SELECT 1", "expected": [[1]]}]), answer=None, page=None, server=None)


# ---- program_html in real Chromium -------------------------------------------------------------
@pytest.mark.slow
def test_program_html_in_the_live_page(server, browser):
    server.reset()
    context = browser.new_context()
    try:
        context.add_cookies(server.login_cookies("shop"))
        page = context.new_page()
        conn = server.db()
        product = conn.execute("SELECT * FROM shop_products WHERE stock > 0 ORDER BY id LIMIT 1").fetchone()
        conn.close()
        page.goto(f"{server.base_urls['shop']}/product/{product['id']}")
        price = f"{product['price'] / 100:.2f}"

        def run(entries):
            task = make_task({"eval_types": ["program_html"], "program_html": entries})
            return evaluate(task, answer=None, page=page, server=server)

        last = {"url": "last", "locator": "document.querySelector('#price').outerText"}
        assert run([{**last, "required_contents": {"must_include": [price]}}]).value == 1.0
        assert run([{**last, "required_contents": {"must_include": ["999.99"]}}]).value == 0.0
        assert run([{**last, "required_contents": {"exact_match": f"Price: ${price}"}}]).value == 1.0
        # empty locator: the page's HTML; a locator that throws reads as ""
        assert run([{"url": "last", "locator": "", "required_contents": {"must_include": ['id="price"']}}]).value == 1.0
        assert run([{"url": "last", "locator": "document.querySelector('#nope').outerText",
                     "required_contents": {"must_include": [""]}}]).value == 1.0
        assert run([{"url": "last", "locator": "document.querySelector('#nope').outerText",
                     "required_contents": {"exact_match": "x"}}]).value == 0.0
        # another URL opens in a new tab of the same context (logged in), which is closed after
        cart = {"url": "__SHOP__/cart", "locator": "document.querySelector('#cart') ? document.querySelector('#cart').outerText : ''"}
        assert run([{**cart, "required_contents": {"must_include": [product["name"]]}}]).value == 0.0
        page.click("text=Add to cart")
        page.wait_for_url("**/cart**")
        page.goto(f"{server.base_urls['shop']}/product/{product['id']}")
        s = run([{**cart, "required_contents": {"must_include": [product["name"]]}}, {**last, "required_contents": {"must_include": [price]}}])
        assert s.value == 1.0 and len(context.pages) == 1
        # prep_actions run before the locator
        s = run([{"url": "last", "prep_actions": ["document.querySelector('#price').textContent = 'changed'"],
                  "locator": "document.querySelector('#price').outerText", "required_contents": {"exact_match": "changed"}}])
        assert s.value == 1.0
        # WebArena's reddit helper on a comment-reply URL gives the post's URL, checked there
        context.add_cookies(server.login_cookies("forum"))
        conn = server.db()
        post = conn.execute("SELECT p.id, p.forum, p.title, c.id AS cid FROM forum_posts p"
                            " JOIN forum_comments c ON c.post_id = p.id ORDER BY p.id LIMIT 1").fetchone()
        conn.close()
        page.goto(f"{server.base_urls['forum']}/f/{post['forum']}/{post['id']}/reply/{post['cid']}")
        s = run([{"url": "func:reddit_get_post_url('__last_url__')", "locator": "document.querySelector('.post-title').outerText",
                  "required_contents": {"exact_match": post["title"]}}])
        assert s.value == 1.0
        assert s.details["program_html"]["checks"][0]["url"].endswith(f"/forum/f/{post['forum']}/{post['id']}/")
    finally:
        context.close()


# ---- WebArena's helpers ------------------------------------------------------------------------
def test_helper_calls_are_parsed_not_evaluated():
    assert reddit_get_post_url("http://h:9999/f/books/12/some-slug/-/comment/5") == "http://h:9999/f/books/12/"
    assert reddit_get_post_url("http://h:9999/forums") == "http://h:9999/forums"
    page = SimpleNamespace(url="http://h/f/x/3/abc")
    assert call_helper("func:reddit_get_post_url('__last_url__')", page=page) == "http://h/f/x/3/"
    for bad in ("func:__import__('os').system('true')", "func:open('/etc/passwd')", "func:reddit_get_post_url(1+1)"):
        with pytest.raises(ConfigError):
            call_helper(bad, page=page)


@pytest.fixture()
def fake_magento(monkeypatch):
    """A stand-in for Magento's REST API on loopback (token, orders, product reviews)."""
    import socket

    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    seen = []

    async def token(request: Request):
        body = await request.json()
        return JSONResponse("tok123" if body == {"username": "admin", "password": "admin1234"} else "bad")

    async def orders(request: Request):
        seen.append((request.headers.get("authorization"), dict(request.query_params)))
        return JSONResponse({"items": [{"increment_id": "000000190"}]})

    async def reviews(request: Request):
        return JSONResponse([{"nickname": "Old", "ratings": [{"percent": 40}]}, {"nickname": "Emma", "ratings": [{"percent": 80}]}])

    app = Starlette(routes=[Route("/rest/default/V1/integration/admin/token", token, methods=["POST"]),
                            Route("/rest/V1/orders", orders), Route("/rest/V1/products/{sku}/reviews", reviews)])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("PONDER_WEBARENA_SHOPPING", base)
    monkeypatch.delenv("PONDER_WEBARENA_SHOPPING_ADMIN_TOKEN", raising=False)
    yield base, seen
    server.should_exit = True
    thread.join(5)


def test_magento_helpers_use_the_rest_api(fake_magento):
    base, seen = fake_magento
    assert call_helper("func:shopping_get_latest_order_url()") == f"{base}/sales/order/view/order_id/190/"
    assert seen[0][0] == "Bearer tok123" and seen[0][1]["searchCriteria[sortOrders][0][direction]"] == "DESC"
    assert call_helper("func:shopping_get_sku_latest_review_author('B00J8RZL7I')") == "Emma"
    assert call_helper("func:shopping_get_sku_latest_review_rating('B00J8RZL7I')") == "80"


def test_magento_helpers_need_a_configured_site(monkeypatch):
    for var in ("PONDER_WEBARENA_SHOPPING", "PONDER_WEBARENA_HOST"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ConfigError, match="PONDER_WEBARENA_SHOPPING"):
        call_helper("func:shopping_get_latest_order_url()")
