"""The guided path (/learn): the notes' ideas one at a time, in their order.

Layout only, top to bottom: URL -> the path (progress, lesson picker, teacher's mode) -> the
open lesson (its module in lab/learn/lessons draws idea, interactive, formula, question,
link into the tool) -> previous / next -> the lesson's shareable links (and the teacher's)
-> the printable one-page summary.
"""

import streamlit as st

from lab.core import widgets
from lab.core.i18n import DEFAULT_LANG, _, current_lang
from lab.learn import state as ls
from lab.learn.cached import summary_bytes
from lab.learn.core import LESSONS, lesson_ids, lesson_info, render_lesson
from lab.learn.state import LEARN

ls.learn_load_url()
ss = st.session_state
widgets.inject_css()
ids = lesson_ids()

st.title(_("Learn: the notes, one idea at a time"))
st.caption(
    _(
        "Thirteen short lessons in the order of the notes. Each one is a single idea, a small thing to try, the formula with your numbers in it, and a question to answer before the lab shows you. Your progress is kept in the URL: bookmark it to come back."
    )
)
for note in ss.pop(LEARN.notes, []):
    st.warning(note, icon=":material/link:")

done = ss[LEARN.done]
c_pick, c_teacher = st.columns([3, 1], vertical_alignment="bottom")
c_pick.selectbox(
    _("Lesson"),
    ids,
    key=LEARN.lesson,
    format_func=lambda i: ("✓ " if i in done else "") + _("{n}. {title}").format(n=ids.index(i) + 1, title=_(lesson_info(i).title)),
)
c_teacher.toggle(_("Teacher's mode"), key=LEARN.teacher, help=_("Hides every answer, for a classroom: the students predict, the teacher reveals."))
st.progress(len(done) / len(ids), text=_("{n} of {total} lessons done").format(n=len(done), total=len(ids)))

current = ss[LEARN.lesson]
info = lesson_info(current)
idx = ids.index(current)
st.header(_("{n}. {title}").format(n=idx + 1, title=_(info.title)))
st.caption(_(info.summary))
render_lesson(current, teacher=ss[LEARN.teacher])

st.divider()
c_prev, c_next = st.columns(2)
if idx > 0:
    c_prev.button(_("← {title}").format(title=_(LESSONS[idx - 1].title)), key="learn_prev", on_click=ls.go_to, args=(ids[idx - 1],), width="stretch")
if idx + 1 < len(ids):
    c_next.button(_("{title} →").format(title=_(LESSONS[idx + 1].title)), key="learn_next", on_click=ls.go_to, args=(ids[idx + 1],), type="primary", width="stretch")

lang = current_lang()
extra = {} if lang == DEFAULT_LANG else {"lang": lang}
with st.expander(_("Share this lesson")):
    st.caption(_("A link to this lesson for a class:"))
    st.code(ls.lesson_link(st.context.url, {**ls.lesson_query(current), **extra}), language=None)
    st.caption(_("The same lesson in the teacher's mode, with every answer hidden, for the screen you project:"))
    st.code(ls.lesson_link(st.context.url, {**ls.lesson_query(current, teacher=True), **extra}), language=None)

st.download_button(
    _("Download the one-page summary (HTML, printable)"),
    data=lambda: summary_bytes(lang),
    file_name="quantization-lab-summary.html",
    mime="text/html",
    on_click="ignore",
    icon=":material/print:",
    key="learn_summary",
    help=_("The formats table and the notes' formulas on one page, for printing or saving as PDF; it needs no network."),
)

ls.learn_write_url()
