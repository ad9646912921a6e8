"""Evaluators with WebArena's semantics, plus ponder's ``db_state``.

A task's score is the product of one score per entry of ``eval.eval_types`` (so every check must
pass), each in [0, 1]:

``string_match`` (the answer given with ``stop [answer]``)
    Both sides are *cleaned* the way WebArena cleans them (surrounding whitespace and one pair of
    quotes removed, lower case), and additionally runs of whitespace become one space and a
    trailing period is dropped. ``exact_match``: the cleaned strings are equal.
    ``must_include``: every listed string occurs in the answer; ``" |OR| "`` separates
    alternatives, any of which may occur. Unlike WebArena's plain substring test, a reference
    that starts or ends with a letter or digit must sit at a word boundary there, so "12" is not
    found in "120" and "4" not in "14", and a number is not cut out of a decimal ("50" is not in
    "$8.50"); WebArena only guards single-character references.
    ``fuzzy_match``: a list of references, each judged semantically equivalent by the ``judge``
    model (a :class:`~ponder.models.base.ChatModel`) or, with no judge, by the deterministic
    fallback :func:`fuzzy_fallback` (at least 80% of the reference's SQuAD-normalised tokens
    appear in the answer). ``"N/A"`` marks an unachievable task: the answer must be ``N/A``
    exactly, else the judge compares the answer's stated reason with ``string_note``; the
    fallback accepts an answer that starts with ``N/A``.

``url_match`` (the active tab's URL)
    ``reference_url`` (alternatives joined by ``" |OR| "``) is resolved, then for ``url_note``
    ``GOLD in PRED`` (WebArena's only rule) an alternative matches when host and path are
    *equal* (percent-decoded, trailing slash ignored) and every query parameter of the reference
    has its value among the page's values for that parameter; extra page parameters and empty
    ones are ignored. WebArena's own check tests ``ref_path in pred_path`` on strings, so the
    reference ``/product/1`` matches the page ``/product/12`` (a false positive: see
    :func:`webarena_url_match`, kept to document and test it), and it pools the query
    parameters of all alternatives. ``EXACT`` (ponder's) also requires equal query parameters.

``program_html`` (the live page)
    For each entry, the page at ``url`` (``last``: the active tab as it is; a URL: opened in a
    new tab of the episode's browser context, so with its cookies, and closed after; ``func:``:
    one of WebArena's helper functions) is read with ``locator``: empty means the page's HTML,
    a JavaScript expression (``document.querySelector(...)...``) is evaluated in the page (after
    any ``prep_actions``), ``func:`` calls a helper. HTML entities are unescaped and the text is
    checked with ``required_contents`` (``exact_match`` or ``must_include`` with ``|OR|``), by
    the same rules as ``string_match``.

``db_state`` (ponder's extension: server state through the database)
    Each entry runs a read-only ``sql`` query (with ``params``) against the instance's SQLite
    database and compares the rows with ``expected`` (a list of rows; exact, in order, numbers
    compared numerically) or checks the rows' text (cells joined by ``" | "``, rows by newlines)
    with ``required_contents``.
"""

from __future__ import annotations

import ast
import html
import json
import os
import re
import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ponder.environments.urls import base_urls_from_env, resolve_url
from ponder.errors import ConfigError, EnvError

FUZZY_RECALL = 0.8
PAGE_TIMEOUT_MS = 15_000


@dataclass
class Score:
    """An episode's score in [0, 1] and, per eval type, how it was reached."""

    value: float
    details: dict = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return self.value >= 1.0


# ---- strings -----------------------------------------------------------------------------------
def clean_answer(text: Any) -> str:
    """WebArena's cleaning (strip, one pair of quotes off, lower case) plus single spaces and no
    trailing period."""
    s = "" if text is None else str(text)
    s = s.strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"":
        s = s[1:-1]
    s = " ".join(s.split()).lower()
    return s[:-1].rstrip() if s.endswith(".") and not s.endswith("..") else s


def exact_match(ref: str, pred: Any) -> float:
    """1.0 when the cleaned strings are equal."""
    return float(clean_answer(ref) == clean_answer(pred))


