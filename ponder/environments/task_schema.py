"""The task-file schema as pydantic models, and the translation of a validation failure into a
:class:`~ponder.errors.TaskConfigError` that names the file, the task and the field.

The models check; they do not transform: :func:`check_task` validates a task config and the
caller keeps the config itself (WebArena's shape, unknown fields included). Strict mode is on, so
``"yes"`` is not a boolean and ``1`` is not a string.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from ponder.errors import TaskConfigError

__all__ = ["CATEGORIES", "DIFFICULTIES", "EVAL_TYPES", "EvalSpec", "TaskSpec", "check_task"]

EVAL_TYPES = ("string_match", "url_match", "program_html", "db_state")
DIFFICULTIES = ("easy", "medium", "hard", "unknown")
CATEGORIES = ("info", "navigation", "state")
URL_NOTES = ("GOLD in PRED", "EXACT")


def _problem(problem: str, *where: str | int) -> PydanticCustomError:
    """A failure with ponder's wording; ``where`` names a part below the field being checked."""
    return PydanticCustomError("ponder", "{problem}", {"problem": problem, "where": list(where)})


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _non_blank(problem: str):
    def check(value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            raise _problem(problem)
        return value
    return BeforeValidator(check)


def _of_type(kind: type | tuple[type, ...], problem: str):
    def check(value: Any) -> Any:
        if not isinstance(value, kind):
            raise _problem(problem)
        return value
    return BeforeValidator(check)


def _string_list(problem: str, *, non_empty: bool = False):
    def check(value: Any) -> Any:
        if not _str_list(value) or (non_empty and not value):
            raise _problem(problem)
        return value
    return BeforeValidator(check)


def _contents(value: Any) -> Any:
    """``required_contents``: exactly one of ``exact_match`` (a string) or ``must_include`` (a
    list of strings)."""
    if not isinstance(value, dict) or len(value) != 1:
        raise _problem("must be an object with exactly one of exact_match, must_include")
    (key, content), = value.items()
    if key not in ("exact_match", "must_include"):
        raise _problem(f"has unknown key {key!r} (expected exact_match or must_include)")
    if (key == "exact_match" and isinstance(content, str)) or (key == "must_include" and _str_list(content)):
        return value
    raise _problem("must be exact_match (a string) or must_include (a list of strings)", key)


def _eval_types(value: Any) -> Any:
    if not _str_list(value) or not value:
        raise _problem("must be a non-empty list of strings")
    for t in value:
        if t not in EVAL_TYPES:
            raise _problem(f"has unknown type {t!r} (known: {', '.join(EVAL_TYPES)})")
    return value


def _fuzzy(value: Any) -> Any:
    if value == "N/A" or _str_list(value):
        return value
    raise _problem('must be a list of strings or "N/A"')


def _select(value: Any) -> Any:
    if not isinstance(value, str) or not re.match(r"\s*(select|with)\b", value, re.I):
        raise _problem("must be a SELECT (or WITH) query")
    return value


def _rows(value: Any) -> Any:
    if not (isinstance(value, list) and all(isinstance(r, list) for r in value)):
        raise _problem("must be a list of rows (lists)")
    return value


def _task_id(value: Any) -> Any:
    if not isinstance(value, (str, int)) or isinstance(value, bool) or str(value).strip() == "":
        raise _problem("is missing or not a string/integer")
    return value


def _choice(options: tuple[str, ...], shown: tuple[str, ...] | None = None):
    def check(value: Any) -> Any:
        if value not in options:
            raise _problem(f"is {value!r}; expected one of {', '.join(shown or options)}")
        return value
    return BeforeValidator(check)


Contents = Annotated[Any, BeforeValidator(_contents)]
#: eval type -> the part of ``eval`` it reads (checked only when the type is listed)
_PARTS = {"string_match": "reference_answers", "program_html": "program_html", "db_state": "db_state"}


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")


class ReferenceAnswers(BaseModel):
    """``eval.reference_answers``: what a ``string_match`` answer must hold."""

    model_config = ConfigDict(strict=True, extra="forbid")

    exact_match: Annotated[Any, _of_type(str, "must be a string")] | None = None
    must_include: Annotated[Any, _string_list("must be a list of strings")] | None = None
    fuzzy_match: Annotated[Any, BeforeValidator(_fuzzy)] | None = None


class ProgramHtml(_Model):
    """One ``eval.program_html`` entry: a page, a locator, and what its text must hold."""

    url: Annotated[Any, _non_blank('must be a URL, "last" or "func:..."')]
    locator: Annotated[Any, _of_type(str, "must be a string")] = ""
    required_contents: Contents


class DbState(_Model):
    """One ``eval.db_state`` entry: a read-only query and its expected rows or contents."""

    sql: Annotated[Any, BeforeValidator(_select)]
    params: Annotated[Any, _of_type(list, "must be a list")] = []
    expected: Annotated[Any, BeforeValidator(_rows)] = None
    required_contents: Contents = None

    @model_validator(mode="after")
    def _one_check(self) -> DbState:
        checks = {"expected", "required_contents"} & self.model_fields_set
        if len(checks) != 1:
            raise _problem("needs exactly one of 'expected' (rows) or 'required_contents'")
        return self


class EvalSpec(_Model):
    """``eval``: which checks score the task, and each check's data."""

    eval_types: Annotated[Any, BeforeValidator(_eval_types)]
    reference_answers: ReferenceAnswers | None = None
    reference_url: Any = None
    url_note: Any = None
    program_html: list[ProgramHtml] | None = None
    db_state: list[DbState] | None = None

    @model_validator(mode="before")
    @classmethod
    def _only_used_parts(cls, data: Any) -> Any:
        # A part is checked only when an eval type uses it (WebArena leaves unused parts null or
        # in odd shapes).
        if not isinstance(data, dict):
            return data
        types = data.get("eval_types") if _str_list(data.get("eval_types")) else []
        unused = {part for kind, part in _PARTS.items() if kind not in types}
        return {k: v for k, v in data.items() if k not in unused}

    @model_validator(mode="after")
    def _parts_present(self) -> EvalSpec:
        types = self.eval_types
        if "string_match" in types:
            if self.reference_answers is None or not self.reference_answers.model_fields_set:
                raise _problem("must be an object for string_match", "reference_answers")
        if "url_match" in types:
            if not isinstance(self.reference_url, str) or not self.reference_url.strip():
                raise _problem("must be a non-empty string for url_match", "reference_url")
            note = self.url_note or "GOLD in PRED"
            if note not in URL_NOTES:
                raise _problem(f"is {note!r}; expected 'GOLD in PRED' or 'EXACT'", "url_note")
        if "program_html" in types and not self.program_html:
            raise _problem("must be a non-empty list for program_html", "program_html")
        if "db_state" in types and not self.db_state:
            raise _problem("must be a non-empty list for db_state", "db_state")
        return self


class TaskSpec(_Model):
    """One task config: WebArena's fields and ponder's (any other field is kept, unchecked)."""

    task_id: Annotated[Any, BeforeValidator(_task_id)]
    sites: Annotated[Any, _string_list("must be a non-empty list of site names", non_empty=True)]
    start_url: Annotated[Any, _non_blank("must be a non-empty string")]
    intent: Annotated[Any, _non_blank("must be a non-empty string")]
    require_login: Annotated[Any, _of_type(bool, "must be true or false")] = False
    eval: EvalSpec
    difficulty: Annotated[Any, _choice(DIFFICULTIES, DIFFICULTIES[:3])] = "unknown"
    category: Any = None
    reference: Annotated[Any, _string_list("must be a list of action strings")] = []

    @model_validator(mode="after")
    def _category(self) -> TaskSpec:
        if self.category and self.category not in CATEGORIES:
            raise _problem(f"is {self.category!r}; expected one of {', '.join(CATEGORIES)}", "category")
        return self


_PHRASES = {
    "missing": "is missing",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "extra_forbidden": "is not allowed here",
}


def _where(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def check_task(d: Any, source: str) -> None:
    """Validate one task config.

    Raises:
        TaskConfigError: ``SOURCE: task ID: field 'eval.program_html[0].url' must be ...``
            (the first problem found).
    """
    if not isinstance(d, dict):
        raise TaskConfigError(f"{source}: a task must be a JSON object, got {type(d).__name__}")
    try:
        TaskSpec.model_validate(d)
    except ValidationError as e:
        err = e.errors(include_url=False)[0]
        loc = tuple(err["loc"])
        ctx = err.get("ctx") or {}
        if err["type"] == "ponder":
            loc, problem = loc + tuple(ctx.get("where") or ()), ctx["problem"]
        elif err["type"] == "extra_forbidden" and loc[-2:-1] == ("reference_answers",):
            problem = "is not exact_match, must_include or fuzzy_match"
        else:
            problem = _PHRASES.get(err["type"]) or err["msg"][:1].lower() + err["msg"][1:]
        tid = d.get("task_id")
        ok_id = isinstance(tid, (str, int)) and not isinstance(tid, bool) and str(tid).strip()
        who = f"task {tid}" if ok_id else "a task"
        raise TaskConfigError(f"{source}: {who}: field '{_where(loc)}' {problem}",
                              hint="see docs/environments.md for the task format") from None
