"""GPTQ and AWQ on the language model: calibration tokens, the AWQ groups of a llama block, and
the quantized model (:func:`quantize_model` calls these for ``LlmRecipe(method=...)``).

* Calibration: :func:`calibration_ids` cuts Python's documentation (:mod:`quantlib.ptq.corpus`)
  into ``n`` windows of ``length`` tokens (the reference takes random windows of C4; here they
  are consecutive, so the set is the same on every run).
* GPTQ: one pass of the calibration windows through the model, every Linear quantized when the
  pass reaches it (:class:`~quantlib.ptq.layerwise.GPTQHook`).
* AWQ groups of a block (as AutoAWQ's llama): q/k/v after ``attn_norm`` (``1 / s`` folded into
  the norm's weight), gate/up after ``ffn_norm``, down after up (into up's rows); the output
  projection after v only when their shapes agree (not with grouped-query attention: SmolLM2's
  v gives 192 values, o takes 576), so it is RTN.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..ptq.corpus import prose_paragraphs
from ..ptq.gptq import rtn
from ..ptq.layerwise import AWQGroup, AWQHook, GPTQHook, LayerError
from ..ptq.report import PTQReport
from ..schemes import quantize
from .forward import forward
from .model import Llama

__all__ = ["METHODS", "AWQFold", "PTQReport", "awq_fold", "awq_groups", "calibration_ids", "run_awq", "run_gptq"]

METHODS = ("rtn", "gptq", "awq")
"""Round to nearest (each scheme's own rule), GPTQ, AWQ."""


def calibration_ids(tokenizer, n: int = 64, length: int = 128) -> np.ndarray:
    """``n`` consecutive windows of ``length`` tokens (n, length) of the calibration prose."""
    need = n * length
    ids: list[np.ndarray] = []
    total = 0
    for para in prose_paragraphs():
        t = tokenizer.encode(para + "\n\n")
        ids.append(t)
        total += t.size
        if total >= need:
            break
    flat = np.concatenate(ids)
    if flat.size < need:
        raise ValueError(f"the calibration text has {flat.size} tokens; {n} x {length} asked")
    return flat[:need].reshape(n, length).astype(np.int64)


def awq_groups(model: Llama, blocks=None) -> list[AWQGroup]:
    """The :class:`~quantlib.ptq.layerwise.AWQGroup` of every block (or of ``blocks``)."""
    out = []
    for i, b in enumerate(model.blocks):
        if blocks is not None and i not in blocks:
            continue
        p = f"blk.{i}"
        out.append(AWQGroup((b.attn_q.name, b.attn_k.name, b.attn_v.name), f"{p}.attn_norm", clip=(b.attn_v.name,)))
        if b.attn_v.weight.shape[0] == b.attn_output.weight.shape[1]:
            out.append(AWQGroup((b.attn_output.name,), b.attn_v.name, clip=(b.attn_output.name,)))
        out.append(AWQGroup((b.ffn_gate.name, b.ffn_up.name), f"{p}.ffn_norm", clip=(b.ffn_gate.name, b.ffn_up.name)))
        out.append(AWQGroup((b.ffn_down.name,), b.ffn_up.name, clip=(b.ffn_down.name,)))
    return out


def _schemes(todo) -> dict:
    return {name: scheme for name, _, scheme in todo}


def run_gptq(model: Llama, todo, ids: np.ndarray, *, act_order: bool = False, trace: str | None = None, progress: Callable | None = None):
    """GPTQ of the Linears in ``todo`` ((name, weight, scheme) triples) on calibration ``ids``
    (n, length): ``(weights name -> float32, quantized name -> QuantizedTensor, report)``."""
    t0 = time.perf_counter()
    hook = GPTQHook(_schemes(todo), act_order=act_order, trace=trace, progress=progress)
    forward(model, ids, hook=hook, head=False)
    weights = {n: r.weight for n, r in hook.results.items()}
    qts = {n: r.quantized for n, r in hook.results.items()}
    tr = hook.results[trace].trace if trace in hook.results else None
    rep = PTQReport("gptq", dict(hook.errors), int(ids.size), time.perf_counter() - t0, trace=tr, trace_h=hook.hessians.get(trace))
    return weights, qts, rep


@dataclass(frozen=True, eq=False)
class AWQFold:
    """AWQ's scales found and folded, before any rounding: ``weights`` (the scaled Linears,
    clipped if asked, and the norms divided by s; the float model with them computes what the
    original does, to float32 rounding), ``row_div`` (a Linear whose rows carry the next
    group's ``1 / s'``: up), the search ``hook`` and its ``groups``."""

    weights: dict
    row_div: dict
    hook: AWQHook
    groups: tuple


def awq_fold(model: Llama, todo, ids: np.ndarray, *, clip: bool = False, progress: Callable | None = None) -> AWQFold:
    """The search in one float pass over ``ids``, then every group's ``s`` folded: its Linears'
    columns times s, the previous op (a norm's weight, or up's rows) divided by s."""
    schemes = _schemes(todo)
    lins = {lin.name: lin for lin in model.linears()}
    blocks = {int(n.split(".")[1]) for n in schemes}
    groups = [g for g in awq_groups(model, blocks) if all(m in schemes for m in g.members)]
    hook = AWQHook(groups, schemes, {n: lins[n].weight for n in schemes}, clip=clip, progress=progress)
    forward(model, ids, hook=hook, head=False)
    scaled = {n: lins[n].weight.astype(np.float32) for n in schemes}
    norms: dict[str, np.ndarray] = {}
    block_of = {b.attn_q.name.rsplit(".", 1)[0]: b for b in model.blocks}
    for g in groups:
        f = hook.found[g.members[0]]
        s = f.search.scales
        for m in g.members:
            scaled[m] = f.clipped[m] if m in f.clipped else scaled[m] * s
    row_div: dict[str, np.ndarray] = {}
    for g in groups:  # 1 / s into the previous op: after every column scale (up has both)
        s = hook.found[g.members[0]].search.scales
        if g.prev in scaled:
            scaled[g.prev] = scaled[g.prev] / s[:, None]
            row_div[g.prev] = s
        elif g.prev is not None:
            blk, kind = g.prev.rsplit(".", 1)
            base = norms.get(g.prev, getattr(block_of[blk], kind))
            norms[g.prev] = (base / s).astype(np.float32)
    return AWQFold({**scaled, **norms}, row_div, hook, tuple(groups))


def run_awq(model: Llama, todo, ids: np.ndarray, *, clip: bool = False, progress: Callable | None = None):
    """AWQ of the Linears in ``todo``: :func:`awq_fold`, then every Linear rounded (RTN);
    Linears in no group (the output projection) are RTN.  Returns ``(weights incl. changed
    norms, quantized, report)``."""
    t0 = time.perf_counter()
    schemes = _schemes(todo)
    lins = {lin.name: lin for lin in model.linears()}
    fold = awq_fold(model, todo, ids, clip=clip, progress=progress)
    hook, groups = fold.hook, fold.groups
    weights, qts, errors = {}, {}, {}
    in_group = {m for g in groups for m in g.members}
    for name, _w, scheme in todo:
        q = quantize(fold.weights[name], scheme)
        weights[name] = q.dequantize().astype(np.float32, copy=False)
        qts[name] = q
    for g in groups:  # each Linear's error on its group's search tokens, AWQ and RTN
        f = hook.found[g.members[0]]
        x = hook.inputs[g.members[0]]
        s = f.search.scales
        for m in g.members:
            errors[m] = _awq_error(m, lins[m].weight, weights[m], x, s, fold.row_div.get(m), schemes[m])
    weights.update({k: v for k, v in fold.weights.items() if k not in schemes})  # the norms
    rep = PTQReport(
        "awq",
        errors,
        int(ids.size),
        time.perf_counter() - t0,
        searches={k: v.search for k, v in hook.found.items()},
        groups=tuple(groups),
        rtn_linears=tuple(n for n in schemes if n not in in_group),
    )
    return weights, qts, rep


def _awq_error(name, w0, wq, x, s, row_div, scheme) -> LayerError:
    """One Linear's relative output error on its group's search tokens x: the model computes
    ``(x / s) Q^T``, and for a Linear whose rows carry the next group's ``1 / s'`` (up) that
    output times ``s'`` is what reaches the next op; RTN rounds the original weight."""
    ref = x @ w0.T
    y = (x / s) @ wq.T
    if row_div is not None:
        y *= row_div
    rt = x @ rtn(w0, scheme).T
    den = float(np.linalg.norm(ref.astype(np.float64))) or 1.0
    return LayerError(name, float(np.linalg.norm((y - ref).astype(np.float64))) / den, float(np.linalg.norm((rt - ref).astype(np.float64))) / den)