def _contains(ref: str, pred: str) -> bool:
    if not ref:
        return True
    # a number is also not cut out of a decimal: "50" is not in "$8.50", "8" not in "8.5"
    left = (r"(?<![0-9a-z])" + (r"(?<![0-9][.,])" if ref[0].isdigit() else "")) if ref[0].isalnum() else ""
    right = (r"(?![0-9a-z])" + (r"(?![.,][0-9])" if ref[-1].isdigit() else "")) if ref[-1].isalnum() else ""
    return re.search(left + re.escape(ref) + right, pred) is not None


def must_include(ref: str, pred: Any) -> float:
    """1.0 when one of the ``" |OR| "`` alternatives of ``ref`` occurs in ``pred`` (cleaned, at
    word boundaries where the reference starts/ends with a letter or digit)."""
    p = clean_answer(pred)
    return float(any(_contains(clean_answer(alt), p) for alt in ref.split(" |OR| ")))


def _squad_tokens(text: str) -> list[str]:
    from ponder.text import normalize_answer

    return normalize_answer(text).split()


def fuzzy_fallback(ref: str, pred: Any) -> float:
    """The deterministic stand-in for a judge: 1.0 when at least 80% of the reference's tokens
    (SQuAD normalisation: lower case, no punctuation or articles) appear in the answer."""
    ref_tokens, pred_tokens = _squad_tokens(ref), Counter(_squad_tokens("" if pred is None else str(pred)))
    if not ref_tokens:
        return float(not pred_tokens)
    hits = sum(min(n, pred_tokens[t]) for t, n in Counter(ref_tokens).items())
    return float(hits / len(ref_tokens) >= FUZZY_RECALL)


_JUDGE_PROMPT = (
    "You grade a student's answer against a reference answer. Wording may differ; decide whether the "
    "student's answer means the same as the reference. The string 'N/A' means the task cannot be done.\n"
    "Question: {intent}\nReference answer: {ref}\nStudent answer: {pred}\n"
    "Reply with one word: correct, incorrect, or partially correct."
)
_UA_PROMPT = (
    "A task could not be completed. Decide whether the reported reason matches the actual reason.\n"
    "Task: {intent}\nActual reason: {ref}\nReported reason: {pred}\nReply with one word: same or different."
)


def _ask(judge, prompt: str) -> str:
    out = judge.generate([{"role": "user", "content": prompt}], temperature=0.0, max_tokens=16)
    return (out[0].text if out else "").strip().lower()


def judge_fuzzy(judge, ref: str, pred: str, intent: str) -> tuple[float, str]:
    """The judge's verdict (1.0 only for a plain "correct") and its reply."""
    reply = _ask(judge, _JUDGE_PROMPT.format(intent=intent, ref=ref, pred=pred))
    if "partially" in reply or "incorrect" in reply or "not correct" in reply:
        return 0.0, reply
    return float("correct" in reply), reply


def judge_unachievable(judge, reason: str, pred: str, intent: str) -> tuple[float, str]:
    reply = _ask(judge, _UA_PROMPT.format(intent=intent, ref=reason, pred=pred))
    return float("same" in reply and "different" not in reply), reply


def string_match(task, answer: str | None, judge=None) -> tuple[float, dict]:
    """WebArena's string evaluator over the task's ``reference_answers``."""
    pred = "" if answer is None else str(answer)
    refs = task.eval.get("reference_answers") or {}
    score, details = 1.0, {"answer": pred}
    for approach, value in refs.items():
        if approach == "exact_match":
            s = exact_match(value, pred)
        elif approach == "must_include":
            parts = [must_include(v, pred) for v in value]
            details["must_include"] = dict(zip(value, parts, strict=False))
            s = float(all(parts))
        elif approach == "fuzzy_match":
            if value == "N/A":
                s = exact_match("N/A", pred)
                if s < 1.0:
                    if judge is not None:
                        s, details["judge"] = judge_unachievable(judge, task.eval.get("string_note", ""), pred, task.intent)
                    else:
                        s = float(clean_answer(pred).startswith("n/a"))
                        details["fuzzy"] = "fallback: the answer must start with N/A"
            else:
                parts = []
                for ref in value:
                    if judge is not None:
                        v, reply = judge_fuzzy(judge, ref, pred, task.intent)
                        details.setdefault("judge", []).append(reply)
                    else:
                        v = fuzzy_fallback(ref, pred)
                        details["fuzzy"] = "fallback: token recall >= 0.8"
                    parts.append(v)
                s = float(all(parts))
        else:
            raise ConfigError(f"task {task.task_id}: unknown reference_answers key {approach!r}")
        details[approach + "_score"] = s
        score *= s
    return score, details


