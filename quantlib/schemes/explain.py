"""One block of a quantized tensor explained: the scheme's own intermediate numbers
(:func:`block_explain`), recomputed with the scheme's formula and tested to give back exactly
the scheme's codes and dequantized values.

The vocabulary is the notes' (and bitsandbytes'): a block is multiplied by its quantization
constant ``c``, rounded to a code ``q`` and read back as ``q / c``; the step between two
integer levels is ``Δ = 1 / c``.  Worked number: int8 with absmax 2.54 -> c = 127 / 2.54 = 50,
x = 1.0 -> x·c = 50 -> q = 50 -> deq = 1.0.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .. import _kernels as K
from ..codec import all_values, decode, encode
from ._base import QuantizedTensor, _value_table
from .codebook import _TINY_ABSMAX

__all__ = ["BlockExplain", "block_explain", "EXPLAINED_FAMILIES"]

EXPLAINED_FAMILIES: tuple[str, ...] = ("int", "uint", "nf4", "bnb_fp4", "codebook", "mx", "nvfp4", "float", "log", "binary", "ternary")
"""Scheme families :func:`block_explain` knows the formula of (every family but ggml's)."""


@dataclass(frozen=True, kw_only=True)
class BlockExplain:
    """What one group's formula computes, element by element.

    ``x``: the shown elements (float64, exact); ``scaled``: ``x·c`` as the scheme forms it
    before rounding (float64; for ``uint`` the exact ``x / scale``, for NVFP4 ``x / (s_b s_t)``);
    ``codes``: the stored codes (int64: the integer q, a codebook index, a float format's bit
    pattern); ``values``: what each code stands for before the scale (q, q - z, the level, the
    element value); ``deq``: the dequantized values in the tensor's dtype, equal bit for bit to
    ``q.dequantize()``.  ``numbers``: the scheme's named intermediates (``absmax``, ``c``,
    ``scale``, ``z``, ``e`` ...; see :func:`block_explain`).  ``worst``: the index (into the
    shown elements) of the largest ``|deq - x|``, the first one on a tie.
    """

    family: str
    scheme: str
    group: int
    size: int
    start: int
    x: np.ndarray
    scaled: np.ndarray
    codes: np.ndarray
    values: np.ndarray
    deq: np.ndarray
    numbers: dict = field(default_factory=dict)
    worst: int = 0

    @property
    def error(self) -> np.ndarray:
        """``deq - x`` (float64)."""
        return self.deq.astype(np.float64) - self.x


def block_explain(q: QuantizedTensor, x, group: int, *, limit: int | None = None) -> BlockExplain:
    """Group ``group`` of ``q = quantize(x, scheme)`` through the scheme's formula.

    ``x`` is the tensor that was quantized; ``limit`` keeps the group's first elements only (the
    group's scale still comes from all of them).  ``numbers`` holds, by family:

    * ``int``: absmax, qmax = 2^(k-1) - 1, c = fl(qmax / absmax), clamp (calibrated ranges).
    * ``uint``: lo, hi (the range extended to 0), qmax = 2^k - 1, scale, c = 1 / scale, z.
    * ``nf4`` / ``bnb_fp4`` / ``codebook``: absmax, c = fl(1 / absmax), scale (the absmax
      decoded, which double quantization changes), the bits per parameter with and without
      double quantization (bits, bits_no_dq, bits_dq) and, with it, dq_code, dq_offset.
    * ``mx``: absmax, floor_log2 = ⌊log2 absmax⌋, emax (the element's), e, scale = 2^e, c, scale_code.
    * ``nvfp4``: tensor_amax, fmax_elem, fmax_scale, s_t, absmax, s_b_exact = absmax / (fmax_elem s_t)
      (clamped), s_b, s_b_code, scale = s_b s_t, c.
    * ``float``: scaled casts: absmax, fmax, scale = fl(absmax / fmax), c; every cast: the
      worst element's neighbours ``below`` / ``above`` (formats of up to 16 bits).
    * ``log``: absmax, e_top, e_low; ``binary``: alpha; ``ternary``: mean_abs, delta, alpha.

    Worked number: ``q = quantize(np.float32([2.54, 1, -0.5]), "int8")`` -> c = 50.0, codes
    [127, 50, -25], deq [2.54, 1.0, -0.5].  A ggml type raises ValueError (its bytes have their
    own sub-block formulas).
    """
    s = q.scheme
    fam = s.family
    if fam not in EXPLAINED_FAMILIES:
        raise ValueError(f"no block formula for the {fam} family ({s}); explained: {', '.join(EXPLAINED_FAMILIES)}")
    arr = K.as_work_array(x)
    if arr.shape != q.shape:
        raise ValueError(f"x has shape {arr.shape}, the quantized tensor {q.shape}")
    lay = q.layout
    g = lay._check_group(group)
    xs = np.asarray(lay.group_elements(arr, g, limit))
    stored = np.asarray(lay.group_elements(q.codes, g, limit)).astype(np.int64)
    gv = q.group(g)
    n: dict = {}
    if fam == "int":
        scaled, codes, values, deq = _int(s, q, g, xs, n)
    elif fam == "uint":
        scaled, codes, values, deq = _uint(s, q, g, xs, arr, n)
    elif fam in ("nf4", "bnb_fp4", "codebook"):
        scaled, codes, values, deq = _codebook(s, q, g, xs, arr, n)
    elif fam == "mx":
        scaled, codes, values, deq = _mx(s, q, g, xs, n)
    elif fam == "nvfp4":
        scaled, codes, values, deq = _nvfp4(s, q, g, xs, arr, n)
    elif fam == "float":
        scaled, codes, values, deq = _float(s, q, g, xs, arr, n)
    elif fam == "log":
        scaled, codes, values, deq = _log(s, q, g, xs, n)
    else:
        scaled, codes, values, deq = _sign(s, q, g, xs, arr, n)
    deq = np.asarray(deq).astype(q.dtype, copy=False)
    if not np.array_equal(codes, stored):  # the formula is the scheme's: a mismatch is a bug here
        raise AssertionError(f"block_explain({s}) gave other codes than the scheme for group {g}")
    err = np.abs(deq.astype(np.float64) - xs.astype(np.float64))
    worst = int(np.argmax(np.where(np.isnan(err), np.inf, err))) if err.size else 0
    if fam == "float":
        _neighbours(s, xs, scaled, worst, n)
    where = gv.where
    return BlockExplain(
        family=fam,
        scheme=str(s),
        group=g,
        size=gv.size,
        start=int(where[2]) if where[0] == "block" else 0,
        x=xs.astype(np.float64),
        scaled=np.asarray(scaled, dtype=np.float64),
        codes=codes,
        values=np.asarray(values, dtype=np.float64),
        deq=deq,
        numbers=n,
        worst=worst,
    )


# ============================================================== one family each
def _scale_of(q: QuantizedTensor, g: int):
    return np.asarray(q.scales).reshape(-1)[g : g + 1]


def _int(s, q, g, xs, n):
    A = _scale_of(q, g).astype(q.dtype)
    c, wide = s._c(A)
    c64 = np.float64(s.qmax) / np.float64(A[0]) if wide[0] else np.float64(c[0])
    r = np.empty(xs.shape, np.float64 if wide[0] else xs.dtype)
    K.rint_exact_product(xs.astype(r.dtype), np.asarray(c64 if wide[0] else c[0], r.dtype), r, K.Scratch())
    clamp = s.calibration != "minmax"
    codes = np.clip(r, -s.qmax, s.qmax).astype(np.int64)
    deq = codes / c64 if wide[0] else (codes.astype(q.dtype) / c[0]).astype(q.dtype)
    n.update(absmax=float(A[0]), qmax=s.qmax, c=float(c64), bits=s.bits, clamp=clamp)
    return xs.astype(np.float64) * c64, codes, codes, np.asarray(deq).astype(q.dtype)


def _uint(s, q, g, xs, arr, n):
    wd = q.dtype
    scale = _scale_of(q, g).astype(wd)
    zp = int(np.asarray(q.zero_points).reshape(-1)[g])
    levels = 2**s.bits - 1
    r = np.empty(xs.shape, wd)
    K.rint_exact_quotient(xs.astype(wd), scale[:1], r, K.Scratch())
    codes = np.clip(r + wd.type(zp), 0, levels).astype(np.int64)
    deq = ((codes - zp).astype(wd) * scale[0]).astype(wd)
    sc = float(scale[0])
    lo = hi = None  # the block's min / max extended to 0 (a calibrated range is the tensor's, chosen by calibration)
    if s.calibration == "minmax":
        full = np.asarray(q.layout.group_elements(arr, g))
        lo, hi = float(min(full.min(), 0)), float(max(full.max(), 0))
    n.update(lo=lo, hi=hi, qmax=levels, scale=sc, c=1.0 / sc, z=zp, bits=s.bits, calibration=s.calibration)
    return xs.astype(np.float64) / np.float64(sc), codes, codes - zp, deq


def _codebook(s, q, g, xs, arr, n):
    wd = q.dtype
    cb = s.codebook
    lay = q.layout
    A = wd.type(np.max(np.abs(lay.group_elements(arr, g)))) if lay.group_size(g) else wd.type(0)
    Ac = max(A, wd.type(_TINY_ABSMAX))
    r = (wd.type(1) / Ac).astype(wd) if isinstance(Ac, np.generic) else wd.type(1 / Ac)
    tail = lay.kind == "block" and lay.pad and lay.group_size(g) < lay.group_len
    with np.errstate(all="ignore"):
        if tail:
            sv = (xs / Ac).astype(wd)
        elif 0 < A < Ac:
            sv = (xs / A).astype(wd)
        else:
            sv = (xs * r).astype(wd)
    codes = cb.nearest(sv).astype(np.int64)
    table = cb.array.astype(wd)
    scale = _scale_of(q, g).astype(wd)[0]
    deq = (table[codes] * scale).astype(wd)
    nodq = replace(s, double_quant=False)
    n.update(absmax=float(A), c=float(r), scale=float(scale), code_bits=s.code_bits, block=s.block_size, divided=bool(tail or 0 < A < Ac))
    n.update(bits=s.bits_per_element(), bits_no_dq=nodq.bits_per_element(), bits_dq=replace(s, double_quant=True).bits_per_element() if s.block_size else None)
    n["levels"] = cb.array.astype(np.float64)
    n.update(absmax_bits=32, dq_code_bits=8, dq_block=256)  # a float32 absmax; double quantization: an 8-bit code, a float32 per 256
    if q.double_quant is not None:
        dq = q.double_quant
        n.update(dq_code=int(np.asarray(dq.codes).reshape(-1)[g]), dq_offset=float(dq.offset), dq_block=dq.block_size)
    return sv, codes, table[codes], deq


def _mx(s, q, g, xs, n):
    wd = q.dtype
    A = float(np.max(np.abs(xs))) if xs.size == q.layout.group_size(g) else None
    X = float(_scale_of(q, g)[0])
    e = int(np.frexp(X)[1]) - 1
    if A is None:
        A = float("nan")
    inv = np.ldexp(wd.type(1), -e)
    sv = (xs.astype(wd) * inv).astype(wd)
    if s.is_int:
        codes = np.clip(np.rint(sv * 64), -127, 127).astype(np.int64)
        values = codes / 64
    else:
        codes = encode(sv, s.fmt, saturate=True).astype(np.int64)
        values = _value_table(s.fmt)[codes]
    deq = (values * X).astype(wd)
    fl = int(np.frexp(A)[1]) - 1 if A and np.isfinite(A) and A > 0 else None
    n.update(
        absmax=A,
        floor_log2=fl,
        emax=s.emax,
        e=e,
        scale=X,
        c=1.0 / X,
        scale_code=int(np.asarray(q.scale_codes).reshape(-1)[g]),
        rounding=s.scale_rounding,
        element=s.element,
        fmax_elem=float(s.max_element),
        block=s.block_size,
    )
    return sv, codes, values, deq


def _nvfp4(s, q, g, xs, arr, n):
    wd = q.dtype
    el, sf = s.fmt, s.scale_fmt
    A = float(np.max(np.abs(q.layout.group_elements(arr, g))))
    st = float(q.tensor_scale)
    sbq = float(np.clip(A / (el.max * st), sf.smallest_normal, sf.max))
    sc = int(encode(np.float64(sbq), sf, saturate=True))
    sb = float(decode(np.asarray(sc, dtype=sf.code_dtype), sf))
    total = sb * st
    t = xs.astype(np.float64) / total
    codes = encode(t, el, saturate=True).astype(np.int64)
    values = _value_table(el)[codes]
    deq = (values * total).astype(wd)
    n.update(
        tensor_amax=float(np.max(np.abs(arr))),
        fmax_elem=float(el.max),
        fmax_scale=float(sf.max),
        s_t=st,
        absmax=A,
        s_b_exact=sbq,
        s_b=sb,
        s_b_code=sc,
        scale=total,
        c=1.0 / total,
        element=s.element,
        scale_format=s.scale_format,
        block=s.block_size,
    )
    return t, codes, values, deq


def _float(s, q, g, xs, arr, n):
    fmt = s.fmt
    n.update(format=fmt.name, rounding=s.rounding, scaled=s.scaled, fmax=float(fmt.max))
    if not s.scaled:
        codes = encode(xs, fmt, rounding=s.rounding, saturate=s.saturate).astype(np.int64)
        deq = decode(codes.astype(fmt.code_dtype), fmt, dtype=q.dtype)
        return xs.astype(np.float64), codes, decode(codes.astype(fmt.code_dtype), fmt), deq
    wd = q.dtype
    sc = float(_scale_of(q, g).astype(wd)[0])
    t = xs.astype(np.float64) / sc
    codes = encode(t, fmt, rounding=s.rounding, saturate=True).astype(np.int64)
    values = decode(codes.astype(fmt.code_dtype), fmt)
    deq = (values * sc).astype(wd)
    n.update(absmax=float(np.max(np.abs(q.layout.group_elements(arr, g)))), scale=sc, c=1.0 / sc)
    return t, codes, values, deq


def _neighbours(s, xs, scaled, worst, n):
    fmt = s.fmt
    if fmt.bits > 16 or not xs.size:
        return
    lv = all_values(fmt).finite_sorted()
    v = float(scaled[worst])
    i = int(np.searchsorted(lv, v, side="right"))
    n["below"] = float(lv[i - 1]) if i > 0 else None
    j = int(np.searchsorted(lv, v, side="left"))
    n["above"] = float(lv[j]) if j < lv.size else None


def _log(s, q, g, xs, n):
    code = int(np.asarray(q.scale_codes).reshape(-1)[g])
    e_top = code - 127
    L = s.n_levels
    e_low = e_top - L + 1
    a = np.abs(xs)
    nz = a > 0
    m, ex = np.frexp(np.where(nz, a, 1).astype(np.float64))
    rl = ex.astype(np.int64) - 1 + (2 * m >= 1.4142135623730951)
    f = rl - e_low + 1
    f = np.where(nz & (f >= 1), np.minimum(f, L), 0)
    sign_bit = 1 << (s.bits - 1)
    codes = (f | np.where((xs < 0) & (f > 0), sign_bit, 0)).astype(np.int64)
    v = np.where(f > 0, np.ldexp(1.0, e_low + f - 1), 0.0)
    v = np.where(codes & sign_bit, -v, v)
    n.update(e_top=e_top, e_low=e_low, scale=float(2.0**e_top), levels_n=L)
    with np.errstate(divide="ignore"):
        return np.where(nz, np.log2(np.where(nz, a, 1)), -np.inf), codes, v, v.astype(q.dtype)


def _sign(s, q, g, xs, arr, n):
    wd = q.dtype
    alpha = _scale_of(q, g).astype(wd)[0]
    full = np.asarray(q.layout.group_elements(arr, g), np.float64)
    if s.family == "binary":
        codes = np.where(xs >= 0, 1, -1).astype(np.int64)
        n.update(alpha=float(alpha), mean_abs=float(np.mean(np.abs(full))))
    else:
        mean_abs = float(np.sum(np.abs(full)) / full.size)
        thr = s.delta * mean_abs
        codes = (np.sign(xs) * (np.abs(xs) > thr)).astype(np.int64)
        n.update(alpha=float(alpha), mean_abs=mean_abs, delta=s.delta, threshold=thr)
    deq = (codes.astype(wd) * alpha).astype(wd)
    return xs.astype(np.float64), codes, codes, deq
