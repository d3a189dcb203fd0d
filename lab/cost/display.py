"""Words and formulas of the "Smaller, not faster" page (``/cost``): the names of the models,
hardware profiles and compute kinds, the figure labels (translated), the formulas as LaTeX filled
in with quantlib.cost's numbers, and the findings worded from a measurement.

Only numbers and symbols go into the TeX (KaTeX renders no CJK in ``\\text``); the words that
go with a formula are the page's captions.  Llama-2-7B, 2048 tokens, float16 KV cache::

    M_{KV} = 2 · L · H_{kv} · d_h · T · B · b/8 = 2 · 32 · 32 · 128 · 2048 · 1 · 16/8 = 1,073,741,824 B
"""

from __future__ import annotations

from figures import cost as cost_figs
from figures.cost import bytes_text, rate_text
from lab.core.i18n import N_, _, translated

from quantlib.cost import Hardware, Measurement, ModelShape, Roofline

__all__ = [
    "HW_NAMES",
    "KIND_NAMES",
    "MODEL_NAMES",
    "cost_labels",
    "decode_tex",
    "dequant_text",
    "kind_names",
    "kv_tex",
    "measure_findings",
    "prefill_tex",
    "tex_num",
    "weights_tex",
]

MODEL_NAMES = {
    "smollm2-135m": N_("SmolLM2-135M (the lab's language model)"),
    "llama2-7b": N_("Llama-2-7B"),
    "llama2-70b": N_("Llama-2-70B (grouped-query attention)"),
    "custom": N_("Your own size"),
}
HW_NAMES = {
    "a100": N_("NVIDIA A100 80GB SXM"),
    "h100": N_("NVIDIA H100 SXM"),
    "b200": N_("NVIDIA B200 (approximate)"),
    "rtx4090": N_("NVIDIA GeForce RTX 4090"),
    "m2max": N_("Apple M2 Max (approximate)"),
    "laptop": N_("Laptop CPU, 2-channel DDR5 (approximate)"),
}
KIND_NAMES = {
    "float32": N_("float32"),
    "bfloat16": N_("bfloat16 / float16"),
    "float8": N_("float8 (FP8)"),
    "int8": N_("int8"),
    "float4": N_("float4_e2m1fn with block scales"),
}


def cost_labels() -> dict[str, str]:
    return translated(cost_figs.LABELS)


def kind_names() -> dict[str, str]:
    return {k: _(v) for k, v in KIND_NAMES.items()}


# --------------------------------------------------------------------------- TeX
def tex_num(x: float, digits: int = 4) -> str:
    """An integer below 10^12 with TeX thousands separators ('134{,}515{,}008'), larger or small
    numbers as '2.039\\times 10^{12}', else ``digits`` significant digits ('4.127')."""
    x = float(x)
    if x == int(x) and abs(x) < 1e12:
        return f"{int(x):,}".replace(",", "{,}")
    if x != 0 and (abs(x) >= 1e6 or abs(x) < 1e-3):
        mant, _e, power = f"{x:.{digits - 1}e}".partition("e")
        return f"{float(mant):g}\\times 10^{{{int(power)}}}"
    return f"{x:.{digits}g}"


def _rate(x: float) -> str:
    return rate_text(x).replace(",", "{,}")


def _bytes_tex(n: float) -> str:
    """'= 47{,}185{,}920\\,\\mathrm{B} \\approx 47.19\\,\\mathrm{MB}' ('\\approx' first when n is not whole)."""
    value, unit = bytes_text(n).split(" ")
    eq = "=" if n == int(n) else "\\approx"
    return f"{eq} {tex_num(round(n))}\\,\\mathrm{{B}} \\approx {value}\\,\\mathrm{{{unit}}}"