# ---- URLs --------------------------------------------------------------------------------------
def _url_parts(url: str) -> tuple[str, str, dict[str, list[str]]]:
    u = urlsplit(url.strip())
    host = (u.hostname or "").lower()
    if u.port and not ((u.scheme == "http" and u.port == 80) or (u.scheme == "https" and u.port == 443)):
        host += f":{u.port}"
    path = unquote(u.path).rstrip("/") or "/"
    query = {k: [v for v in vs if v != ""] for k, vs in parse_qs(u.query, keep_blank_values=True).items()}
    return host, path, {k: v for k, v in query.items() if v}


def url_matches(ref: str, pred: str, *, exact_query: bool = False) -> bool:
    """One reference URL against the page URL: equal host and path, and the reference's query
    parameters present in the page's (all of them and no others with ``exact_query``)."""
    r_host, r_path, r_query = _url_parts(ref)
    p_host, p_path, p_query = _url_parts(pred)
    if r_host and r_host != p_host:
        return False
    if r_path != p_path:
        return False
    if exact_query:
        return {k: sorted(v) for k, v in r_query.items()} == {k: sorted(v) for k, v in p_query.items()}
    return all(any(v in p_query.get(k, []) for v in values) for k, values in r_query.items())


def url_match(reference_url: str, page_url: str, note: str | None = "GOLD in PRED") -> tuple[float, dict]:
    """Whether the page URL matches one of the ``" |OR| "`` alternatives (already resolved)."""
    refs = [r.strip() for r in reference_url.split(" |OR| ") if r.strip()]
    exact = (note or "GOLD in PRED") == "EXACT"
    hit = next((r for r in refs if url_matches(r, page_url, exact_query=exact)), None)
    return float(hit is not None), {"page_url": page_url, "reference_url": refs, "matched": hit}


def webarena_url_match(reference_url: str, page_url: str) -> float:
    """WebArena's url_match as WebArena computes it, for comparison only: the reference's
    host+path must be a *substring* of the page's (so ``/product/1`` matches ``/product/12``),
    and query values are pooled over all alternatives."""
    def parse(url: str) -> tuple[str, dict[str, list[str]]]:
        u = urlsplit(url.rstrip("/"))
        return u.netloc + u.path, parse_qs(u.query)

    refs = [r.rstrip("/") for r in reference_url.split(" |OR| ")]
    ref_paths, ref_query = [], defaultdict(set)
    for r in refs:
        path, query = parse(r)
        ref_paths.append(path)
        for k, v in query.items():
            ref_query[k].update(v)
    pred_path, pred_query = parse(page_url)
    base = float(any(p in pred_path for p in ref_paths))
    q = 1.0
    for k, values in ref_query.items():
        q *= float(any(v in pred_query.get(k, []) for v in values))
    return base * q


# ---- WebArena's helper functions ---------------------------------------------------------------
def reddit_get_post_url(url: str) -> str:
    """The canonical URL of the post a post/comment URL points into (``.../f/<forum>/<id>/``);
    other URLs come back unchanged."""
    u = urlsplit(url)
    parts = u.path.split("/")
    if "f" not in parts:
        return url
    i = parts.index("f")
    if len(parts) < i + 3 or not parts[i + 2]:
        return url
    return f"{u.scheme}://{u.netloc}{'/'.join(parts[: i + 3])}/"


