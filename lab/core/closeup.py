"""One Linear up close under GPTQ and AWQ: the tab both model pages draw (``/llm``, ``/model``).

A page picks the Linear, the grid and act order (:func:`pickers`, after :func:`layer_problem`
has checked a Linear named in the URL), computes the close-ups through its own ``cached``
module (:mod:`quantlib.ptq.closeup`'s :class:`GPTQCloseup` and :class:`AWQCloseup`), and hands
them to :func:`render_closeup`, which draws the rest: GPTQ's step slider with the step's
arithmetic in live numbers, the output-error curve against RTN's, the matrix of pushed
corrections, AWQ's α sweep and its scales.  What differs between the models comes in as
arguments: where the inputs came from (``source``), what to say when a Linear is in no AWQ
group (``awq_missing``) and where AWQ's ``1 / s`` goes in this model (``awq_note``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import streamlit as st

from figures import ptq as pfigs
from lab.core.i18n import _
from lab.core.state import url_value
from lab.core.widgets import PLOTLY_CONFIG
from quantlib.ptq.closeup import AWQCloseup, GPTQCloseup
from quantlib.ptq.explain import gptq_step

__all__ = ["MATRIX_ROWS", "layer_problem", "pickers", "render_closeup"]

MATRIX_ROWS = 32  # rows of W shown in the matrix of corrections


def layer_problem(key: str, names: Sequence[str], default: str) -> str | None:
    """Make ``session_state[key]`` one of ``names``: a value that is not (from the URL) is
    replaced by ``default`` and the warning to show is returned; None when all was well."""
    ss = st.session_state
    if ss.get(key) in names:
        return None
    bad = key in ss
    problem = (
        _("There is no Linear {name!r}: the names are {first} … {last}. Showing {default}.").format(
            name=url_value(ss[key]), first=names[0], last=names[-1], default=default
        )
        if bad
        else None
    )
    ss[key] = default
    return problem


def pickers(
    *, names: Sequence[str], grids: Sequence[str], layer_key: str, grid_key: str, order_key: str, on_change: Callable[[str], None] | None = None
) -> tuple[str, str, bool]:
    """The Linear, the grid and the act-order box on one row: ``(name, grid, act_order)``.
    ``on_change(widget_key)``: the page's callback after a user's choice (e.g. to pin it)."""

    def kw(key: str) -> dict:
        return {} if on_change is None else {"on_change": on_change, "args": (key,)}

    c_l, c_g, c_o = st.columns([2, 2, 1], vertical_alignment="bottom")
    layer = c_l.selectbox(_("Linear"), list(names), key=layer_key, **kw(layer_key))
    grid = c_g.selectbox(_("Grid"), list(grids), key=grid_key, **kw(grid_key))
    order = c_o.checkbox(
        _("act order"),
        key=order_key,
        help=_("Round the columns with the largest inputs (diagonal of H) first; the group scales stay fixed per group."),
        **kw(order_key),
    )
    return layer, grid, bool(order)


def _gptq(cu: GPTQCloseup, *, source: str, key_prefix: str, labels: Mapping[str, str]) -> None:
    tr = cu.result.trace
    rows_w, cols_w = tr.w0.shape
    st.subheader(_("GPTQ, column by column"))
    st.markdown(
        _(
            "{name} is a {rows} × {cols} matrix; its inputs are {n} tokens of {source} through the float model. GPTQ needs only their Hessian H, and rounds the columns in order, each one's error pushed onto the columns still to come through U, the upper Cholesky factor of H⁻¹:"
        ).format(name=cu.name, rows=rows_w, cols=cols_w, n=f"{cu.n_tokens:,}", source=source)
    )
    st.latex(r"H = \tfrac{2}{n} X^\top X + \lambda I,\quad n = %d,\ \lambda = 0.01\cdot\overline{\operatorname{diag} H} = %.3g" % (cu.n_tokens, tr.damp))
    step = st.slider(_("Columns quantized"), 1, cols_w, max(1, cols_w // 8), key=f"{key_prefix}_closeup_step_{cols_w}")
    col = int(tr.perm[step - 1])
    row = int(abs(tr.err[:, col]).argmax())
    ws = gptq_step(tr, step, row)
    st.markdown(
        _(
            "Step {k}: column {j}. On row {r} (its largest error in this column) the column holds {w} after the updates of the steps before (it started at {w0}); the grid value is {q}:"
        ).format(k=step, j=col, r=row, w=f"{ws.w:.5g}", w0=f"{ws.w0:.5g}", q=f"{ws.q:.5g}")
    )
    st.latex(r"e = \frac{w_{%d} - q_{%d}}{U_{%d,%d}} = \frac{%.5g - (%.5g)}{%.5g} = %.5g" % (col, col, step - 1, step - 1, ws.w, ws.q, ws.u, ws.e))
    if ws.next_col is not None:
        st.latex(
            r"w_{%d} \leftarrow w_{%d} - e\,U_{%d,%d} = %.5g - (%.5g)(%.5g) = %.5g"
            % (ws.next_col, ws.next_col, step - 1, step, ws.next_before, ws.e, ws.u_next, ws.next_after)
        )
        st.caption(_("The same update, −e · U_jk, goes to every column k not yet rounded; the next one in GPTQ's order is column {k}.").format(k=ws.next_col))
    cv = cu.curve
    st.plotly_chart(pfigs.gptq_curve_figure(cv.steps, cv.gptq, cv.rtn, step, labels), key=f"{key_prefix}_gptq_curve", config=PLOTLY_CONFIG)
    st.caption(
        _(
            "The layer's relative output error ‖X(W − W_k)ᵀ‖ / ‖XWᵀ‖ after k columns. RTN's error only grows as columns are rounded; GPTQ's stays lower because the columns not yet rounded move to make up for the ones that are. At the end: GPTQ {g}, RTN {r} ({x}× lower)."
        ).format(g=f"{cu.gptq_error:.4f}", r=f"{cu.rtn_error:.4f}", x=f"{cu.rtn_error / max(cu.gptq_error, 1e-12):.2f}")
    )
    n_rows = min(MATRIX_ROWS, rows_w)
    change = (tr.state(step) - tr.w0)[:n_rows][:, tr.perm]
    st.plotly_chart(pfigs.gptq_matrix_figure(change, step, labels), key=f"{key_prefix}_gptq_matrix", config=PLOTLY_CONFIG)
    st.caption(
        _(
            "The first {n} rows of W after {k} steps minus the original W, columns in GPTQ's order: left of the line the rounding of the quantized columns, right of it the corrections GPTQ has already pushed onto the columns still to come."
        ).format(n=n_rows, k=step)
    )


def _awq(acu: AWQCloseup, *, note: str, key_prefix: str, labels: Mapping[str, str]) -> None:
    ac = acu.curve
    j = int(acu.search.x_mean.argmax())
    who = (
        _("{members} share this input, so AWQ searches one α for all of them.").format(members=", ".join(acu.members))
        if len(acu.members) > 1
        else _("{name} is the only Linear that reads this input, so AWQ searches α for it alone.").format(name=acu.members[0])
    )
    st.markdown(
        who
        + " "
        + _(
            "Each input channel j gets a scale from its mean |x| over the calibration tokens; the weights' column j is multiplied by s_j and the input divided by it, which the float model does not notice, and the rounding error of the salient columns shrinks relative to their weight:"
        )
    )
    st.latex(
        r"s_j = \frac{\overline{|x_j|}^{\,\alpha}}{\sqrt{\max_i s_i \cdot \min_i s_i}},\quad \alpha = %.2f:\ s_{%d} = %.4g\ \ (\overline{|x_{%d}|} = %.4g,\ \text{the largest})"
        % (ac.alpha, j, float(acu.search.scales[j]), j, float(acu.search.x_mean[j]))
    )
    if note:
        st.caption(note)
    c_a, c_s = st.columns(2)
    c_a.plotly_chart(pfigs.awq_alpha_figure(ac.alphas, ac.relative, ac.alpha, labels), key=f"{key_prefix}_awq_alpha", config=PLOTLY_CONFIG)
    c_s.plotly_chart(pfigs.awq_scales_figure(acu.search.x_mean, acu.search.scales, labels), key=f"{key_prefix}_awq_scales", config=PLOTLY_CONFIG)
    st.caption(
        _(
            "Left: the group's output error for each α of the grid; α = 0 is RTN ({r}), the ring is the chosen α = {a} ({b}, {x}× lower). Right: the scales it gives, a straight line of slope α on log axes; the channels on the right are the ones AWQ protects."
        ).format(r=f"{ac.rtn:.4f}", a=f"{ac.alpha:.2f}", b=f"{ac.best:.4f}", x=f"{ac.rtn / max(ac.best, 1e-12):.2f}")
    )


def render_closeup(
    *,
    gptq: GPTQCloseup,
    awq: AWQCloseup | None,
    source: str,
    key_prefix: str,
    labels: Mapping[str, str],
    awq_missing: str = "",
    awq_note: str = "",
) -> None:
    """Draw one Linear up close: GPTQ's stepper (``gptq``) and AWQ's search (``awq``; None: the
    Linear is in no AWQ group, ``awq_missing`` says why).  ``source``: where the inputs came
    from, translated ("8 calibration windows"); ``key_prefix``: the page's widget and chart key
    prefix (``"llm"`` -> ``llm_closeup_step_576``, ``llm_gptq_curve``); ``labels``:
    :data:`figures.ptq.LABELS` translated; ``awq_note``: where the group's ``1 / s`` goes."""
    _gptq(gptq, source=source, key_prefix=key_prefix, labels=labels)
    st.subheader(_("AWQ: scales from the activations"))
    if awq is None:
        st.info(awq_missing, icon=":material/info:")
    else:
        _awq(awq, note=awq_note, key_prefix=key_prefix, labels=labels)
    st.caption(
        _(
            "Both methods here see the float model's inputs to this one Linear; in the whole-model run GPTQ calibrates each Linear on the inputs of the Linears already quantized."
        )
    )