def weights_tex(params: float, bits: float) -> str:
    """``M_W = P · b / 8`` with the numbers: 7e9 · 4.5 / 8 = 3,937,500,000 B ≈ 3.938 GB."""
    return f"M_W = \\frac{{P \\cdot b}}{{8}} = \\frac{{{tex_num(params)} \\cdot {bits:.10g}}}{{8}} {_bytes_tex(params * bits / 8)}"


def kv_tex(shape: ModelShape, *, context: int, batch: int, bits: float, total: float) -> str:
    """The KV cache's size with this model's shape (``total`` from quantlib.cost)."""
    return (
        "M_{KV} = \\frac{2 \\cdot L \\cdot H_{kv} \\cdot d_h \\cdot T \\cdot B \\cdot b}{8} = "
        f"\\frac{{2 \\cdot {shape.n_layers} \\cdot {shape.n_kv_heads} \\cdot {shape.kv_head_dim} \\cdot {tex_num(context)} \\cdot {batch} \\cdot {bits:.10g}}}{{8}}"
        f" {_bytes_tex(total)}"
    )


def _traffic_terms(r: Roofline) -> tuple[str, str]:
    if r.extra_bytes:
        return "M_W + M_{deq} + M_{KV}", f"{tex_num(r.weight_bytes, 4)} + {tex_num(r.extra_bytes, 4)} + {tex_num(r.kv_bytes, 4)}"
    return "M_W + M_{KV}", f"{tex_num(r.weight_bytes, 4)} + {tex_num(r.kv_bytes, 4)}"


def decode_tex(r: Roofline, hw: Hardware, *, batch: int) -> str:
    """Decode: tokens/s = min(B · BW / bytes read per step, peak / (2P)), with the numbers."""
    sym, num = _traffic_terms(r)
    bw = tex_num(hw.bandwidth * 1e9)
    peak = tex_num(r.peak * 1e12)
    return (
        f"\\begin{{aligned}}\\frac{{\\mathrm{{tokens}}}}{{\\mathrm{{s}}}} &= \\min\\left(\\frac{{B \\cdot BW}}{{{sym}}},\\ \\frac{{\\pi}}{{2P}}\\right)"
        f" \\\\ &= \\min\\left(\\frac{{{batch} \\cdot {bw}}}{{{num}}},\\ \\frac{{{peak}}}{{{tex_num(r.ops_per_token)}}}\\right)"
        f" \\\\ &= \\min({_rate(r.decode_memory)},\\ {_rate(r.decode_compute)}) = {_rate(r.decode)}\\end{{aligned}}"
    )


def prefill_tex(r: Roofline, hw: Hardware, *, context: int, batch: int) -> str:
    """Prefill: tokens/s = min(peak / (2P), T · B · BW / bytes read), with the numbers."""
    sym, num = _traffic_terms(r)
    bw = tex_num(hw.bandwidth * 1e9)
    peak = tex_num(r.peak * 1e12)
    return (
        f"\\begin{{aligned}}\\frac{{\\mathrm{{tokens}}}}{{\\mathrm{{s}}}} &= \\min\\left(\\frac{{\\pi}}{{2P}},\\ \\frac{{T \\cdot B \\cdot BW}}{{{sym}}}\\right)"
        f" \\\\ &= \\min\\left(\\frac{{{peak}}}{{{tex_num(r.ops_per_token)}}},\\ \\frac{{{tex_num(context)} \\cdot {batch} \\cdot {bw}}}{{{num}}}\\right)"
        f" \\\\ &= \\min({_rate(r.prefill_compute)},\\ {_rate(r.prefill_memory)}) = {_rate(r.prefill)}\\end{{aligned}}"
    )


