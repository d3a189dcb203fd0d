"""URL state of the guided path (``/learn``).

``?lesson=blocks&done=quantization,float_fields&teacher=1``: the lesson open (the first when
left out), the lessons whose answer was revealed (the progress, kept in the URL, not in an
account) and the teacher's mode (answers hidden for a classroom).
"""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from lab.core.i18n import _
from lab.core.state import Param, params_to_query, query_dict, read_params, shown_value, url_is_new, write_url
from lab.learn.core import DONE_KEY, TEACHER_KEY, lesson_ids

__all__ = ["LEARN", "PARAMS", "learn_load_url", "learn_write_url", "lesson_query", "lesson_link", "go_to"]


class LEARN:
    """Session-state keys of the page."""

    page = "learn"
    lesson = "learn_lesson"
    done = DONE_KEY
    teacher = TEACHER_KEY
    notes = "learn_url_notes"


PARAMS = (
    Param("lesson", LEARN.lesson, "choice", default=lesson_ids()[0], options=lesson_ids(), lower=False),
    Param("teacher", LEARN.teacher, "bool", default=False),
)


def learn_load_url() -> None:
    """Apply the URL when it came from outside; keep the problems to show as notes."""
    ss = st.session_state
    ss.setdefault(LEARN.lesson, lesson_ids()[0])
    ss.setdefault(LEARN.teacher, False)
    ss.setdefault(LEARN.done, ())
    if not url_is_new(LEARN.page):
        return
    qp = query_dict()
    notes = read_params(qp, PARAMS)
    if "done" in qp:
        given = [d.strip() for d in qp["done"].split(",") if d.strip()]
        unknown = [d for d in given if d not in lesson_ids()]
        if unknown:
            notes.append(_("URL parameter done= names no lesson called {names}: left out.").format(names=", ".join(shown_value(u) for u in unknown)))
        ss[LEARN.done] = tuple(d for d in lesson_ids() if d in given)
    ss[LEARN.notes] = notes


def lesson_query(lesson_id: str, *, teacher: bool = False, done: tuple[str, ...] = ()) -> dict[str, str]:
    """The URL parameters of one lesson: ``lesson_query("casts") == {"lesson": "casts"}``."""
    values = {LEARN.lesson: lesson_id, LEARN.teacher: teacher}
    out = params_to_query(PARAMS, values)
    if lesson_id == lesson_ids()[0]:
        out["lesson"] = lesson_id  # a shared link names its lesson even when it is the first
    if done:
        out["done"] = ",".join(d for d in lesson_ids() if d in done)
    return out


def lesson_link(base_url: str | None, query: dict[str, str]) -> str:
    """The link to share: ``base_url`` (the page's address, ``st.context.url``; its own query is
    dropped) with ``query``, or the relative ``/learn?...`` when the address is unknown.
    ``lesson_link("http://host:8501/learn", {"lesson": "casts"}) == "http://host:8501/learn?lesson=casts"``."""
    base = (base_url or "").split("?", 1)[0].split("#", 1)[0].rstrip("/")
    if not base.startswith(("http://", "https://")):
        base = "/learn"
    elif not base.endswith("/learn"):
        base += "/learn"
    return base + "?" + urlencode(query, safe=",")


def go_to(lesson_id: str) -> None:
    """Button callback: open another lesson."""
    st.session_state[LEARN.lesson] = lesson_id


def learn_write_url() -> None:
    ss = st.session_state
    q = params_to_query(PARAMS)
    if ss.get(LEARN.done):
        q["done"] = ",".join(d for d in lesson_ids() if d in ss[LEARN.done])
    write_url(LEARN.page, q)
