"""The lesson framework of ``/learn``: the ordered lessons, and what every lesson is made of.

A lesson module (``lab/learn/lessons/<id>.py``) defines ``render(lesson: Lesson) -> None`` and
draws, top to bottom: the idea in a few sentences (``st.markdown``), one small interactive
whose widgets are keyed ``lesson.key("name")``, the formula with those numbers
(``lesson.formula``), a question (``lesson.predict``) whose answer quantlib computes, and a
link into the full tool in the same state (``lesson.open_tool``).  Everything shown comes
from quantlib; nothing is typed in.

Progress (the lessons whose answer was revealed) and the teacher's mode live in the URL
(``?lesson=casts&done=quantization,float_fields&teacher=1``), not in an account.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import streamlit as st

from lab.core.i18n import N_, _

__all__ = ["LESSONS", "LessonInfo", "Lesson", "lesson_ids", "lesson_info", "render_lesson", "tex_number", "translate_tex", "TEX_WORDS", "DONE_KEY", "TEACHER_KEY"]

DONE_KEY = "learn_done"  # session key: tuple of lesson ids whose answer was revealed
TEACHER_KEY = "learn_teacher"  # session key: answers hidden for a classroom


@dataclass(frozen=True)
class LessonInfo:
    """One lesson's place on the path: ``id`` (its URL value and module name), ``title``
    (an ``N_`` msgid), ``summary`` (one line for the path's list, an ``N_`` msgid)."""

    id: str
    title: str
    summary: str

    @property
    def module(self) -> str:
        return f"lab.learn.lessons.{self.id}"


LESSONS: tuple[LessonInfo, ...] = (
    LessonInfo("quantization", N_("What quantization is, and its two costs"), N_("Fewer bits per number: less memory, some error, and not always more speed.")),
    LessonInfo("float_fields", N_("The three fields of a float"), N_("Sign, exponent and mantissa, and the formula that turns them into a value.")),
    LessonInfo("formats", N_("The format table: float64 down to 4 bits"), N_("Range against precision: TF32's 19 bits, bfloat16, float16, FP8, FP4, and NF4 as a 4-bit index.")),
    LessonInfo("casts", N_("Float to float: casting"), N_("Re-bias the exponent, round the mantissa, and what overflows or underflows.")),
    LessonInfo("blocks", N_("Symmetric quantization in blocks"), N_("One scale per block of values, and why blocks keep one outlier from ruining the rest.")),
    LessonInfo("asymmetric", N_("Asymmetric quantization"), N_("A scale and a zero point, for values that are not centred on zero.")),
    LessonInfo("nf4", N_("NF4 and double quantization"), N_("Levels placed where normal weights are, and quantizing the scales too (QLoRA).")),
    LessonInfo("mixed_precision", N_("Mixed-precision training"), N_("float16 gradients that flush to zero, a float32 master copy and loss scaling.")),
    LessonInfo("ptq", N_("Post-training quantization and calibration"), N_("TFLite's modes, and choosing an activation's range from calibration data.")),
    LessonInfo("qat", N_("Quantization-aware training"), N_("Training through the rounding with a straight-through estimator.")),
    LessonInfo("binary_log", N_("Binary, linear and logarithmic quantization"), N_("Where the levels go: two of them, evenly spaced, or powers of two.")),
    LessonInfo("smoothquant", N_("SmoothQuant"), N_("Moving the activations' outliers into the weights, where they are easier to quantize.")),
    LessonInfo("llm_text", N_("What quantization does to a language model's text"), N_("The same prompt through a 135M-parameter model, float and quantized.")),
)
"""The path, in the notes' order."""


def lesson_ids() -> tuple[str, ...]:
    return tuple(info.id for info in LESSONS)


def lesson_info(lesson_id: str) -> LessonInfo:
    """The lesson called ``lesson_id``; KeyError if there is none."""
    for info in LESSONS:
        if info.id == lesson_id:
            return info
    raise KeyError(lesson_id)


@dataclass(frozen=True)
class Lesson:
    """What a lesson module gets: its id, whether answers are hidden (teacher's mode), and
    the building blocks every lesson shares."""

    id: str
    teacher: bool = False

    def key(self, name: str) -> str:
        """The session key of one of the lesson's widgets: ``Lesson("casts").key("value") == "learn_casts_value"``."""
        return f"learn_{self.id}_{name}"

    def formula(self, tex: str) -> None:
        """The formula, typeset (KaTeX), with the numbers already filled in by the caller; the
        words inside ``\\text{…}`` are translated (:data:`TEX_WORDS`; symbols such as
        ``\\text{scale}`` have no entry and stay as they are)."""
        st.latex(translate_tex(tex))

    def predict(self, question: str, options: Sequence[str], answer: int, explanation: str, *, name: str = "q") -> bool:
        """Ask ``question``; the student picks one of ``options``, then reveals the answer.

        ``answer`` is the index of the right option and ``explanation`` the reason, both
        computed by the lesson from quantlib.  In the teacher's mode the reveal is hidden.
        Returns whether the answer is shown (the lesson may then show more)."""
        st.markdown(_("**Predict first.** {question}").format(question=question))
        choice = st.radio(_("Your prediction"), list(range(len(options))), index=None, key=self.key(name), format_func=lambda i: options[i], label_visibility="collapsed")
        if self.teacher:
            st.caption(_("Teacher's mode: the answer is hidden. Turn the mode off to reveal it."))
            return False
        shown_key = self.key(name + "_shown")  # holds the question whose answer was revealed
        if st.session_state.get(shown_key) != question:  # a new question (the numbers changed) asks again
            if st.button(_("Reveal the answer"), key=self.key(name + "_reveal"), disabled=choice is None, help=_("Pick a prediction first.") if choice is None else None):
                st.session_state[shown_key] = question
                done = tuple(st.session_state.get(DONE_KEY, ()))
                if self.id not in done:
                    st.session_state[DONE_KEY] = (*done, self.id)
                st.rerun()
            return False
        right = options[answer]
        if choice == answer:
            st.success(_("Right: {answer}. {why}").format(answer=right, why=explanation), icon=":material/check_circle:")
        elif choice is None:
            st.info(_("The answer: {answer}. {why}").format(answer=right, why=explanation), icon=":material/lightbulb:")
        else:
            st.warning(_("Not quite: the answer is {answer}. {why}").format(answer=right, why=explanation), icon=":material/lightbulb:")
        return True

    def open_tool(self, label: str, page: str, query: dict[str, str] | None = None) -> None:
        """A link to the full tool page ``page`` (e.g. ``"app_pages/bits.py"``) in the state
        ``query`` describes (its URL parameters)."""
        st.page_link(page, label=label, icon=":material/open_in_new:", query_params=query or {})


TEX_WORDS = (
    N_("per tensor"),
    N_("block 1"),
    N_("block 2"),
    N_("in blocks"),
    N_("forward:"),
    N_("backward (STE):"),
    N_("binary:"),
    N_("linear:"),
    N_("log:"),
    N_("below"),
    N_("(the largest error here)"),
)
"""Words the lessons write inside ``\\text{…}`` in a formula, as msgids (see :func:`translate_tex`)."""

_TEX_TEXT = re.compile(r"\\text\{([^{}]*)\}")


def translate_tex(tex: str) -> str:
    r"""Each ``\text{words}`` of ``tex`` with its words translated, spaces kept:
    ``translate_tex(r"\text{per tensor } c")`` is ``r"\text{整个张量 } c"`` in 简体中文."""

    def one(m: re.Match) -> str:
        inner = m.group(1)
        words = inner.strip()
        if not words:
            return m.group(0)
        lead, trail = inner[: len(inner) - len(inner.lstrip())], inner[len(inner.rstrip()) :]
        return "\\text{" + lead + _(words) + trail + "}"

    return _TEX_TEXT.sub(one, tex)


def tex_number(v: float, digits: int = 6) -> str:
    """A number for a formula: ``tex_number(65504) == "65504"``, ``tex_number(3.3895e38, 3) ==
    r"3.39 \times 10^{38}"`` (no "e+38" inside LaTeX)."""
    text = f"{v:.{digits}g}"
    if "e" not in text:
        return text
    mant, exp = text.split("e")
    return r"%s \times 10^{%d}" % (mant, int(exp))


def render_lesson(lesson_id: str, *, teacher: bool = False, render: Callable[[Lesson], None] | None = None) -> None:
    """Import the lesson's module (``lab/learn/lessons/<id>.py``) and draw it."""
    info = lesson_info(lesson_id)
    if render is None:
        render = importlib.import_module(info.module).render
    render(Lesson(info.id, teacher=teacher))