def dequant_text(r: Roofline, hw_name: str) -> str:
    """What dequantizing costs the worked scheme on this profile, from the numbers."""
    kind = kind_names().get(r.kind, r.kind)
    if r.native:
        return _("On {hw}, {scheme} has matrix units of its own: it is multiplied as stored, at {peak} TFLOPS (its activations in the same format).").format(
            hw=hw_name, scheme=r.scheme, peak=f"{r.peak:g}"
        )
    text = _(
        "On {hw}, {scheme} has no matrix unit of its own: the weights are dequantized to {kind} first and multiplied at the {kind} peak, {peak} TFLOPS, so prefill gains nothing from the smaller format."
    ).format(hw=hw_name, scheme=r.scheme, kind=kind, peak=f"{r.peak:g}")
    if r.extra_bytes:
        text += " " + _(
            "Materialized, the dequantized copy ({extra}) is written and read back every pass: decode reads {total} per step instead of {fused}, and drops to {rate} tokens/s."
        ).format(
            extra=bytes_text(r.extra_bytes),
            total=bytes_text(r.weight_bytes + r.extra_bytes + r.kv_bytes),
            fused=bytes_text(r.weight_bytes + r.kv_bytes),
            rate=rate_text(r.decode),
        )
    else:
        text += " " + _(
            "Dequantized inside the kernel (fused, as llama.cpp's and Marlin's kernels do), only the {weights} of stored weights cross the memory bus, so decode still gains from the smaller weights."
        ).format(weights=bytes_text(r.weight_bytes))
    return text


# --------------------------------------------------------------------------- findings
def _times(ratio: float) -> str:
    if ratio >= 1:
        return _("{n}× slower").format(n=f"{ratio:.1f}")
    return _("{n}× faster").format(n=f"{1 / ratio:.1f}")


def measure_findings(matvec: Measurement, matmul: Measurement) -> list[str]:
    """Sentences from the measured numbers (nothing typed in)."""
    out = []
    f32 = matvec.median("float32")
    out.append(
        _(
            "**Matrix × vector** ({m} × {k}, memory-bound): float32 through BLAS takes {t} ms, reading its {mb} of weights at {bw} GB/s. Through int8 it takes {ti} ms, {ri}, although its weights are 4× smaller ({mbq}): without integer kernels numpy widens the codes to int32 and multiplies them without BLAS. Dequantize-then-matmul takes {td} ms, {rd}: the float32 copy it makes is written and read again."
        ).format(
            m=matvec.m,
            k=matvec.k,
            t=f"{1e3 * f32:.3g}",
            mb=bytes_text(matvec.weight_bytes("float32")),
            bw=f"{matvec.weight_bytes('float32') / f32 / 1e9:.3g}",
            ti=f"{1e3 * matvec.median('int8'):.3g}",
            ri=_times(matvec.slowdown("int8")),
            mbq=bytes_text(matvec.weight_bytes("int8")),
            td=f"{1e3 * matvec.median('dequantize'):.3g}",
            rd=_times(matvec.slowdown("dequantize")),
        )
    )
    g = matmul.median("float32")
    out.append(
        _(
            "**Matrix × matrix** ({m} × {k} · {k} × {n}, compute-bound): float32 reaches {gf} GFLOPS here. Through int8 it is {ri}; dequantize-then-matmul is {rd}, because converting {mk} weights once is small next to {ops} operations, and the product itself is the same float32 BLAS call."
        ).format(
            m=matmul.m,
            k=matmul.k,
            n=matmul.n,
            gf=f"{matmul.ops / g / 1e9:.3g}",
            ri=_times(matmul.slowdown("int8")),
            rd=_times(matmul.slowdown("dequantize")),
            mk=f"{matmul.m * matmul.k:,}",
            ops=f"{matmul.ops:,.0f}",
        )
    )
    out.append(
        _(
            "Smaller weights pay only where the hardware uses them as they are: a memory-bound product with a kernel that dequantizes in registers (the roofline's fused decode), or matrix units of the format's own (int8, FP8, FP4). numpy has neither: here the int8 route is {a} for the matrix × vector product and {b} for the matrix × matrix one."
        ).format(a=_times(matvec.slowdown("int8")), b=_times(matmul.slowdown("int8")))
    )
    return out
