"""quantlib.ptq.explain: the numbers of one Linear up close, checked against the definitions
(output_error of the matrices a trace implies, the arithmetic of a step recomputed by hand)."""

from __future__ import annotations

import numpy as np
import pytest

from quantlib.ptq.awq import awq_search
from quantlib.ptq.explain import awq_curve, gptq_curve, gptq_step
from quantlib.ptq.gptq import GPTQTrace, gptq, hessian, inverse_cholesky, output_error, rtn


def _layer(seed: int, rows: int = 24, cols: int = 64, n: int = 256):
    rng = np.random.default_rng(seed)
    # correlated channels (as real activations are: GPTQ's updates need H off its diagonal)
    x = (rng.standard_normal((n, 8)) @ rng.standard_normal((8, cols)) + 0.3 * rng.standard_normal((n, cols))).astype(np.float32)
    x[:, rng.choice(cols, 3, replace=False)] *= 20  # a few outlier channels
    w = rng.standard_normal((rows, cols)).astype(np.float32) * 0.05
    return w, x


def test_the_docstring_example():
    h = np.array([[2.0, 1.0], [1.0, 2.0]])
    u, _ = inverse_cholesky(h, 0.0)
    w0 = np.array([[0.6, 0.3]])
    e0 = (0.6 - 1.0) / u[0, 0]
    w1 = 0.3 - e0 * u[0, 1]
    tr = GPTQTrace(w0=w0, q=np.array([[1.0, 0.0]]), seen=np.array([[0.6, w1]]), err=np.array([[e0, w1 / u[1, 1]]]), u=u, perm=np.array([0, 1]), damp=0.0)
    c = gptq_curve(tr, h, np.array([[1.0, 0.0]]), points=3)
    assert c.steps.tolist() == [0, 1, 2]
    assert np.round(c.gptq, 3).tolist() == [0.0, 0.436, 0.454] and np.round(c.rtn, 3).tolist() == [0.0, 0.504, 0.454]
    s = gptq_step(tr, 1, 0)
    assert round(s.e, 3) == -0.490 and round(s.next_after, 6) == 0.1


@pytest.mark.parametrize("scheme", ["uint3:block=16", "int4:block=32", "nf4:block=16"])
@pytest.mark.parametrize("act_order", [False, True])
def test_curve_ends_at_the_final_errors(scheme, act_order):
    w, x = _layer(1)
    h = hessian(x)
    res = gptq(w, h, scheme, act_order=act_order, trace=True)
    rq = rtn(w, scheme)
    c = gptq_curve(res.trace, h, rq, points=9)
    assert c.gptq[0] == 0 and c.rtn[0] == 0
    assert c.gptq[-1] == pytest.approx(output_error(w, res.weight, h), rel=1e-6)
    assert c.rtn[-1] == pytest.approx(output_error(w, rq, h), rel=1e-6)
    # the middle of the curve is the error of the matrix state(k) really is
    k = int(c.steps[4])
    assert c.gptq[4] == pytest.approx(output_error(w, res.trace.state(k), h), rel=1e-4)
    assert c.gptq[-1] < c.rtn[-1]  # correlated inputs: GPTQ wins at the end
    assert c.below_rtn_from() is not None


def test_a_step_is_the_trace_arithmetic():
    w, x = _layer(2)
    h = hessian(x)
    res = gptq(w, h, "uint3:block=16", trace=True, dtype=np.float64)
    tr = res.trace
    for step in (1, 17, 64):
        row = int(np.abs(tr.err[:, tr.perm[step - 1]]).argmax())
        s = gptq_step(tr, step, row)
        assert s.col == tr.perm[step - 1]
        assert s.e == pytest.approx((s.w - s.q) / s.u, rel=1e-9)
        before = tr.state(step - 1)
        assert s.w == pytest.approx(before[row, s.col], abs=1e-12)  # what the column held when reached
        if step < 64:
            after = tr.state(step)
            assert s.next_after == pytest.approx(after[row, s.next_col], abs=1e-9)
        else:
            assert s.next_col is None
    with pytest.raises(ValueError, match="step must be 1 to 64"):
        gptq_step(tr, 0, 0)


def test_awq_curve_is_relative_output_error():
    w, x = _layer(3)
    s = awq_search([w], x, "uint3:block=16", max_tokens=None)
    c = awq_curve(s)
    # alpha = 0 is RTN: its relative error is output_error with H from the same tokens
    assert c.rtn == pytest.approx(output_error(w, rtn(w, "uint3:block=16"), hessian(x)), rel=1e-4)
    assert c.best == pytest.approx(c.relative.min()) and c.best <= c.rtn
    assert c.alpha == s.alpha