def _magento(path: str, **params) -> Any:
    import httpx

    base = base_urls_from_env().get("shopping")
    if not base:
        raise ConfigError("this WebArena check needs the shopping site's REST API",
                          hint="set PONDER_WEBARENA_SHOPPING (and an admin token or login)")
    token = os.environ.get("PONDER_WEBARENA_SHOPPING_ADMIN_TOKEN")
    if not token:
        r = httpx.post(f"{base}/rest/default/V1/integration/admin/token", timeout=30, json={
            "username": os.environ.get("PONDER_WEBARENA_ADMIN_USER", "admin"),
            "password": os.environ.get("PONDER_WEBARENA_ADMIN_PASSWORD", "admin1234"),
        })
        r.raise_for_status()
        token = r.json()
    r = httpx.get(f"{base}{path}", params=params, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    r.raise_for_status()
    return r.json()


def shopping_get_latest_order_url() -> str:
    """The shop's newest order page (via Magento's REST API)."""
    data = _magento("/rest/V1/orders", **{
        "searchCriteria[sortOrders][0][field]": "created_at", "searchCriteria[sortOrders][0][direction]": "DESC",
        "searchCriteria[pageSize]": "1"})
    order_id = int(data["items"][0]["increment_id"])
    return f"{base_urls_from_env()['shopping']}/sales/order/view/order_id/{order_id}/"


def _latest_review(sku: str) -> dict | None:
    reviews = _magento(f"/rest/V1/products/{sku}/reviews")
    return reviews[-1] if reviews else None


def shopping_get_sku_latest_review_author(sku: str) -> str:
    review = _latest_review(sku)
    return review["nickname"] if review else ""


def shopping_get_sku_latest_review_rating(sku: str) -> str:
    review = _latest_review(sku)
    return str(review["ratings"][0]["percent"]) if review and review.get("ratings") else ""


_GITLAB_ROLE_JS = """(name) => {
  const rows = document.querySelectorAll('[data-qa-selector="member_row"], [data-testid="members-table"] tbody tr, table tbody tr');
  for (const row of rows) {
    if (!row.innerText.includes('@' + name)) continue;
    const role = row.querySelector('[data-qa-selector="access_level_dropdown"], [data-testid="access-level-dropdown"], .gl-dropdown-button-text, .gl-new-dropdown-button-text');
    return role ? role.innerText.trim() : '';
  }
  return '';
}"""


def gitlab_get_project_memeber_role(page, account_name: str) -> str:
    """The role shown for ``account_name`` on a GitLab project's members page (WebArena's name,
    typo included)."""
    try:
        return str(page.evaluate(_GITLAB_ROLE_JS, account_name) or "")
    except Exception:
        return ""


HELPERS = {
    "reddit_get_post_url": reddit_get_post_url,
    "shopping_get_latest_order_url": shopping_get_latest_order_url,
    "shopping_get_sku_latest_review_author": shopping_get_sku_latest_review_author,
    "shopping_get_sku_latest_review_rating": shopping_get_sku_latest_review_rating,
    "gitlab_get_project_memeber_role": gitlab_get_project_memeber_role,
}


def call_helper(expr: str, *, page=None) -> str:
    """Run a WebArena ``func:name(args)`` expression without ``eval``: the name must be one of
    :data:`HELPERS`, the arguments string literals, ``__page__`` (the page) or ``'__last_url__'``
    (the page's URL)."""
    text = expr.removeprefix("func:").strip()
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError as e:
        raise ConfigError(f"cannot parse the helper call {expr!r}") from e
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name) or node.func.id not in HELPERS:
        raise ConfigError(f"unknown helper in {expr!r}", hint=f"known: {', '.join(HELPERS)}")
    args: list[Any] = []
    for arg in node.args:
        if isinstance(arg, ast.Name) and arg.id == "__page__":
            args.append(page)
        elif isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            value = arg.value
            if "__last_url__" in value:
                value = value.replace("__last_url__", page.url if page is not None else "")
            args.append(value)
        else:
            raise ConfigError(f"unsupported argument in {expr!r}")
    return HELPERS[node.func.id](*args)


# ---- program_html ------------------------------------------------------------------------------
def _read_locator(target_page, entry: dict) -> str:
    locator = (entry.get("locator") or "").strip()
    if not locator:
        return target_page.content()
    if locator.startswith("func:"):
        return str(call_helper(locator, page=target_page))
    for prep in entry.get("prep_actions") or []:
        try:
            target_page.evaluate(f"() => {prep}")
        except Exception:
            pass
    try:
        value = target_page.evaluate(f"() => {locator}")
    except Exception:
        return ""
    return "" if value is None else str(value)


def _check_contents(required: dict, text: str) -> tuple[float, dict]:
    if "exact_match" in required:
        return exact_match(required["exact_match"], text), {}
    parts = {c: must_include(c, text) for c in required["must_include"]}
    return float(all(parts.values())), {"must_include": parts}


