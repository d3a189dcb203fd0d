"""lab.core.cached.shared_figure: a chart built once for every session of one language, and
the /qat and /amp pages draw theirs through it (a class's visits share four figures)."""

from __future__ import annotations

from pathlib import Path

from lab.core.cached import shared_figure

ROOT = Path(__file__).resolve().parents[1]


def test_built_once_per_key_and_language():
    built = []

    def build(tag):
        return lambda: built.append(tag) or {"figure": tag}

    a = shared_figure("t", ("settings", 1), "en", build("a"))
    b = shared_figure("t", ("settings", 1), "en", build("b"))  # a second session: the same object
    c = shared_figure("t", ("settings", 1), "zh_CN", build("c"))
    d = shared_figure("t", ("settings", 2), "en", build("d"))
    assert a is b and built == ["a", "c", "d"]
    assert c == {"figure": "c"} and d == {"figure": "d"}


def test_the_training_pages_share_their_charts():
    for page, n in (("qat.py", 4), ("amp.py", 4)):
        text = (ROOT / "app_pages" / page).read_text()
        assert text.count("st.plotly_chart(shared_figure(") + text.count("st.plotly_chart(\n    shared_figure(") == n, page
