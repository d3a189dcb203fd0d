"""No cross-talk: two sessions on the same page of one process each see only their own settings
and results, although the heavy results they share go through one process-wide cache.

The two AppTests run one after the other, interleaved (A opens, B opens, A reruns): AppTest
patches a process-global Runtime for each run, so two of them in two threads race each other
(a KeyError in its widget table, "Runtime hasn't been created!").  Two sessions whose first runs
really overlap are driven through a real server by tests/e2e/test_sessions_browser.py, and the
cache's single flight under threads and processes is tested in tests/test_results.py."""

from __future__ import annotations

import pytest

from tests.apptest import open_page

# page, session-state key, (URL of session A, its value), (URL of session B, its value)
CASES = [
    ("bits", "bits_value", ({"value": "0.123456"}, "0.123456"), ({"value": "7.65432"}, "7.65432")),
    ("formats", "fmts_value", ({"value": "0.123456"}, "0.123456"), ({"value": "7.65432"}, "7.65432")),
    ("tensor", "tl_seed", ({"seed": "11"}, 11), ({"seed": "12"}, 12)),
    ("learn", "learn_lesson", ({"lesson": "quantization"}, "quantization"), ({"lesson": "casts"}, "casts")),
    ("cost", "cost_model", ({"model": "smollm2-135m"}, "smollm2-135m"), ({"model": "llama2-70b"}, "llama2-70b")),
    ("amp", "amp_lr", ({"lr": "0.05"}, 0.05), ({"lr": "0.2"}, 0.2)),
    ("qat", "qat_seed", ({"seed": "0", "seeds": "1"}, 0), ({"seed": "5", "seeds": "1"}, 5)),
    ("model", "model_recipe", ({"recipe": "tflite_int8"}, "tflite_int8"), ({"recipe": "w8a8"}, "w8a8")),
    ("llm", "llm_prompt", ({"prompt": "Name a red fruit."}, "Name a red fruit."), ({"prompt": "Count to five."}, "Count to five.")),
]
HEAVY = {"model": 240, "llm": 400, "qat": 120, "amp": 120}


def _text(at) -> str:
    parts = [m.value for m in at.markdown] + [str(m.value) for m in at.metric] + [c.value for c in at.caption]
    parts += [str(w.value) for w in at.text_input] + [str(w.value) for w in at.text_area] + [str(w.value) for w in at.number_input]
    parts += [d.value.to_csv() for d in at.dataframe]
    return "\n".join(parts)


@pytest.mark.parametrize("page, key, a, b", CASES, ids=[c[0] for c in CASES])
def test_two_sessions_see_only_their_own(page, key, a, b):
    from lab.llm.state import PROMPT

    if page == "llm":
        from lab.llm.cached import available

        if not available():
            pytest.skip("the language model's package is not installed")
        key = PROMPT
    timeout = HEAVY.get(page, 60)
    at_a = open_page(f"app_pages/{page}.py", timeout=timeout, **a[0])
    at_b = open_page(f"app_pages/{page}.py", timeout=timeout, **b[0])
    for at, (_q, value) in ((at_a, a), (at_b, b)):
        assert not at.exception
        got = at.session_state[key]
        assert got == pytest.approx(value) if isinstance(value, float) else got == value
    text_a, text_b = _text(at_a), _text(at_b)
    assert text_a != text_b  # their results differ too, not only the widget
    if isinstance(a[1], str) and page in ("bits", "formats"):
        assert a[1] in text_a and a[1] not in text_b and b[1] in text_b and b[1] not in text_a
    # and a rerun of one does not move the other
    at_a.run()
    assert not at_a.exception
    assert at_b.session_state[key] == pytest.approx(b[1]) if isinstance(b[1], float) else at_b.session_state[key] == b[1]