def program_html(task, page, base_urls: dict[str, str]) -> tuple[float, dict]:
    """Check each ``program_html`` entry in the live browser."""
    if page is None:
        return 0.0, {"error": "no page to check"}
    score, checks = 1.0, []
    for entry in task.eval.get("program_html") or []:
        url = entry["url"]
        if url.startswith("func:"):
            url = call_helper(url, page=page)
        opened = None
        try:
            if url == "last":
                target = page
            else:
                resolved = resolve_url(url, base_urls)
                opened = page.context.new_page()
                opened.goto(resolved, wait_until="load", timeout=PAGE_TIMEOUT_MS)
                target = opened
            text = html.unescape(_read_locator(target, entry))
        finally:
            if opened is not None:
                opened.close()
        s, info = _check_contents(entry["required_contents"], text)
        checks.append({"url": url, "locator": entry.get("locator", ""), "score": s, "text": text[:300], **info})
        score *= s
    return score, {"checks": checks}


# ---- db_state ----------------------------------------------------------------------------------
def _same_cell(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
        return abs(float(a) - float(b)) < 1e-9
    return a == b


def db_state(task, server) -> tuple[float, dict]:
    """Run each ``db_state`` query read-only and compare its rows."""
    if server is None or not hasattr(server, "db"):
        raise EnvError(f"task {task.task_id} checks db_state, which needs the SiteServer it ran on")
    conn: sqlite3.Connection = server.db()
    score, checks = 1.0, []
    try:
        for entry in task.eval.get("db_state") or []:
            try:
                rows = [list(r) for r in conn.execute(entry["sql"], entry.get("params", [])).fetchall()]
            except sqlite3.Error as e:
                raise ConfigError(f"task {task.task_id}: db_state query failed: {e}", hint=entry["sql"]) from e
            if "expected" in entry:
                want = entry["expected"]
                s = float(len(rows) == len(want) and all(
                    len(r) == len(w) and all(_same_cell(a, b) for a, b in zip(r, w, strict=False)) for r, w in zip(rows, want, strict=False)))
                info: dict = {}
            else:
                text = "\n".join(" | ".join("" if v is None else str(v) for v in r) for r in rows)
                s, info = _check_contents(entry["required_contents"], text)
            checks.append({"sql": entry["sql"], "rows": json.loads(json.dumps(rows[:20], default=str)), "score": s, **info})
            score *= s
    finally:
        conn.close()
    return score, {"checks": checks}


# ---- the entry point ---------------------------------------------------------------------------
def evaluate(task, *, answer: str | None, page, server=None, judge=None,
             base_urls: dict[str, str] | None = None) -> Score:
    """Score one episode of ``task``.

    Args:
        task: the :class:`~ponder.environments.tasks.Task`.
        answer: the agent's final answer (``stop [answer]``), or None.
        page: the active Playwright page of the episode's browser context (or None when the
            task only needs string_match / db_state).
        server: the :class:`~ponder.environments.server.SiteServer` the episode ran on (needed
            for db_state, and its base URLs resolve placeholders).
        judge: a ChatModel for fuzzy_match; None uses :func:`fuzzy_fallback`.
        base_urls: extra placeholder -> URL mappings (WebArena's come from the environment).

    Returns:
        A :class:`Score`: the product of the per-type scores, with per-type details.
    """
    urls = {**base_urls_from_env(), **(getattr(server, "base_urls", None) or {}), **(base_urls or {})}
    value, details = 1.0, {}
    for kind in task.eval_types:
        if kind == "string_match":
            s, info = string_match(task, answer, judge)
        elif kind == "url_match":
            if page is None:
                s, info = 0.0, {"error": "no page to check"}
            else:
                s, info = url_match(resolve_url(task.eval["reference_url"], urls), page.url, task.eval.get("url_note"))
        elif kind == "program_html":
            s, info = program_html(task, page, urls)
        elif kind == "db_state":
            s, info = db_state(task, server)
        else:
            raise ConfigError(f"task {task.task_id}: unknown eval type {kind!r}")
        details[kind] = {"score": s, **info}
        value *= s
    return Score(value, details)
