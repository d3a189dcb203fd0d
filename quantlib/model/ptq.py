"""GPTQ and AWQ on MiniLM: the calibration batch, the AWQ groups of a BERT layer, and the
quantized model as a plan of the recipes' Linear hook (numpy only).

* Calibration (:func:`calibration_batch`): the 32 :data:`~quantlib.model.evalset.CALIBRATION_TEXTS`
  (the representative dataset of the TFLite recipes), then sentences of Python's documentation
  (:func:`quantlib.ptq.corpus.calibration_sentences`) up to ``n`` texts (default 128),
  tokenized as the model does (the evaluation set is not among them).
* GPTQ (:func:`run_gptq`): one pass of the calibration batch through MiniLM's forward, every
  Linear quantized when the pass reaches it (:class:`~quantlib.ptq.layerwise.GPTQHook`); q, k
  and v share their input, so they share one H.
* AWQ (:func:`run_awq`): one float pass, the scales of each group searched on its input
  (:class:`~quantlib.ptq.layerwise.AWQHook`), then every Linear rounded (RTN) with the scales in.

Where AWQ's ``1 / s`` goes in a BERT layer (post-LayerNorm), and why (:func:`awq_groups`):

* **q, k, v** (one group, one s): their input is the previous LayerNorm's output, which *also*
  feeds the residual (``a = attn_out(ctx) + h``).  Folding ``1 / s`` into that LayerNorm's
  gamma and beta (what AutoAWQ does with llama's RMSNorm, which feeds only the Linears) would
  divide the residual too, so it is not exact here.  Instead the input is divided by s on the
  fly: a runtime per-input-channel scale (AutoAWQ's ``ScaledActivation``), ``prev=None``.
* **attn_out**: its input is the attention context ``softmax(Q K^T) V``; channel j of the
  context is a mix of channel j of V only (the softmax weights act on tokens), so dividing v's
  row j *and its bias* j by ``s_j`` divides context channel j by ``s_j`` exactly.  Folded into
  v (``prev="layerN.v"``), nothing is added at run time.  (v's rows are divided after its own
  columns were scaled by the q/k/v group's s, then v is rounded.)
* **ffn_up**: its input is the post-attention LayerNorm's output, which also feeds the residual
  of the FFN: a runtime scale, as for q/k/v.
* **ffn_down**: its input is ``GELU(up)``; GELU is not scale-equivariant (``GELU(x / s) !=
  GELU(x) / s``), so ``1 / s`` cannot go into up's rows: a runtime scale too.

A runtime scale is counted in the model size as **float32**, 4 bytes per input channel per
group (:data:`RUNTIME_SCALE_BYTES`): the other float parameters (biases, LayerNorms) are
float32 in every recipe of this page, and float16 would round s (the float model would no
longer be exactly unchanged).  For the whole model it is 6 x (384 + 384 + 1536) x 4 = 55,296
bytes, 0.2 % of the int4 model.

The quantized Linears are ordinary :class:`~quantlib.schemes.QuantizedTensor` objects of the
chosen scheme (the same codes, scales and bits as RTN's, with other codes); :class:`PTQModel`
turns them into a plan for :class:`~quantlib.model.forward.QuantHook`, and :func:`run_method`
into the page's :class:`~quantlib.model.recipes.RecipeResult` (embeddings, metrics, size).

Worked number (AWQ's runtime scale): input channels with mean |x| = [4, 1], alpha = 0.5 ->
s = [1.414, 0.707]; the Linear computes ``(x / s) (Q(W s))^T``: x = [4, 1] enters as
[2.83, 1.41], and W's first column is rounded at 1.414x its size.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from ..ptq.corpus import calibration_sentences
from ..ptq.grid import gptq_grid_problem
from ..ptq.gptq import rtn
from ..ptq.layerwise import AWQGroup, AWQHook, GPTQHook, LayerError
from ..ptq.report import PTQReport
from ..schemes import QuantizedTensor, quantize
from .evalset import CALIBRATION_TEXTS
from .forward import LinearQuant, forward
from .minilm import Batch, Linear, MiniLM, tokenize
from .recipes import RECIPES, Recipe, RecipeResult, custom_recipe, run_recipe

__all__ = [
    "DEFAULT_N",
    "METHODS",
    "RUNTIME_SCALE_BYTES",
    "PTQKernel",
    "PTQModel",
    "awq_groups",
    "calibration_batch",
    "calibration_texts",
    "method_problem",
    "method_recipe",
    "run_awq",
    "run_gptq",
    "run_method",
]

METHODS = ("rtn", "gptq", "awq")
"""Round to nearest (each scheme's own rule), GPTQ, AWQ."""
DEFAULT_N = 128
RUNTIME_SCALE_BYTES = 4
"""Bytes per input channel of an AWQ runtime scale (float32; see the module docstring)."""


# ----------------------------------------------------------------------------- calibration
def calibration_texts(n: int = DEFAULT_N) -> tuple[str, ...]:
    """The first ``n`` calibration texts: :data:`CALIBRATION_TEXTS` (32), then sentences of
    Python's documentation."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    base = tuple(CALIBRATION_TEXTS[:n])
    return base + (calibration_sentences(n - len(base)) if n > len(base) else ())


def calibration_batch(n: int = DEFAULT_N) -> Batch:
    """:func:`calibration_texts` tokenized as the model does (truncated to 256 tokens)."""
    return tokenize(calibration_texts(n))


# ----------------------------------------------------------------------------- the plan
@dataclass(frozen=True, eq=False)
class PTQKernel:
    """A ``LinearQuant.kernel``: ``y = (x / in_scale) @ weight.T + bias`` (``in_scale`` None: no
    division), with the weight and bias GPTQ / AWQ produced (the dequantized codes)."""

    weight: np.ndarray
    bias: np.ndarray | None
    in_scale: np.ndarray | None = None

    def __call__(self, lin: Linear, x: np.ndarray) -> np.ndarray:
        if self.in_scale is not None:
            x = x / self.in_scale
        y = x @ self.weight.T
        if self.bias is not None:
            y += self.bias
        return y


@dataclass(frozen=True, eq=False)
class PTQModel:
    """MiniLM's Linears after GPTQ or AWQ.  ``quantized``: name -> the scheme's
    :class:`QuantizedTensor`; ``weights``: name -> its dequantized float32 weight; ``float_weights``
    (AWQ): the scaled weights before rounding, and also the float Linears AWQ changed (v kept in
    float32 carrying attn_out's ``1 / s``); ``biases``: the biases AWQ changed (v's);
    ``in_scales``: name -> the runtime scale its input is divided by; ``runtime_scales``: the
    distinct runtime scale vectors (one per AWQ group, q/k/v share one)."""

    method: str
    quantized: dict
    weights: dict
    report: PTQReport
    float_weights: dict = field(default_factory=dict)
    biases: dict = field(default_factory=dict)
    in_scales: dict = field(default_factory=dict)
    runtime_scales: tuple = ()

    @property
    def runtime_scale_bytes(self) -> int:
        """Storage of the runtime scales (float32 per input channel per group)."""
        return RUNTIME_SCALE_BYTES * sum(int(s.size) for s in self.runtime_scales)

    def plan(self, model: MiniLM, *, rounded: bool = True) -> dict[str, LinearQuant]:
        """Linear name -> :class:`LinearQuant` with a :class:`PTQKernel`.  ``rounded=False``:
        the scaled float weights instead of the quantized ones (AWQ's float model, which must
        compute what the original computes)."""
        names = set(self.weights) | set(self.float_weights) | set(self.biases)
        out = {}
        for name in names:
            lin = model.linears[name]
            if rounded and name in self.weights:
                w = self.weights[name]
            else:
                w = self.float_weights.get(name, lin.weight)
            out[name] = LinearQuant(kernel=PTQKernel(w, self.biases.get(name, lin.bias), self.in_scales.get(name)))
        return out


def _schemes(model: MiniLM, schemes) -> dict:
    """name -> scheme from a scheme (every Linear), a mapping, or (name, weight, scheme) triples."""
    if isinstance(schemes, str) or hasattr(schemes, "quantize"):
        return {n: schemes for n in model.linears}
    if isinstance(schemes, Mapping):
        return {n: s for n, s in schemes.items() if s is not None}
    return {name: scheme for name, _, scheme in schemes}


# ----------------------------------------------------------------------------- GPTQ
def run_gptq(model: MiniLM, schemes, batch: Batch, *, act_order: bool = False, trace: str | None = None, progress: Callable | None = None) -> PTQModel:
    """GPTQ of the Linears in ``schemes`` (one scheme for all 36, a mapping name -> scheme, or
    (name, weight, scheme) triples) on the calibration ``batch``; ``trace``: a Linear whose
    steps are kept in the report; ``progress(done, total)`` after each Linear."""
    sch = _schemes(model, schemes)
    t0 = time.perf_counter()
    hook = GPTQHook(sch, act_order=act_order, trace=trace, progress=progress)
    forward(model, batch, hook)
    tr = hook.results[trace].trace if trace in hook.results else None
    rep = PTQReport("gptq", dict(hook.errors), batch.n_tokens, time.perf_counter() - t0, trace=tr, trace_h=hook.hessians.get(trace))
    return PTQModel(
        "gptq",
        quantized={n: r.quantized for n, r in hook.results.items()},
        weights={n: r.weight for n, r in hook.results.items()},
        report=rep,
    )


# ----------------------------------------------------------------------------- AWQ
def awq_groups(model: MiniLM, names=None) -> list[AWQGroup]:
    """The :class:`~quantlib.ptq.layerwise.AWQGroup` of every layer (see the module docstring
    for each choice of ``prev``); ``names``: keep only these Linears (a group with none left is
    dropped).  Clip search on every member but q and k (as the reference)."""
    out = []
    for i, L in enumerate(model.layers):
        p = f"layer{i}"
        for members, prev in (
            ((L.q.name, L.k.name, L.v.name), None),  # input = LN output, also the residual
            ((L.attn_out.name,), L.v.name),  # input = softmax . V: into v's rows and bias
            ((L.ffn_up.name,), None),  # input = post-attention LN output, also the residual
            ((L.ffn_down.name,), None),  # input = GELU(up): not scale-equivariant
        ):
            mine = tuple(m for m in members if names is None or m in names)
            if mine:
                out.append(AWQGroup(mine, prev, clip=tuple(m for m in mine if m not in (f"{p}.q", f"{p}.k"))))
    return out


def run_awq(model: MiniLM, schemes, batch: Batch, *, clip: bool = False, progress: Callable | None = None) -> PTQModel:
    """AWQ of the Linears in ``schemes`` (as :func:`run_gptq`) on the calibration ``batch``:
    the search in one float pass, then the scales applied (v's rows and bias, runtime input
    scales) and every Linear rounded with its scheme (RTN).  ``clip``: AWQ's clip search."""
    sch = _schemes(model, schemes)
    t0 = time.perf_counter()
    lins = model.linears
    groups = awq_groups(model, sch)
    hook = AWQHook(groups, sch, {n: lins[n].weight for n in sch}, clip=clip, progress=progress)
    forward(model, batch, hook)
    scaled = {n: lins[n].weight.astype(np.float32) for n in sch}
    in_scales: dict[str, np.ndarray] = {}
    runtime: list[np.ndarray] = []
    for g in groups:
        f = hook.found[g.members[0]]
        s = f.search.scales
        for m in g.members:
            scaled[m] = f.clipped[m] if m in f.clipped else scaled[m] * s
            if g.prev is None:
                in_scales[m] = s
        if g.prev is None:
            runtime.append(s)
    biases: dict[str, np.ndarray] = {}
    row_div: dict[str, np.ndarray] = {}
    for g in groups:  # 1 / s into v's rows and bias, after v's own column scale
        if g.prev is None:
            continue
        s = hook.found[g.members[0]].search.scales
        base = scaled.get(g.prev, lins[g.prev].weight)
        scaled[g.prev] = (base / s[:, None]).astype(np.float32)
        biases[g.prev] = (lins[g.prev].bias / s).astype(np.float32)
        row_div[g.prev] = s
    qts: dict[str, QuantizedTensor] = {}
    weights: dict[str, np.ndarray] = {}
    for name, scheme in sch.items():
        q = quantize(scaled[name], scheme)
        qts[name] = q
        weights[name] = q.dequantize().astype(np.float32, copy=False)
    errors = {}
    for g in groups:  # each Linear's error on its group's search tokens, AWQ and RTN
        x = hook.inputs[g.members[0]]
        s = hook.found[g.members[0]].search.scales
        for m in g.members:
            errors[m] = _awq_error(m, lins[m].weight, weights[m], x, s, row_div.get(m), sch[m])
    rep = PTQReport(
        "awq",
        errors,
        batch.n_tokens,
        time.perf_counter() - t0,
        searches={k: v.search for k, v in hook.found.items()},
        groups=tuple(groups),
    )
    return PTQModel("awq", qts, weights, rep, float_weights=scaled, biases=biases, in_scales=in_scales, runtime_scales=tuple(runtime))


def _awq_error(name: str, w0, wq, x, s, row_div, scheme) -> LayerError:
    """Relative output error (bias left out) on the group's search tokens x: the model computes
    ``(x / s) Q^T``, times ``s'`` for v, whose rows carry attn_out's ``1 / s'``; RTN rounds the
    original weight."""
    ref = x @ w0.T
    y = (x / s) @ wq.T
    if row_div is not None:
        y *= row_div
    rt = x @ rtn(w0, scheme).T
    den = float(np.linalg.norm(ref.astype(np.float64))) or 1.0
    return LayerError(name, float(np.linalg.norm((y - ref).astype(np.float64))) / den, float(np.linalg.norm((rt - ref).astype(np.float64))) / den)


# ----------------------------------------------------------------------------- recipes
def _recipe(recipe: Recipe | str) -> Recipe:
    if isinstance(recipe, Recipe):
        return recipe
    return RECIPES[recipe] if recipe in RECIPES else custom_recipe(recipe)


def method_problem(recipe: Recipe | str, method: str, model: MiniLM | None = None) -> tuple[str, str] | None:
    """Why ``method`` does not apply to ``recipe``, as ``(reason, detail)``, or None when it
    does.  Reasons: ``"float"`` (nothing is quantized), ``"tflite"`` (TFLite's own int8
    rounding), ``"activations"`` (GPTQ and AWQ here are weight-only), ``"grid"`` (GPTQ cannot
    fix this grid's scales per group of columns; ``detail``: :func:`gptq_grid_problem`)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose {', '.join(METHODS)}")
    if method == "rtn":
        return None
    r = _recipe(recipe)
    if r.kind != "schemes":
        return ("tflite", r.kind)
    if r.weight is None:
        return ("float", "")
    if r.act is not None:
        return ("activations", r.act)
    if method == "gptq":
        shapes = {lin.shape for lin in model.linears.values()} if model is not None else {None}
        for shape in sorted(shapes, key=str):
            problem = gptq_grid_problem(r.weight, shape)
            if problem:
                return ("grid", problem)
    return None


def method_recipe(recipe: Recipe | str, method: str, n: int = DEFAULT_N, *, act_order: bool = False, clip: bool = False) -> Recipe:
    """``recipe`` renamed for ``method`` (its key and title name the method and calibration)."""
    r = _recipe(recipe)
    if method == "rtn":
        return r
    opt = ",act_order" if act_order and method == "gptq" else ",clip" if clip and method == "awq" else ""
    words = ", act order" if opt == ",act_order" else ", clip" if opt else ""
    return replace(r, key=f"{r.key}|{method}:n={n}{opt}", title=f"{r.title}, {method.upper()} ({n} calibration texts{words})")


def run_method(
    model: MiniLM,
    recipe: Recipe | str,
    method: str,
    batch: Batch,
    ref: np.ndarray,
    *,
    n_calib: int = DEFAULT_N,
    act_order: bool = False,
    clip: bool = False,
    calib_batch: Batch | None = None,
    progress: Callable | None = None,
) -> tuple[RecipeResult, PTQReport | None]:
    """``recipe`` (a weight-only quantlib recipe, its key, or a weight scheme string) with its
    weights rounded by ``method`` on ``n_calib`` calibration texts (``calib_batch`` to pass a
    tokenized one), embedded on ``batch`` and compared with ``ref``: the recipes'
    :class:`RecipeResult` (its size includes AWQ's runtime scales) and the method's report
    (None for RTN).  The Linears the recipe keeps in float32 stay float32."""
    r = _recipe(recipe)
    problem = method_problem(r, method, model)
    if problem is not None:
        raise ValueError(f"{method.upper()} does not apply to {r.title}: {problem[0]} {problem[1]}".strip())
    if method == "rtn":
        return run_recipe(model, r, batch, ref), None
    from .recipes import build_plan

    schemes = {name: spec.weight for name, spec in build_plan(model, r).items()}
    cb = calib_batch if calib_batch is not None else calibration_batch(n_calib)
    if method == "gptq":
        pm = run_gptq(model, schemes, cb, act_order=act_order, progress=progress)
    else:
        pm = run_awq(model, schemes, cb, clip=clip, progress=progress)
    plan = pm.plan(model)
    res = run_recipe(model, method_recipe(r, method, len(cb), act_order=act_order, clip=clip), batch, ref, plan_hook=lambda p: {**p, **plan})
    extra = pm.runtime_scale_bytes
    if extra:
        size = replace(res.size, linear=res.size.linear + extra)
        res = replace(res, size=size, metrics=replace(res.metrics, size_bytes=size.total))
    return res, pm.report
