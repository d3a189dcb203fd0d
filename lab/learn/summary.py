"""The printable one-page summary of /learn: the notes' formats table and formulas as one
self-contained HTML file (no script, no network: formulas are inline SVG from matplotlib's
mathtext), built by a pure function (no streamlit here; the page caches and offers it).

``summary_html()`` holds, for example, the row ``float16 | 1/5/10 | 15 | 0.000977 | 65504 |
6.1e-05 | 5.96e-08`` and ``c = (2^(k−1) − 1)/absmax(x)``.
"""

from __future__ import annotations

import html

from quantlib import FORMATS, parse_scheme
from quantlib.codebooks import NF4_CODEBOOK

from figures.learn import formula_img
from lab.core.i18n import N_, translate

__all__ = ["NOTES_FORMATS", "FINFO_COLUMNS", "format_rows", "summary_html", "formula_sections"]

NOTES_FORMATS: tuple[str, ...] = ("float64", "float32", "tfloat32", "bfloat16", "float16", "float8_e4m3fn", "float8_e5m2", "float4_e2m1fn")
"""The formats of the notes' table, by their ml_dtypes names (TF32 is ``tfloat32``, the notes' FP4 ``float4_e2m1fn``)."""

FINFO_COLUMNS: tuple[str, ...] = ("eps", "max", "smallest_normal", "smallest_subnormal")
"""The limits shown, named as numpy.finfo names them."""


def format_rows(lang: str = "en") -> list[dict[str, str]]:
    """One row per format of :data:`NOTES_FORMATS`, then NF4: ``name, bits, S/E/M, bias`` and the
    :data:`FINFO_COLUMNS`, as text (``float16``: ``max`` "65504")."""
    rows = []
    for name in NOTES_FORMATS:
        f = FORMATS[name]
        row = {"name": name, "bits": str(f.bits), "S/E/M": f"{int(f.signed)}/{f.nexp}/{f.nmant}", "bias": str(f.bias)}
        row.update({k: f"{getattr(f, k):.6g}" for k in FINFO_COLUMNS})
        rows.append(row)
    nf4 = NF4_CODEBOOK
    levels = nf4.values
    rows.append(
        {
            "name": "nf4",
            "bits": str(nf4.bits),
            "S/E/M": translate(N_("index 0–{n}"), lang).format(n=len(levels) - 1),
            "bias": "—",
            "eps": "—",
            "max": f"{max(levels):g} × absmax",
            "smallest_normal": "—",
            "smallest_subnormal": "—",
        }
    )
    return rows


def formula_sections() -> list[tuple[str, list[str]]]:
    """(heading msgid, mathtext formulas) in the notes' order; the NF4 bits come from quantlib."""
    nf4 = parse_scheme("nf4:block=64").bits_per_element()
    nf4_dq = parse_scheme("nf4:block=64,dq").bits_per_element()
    return [
        (N_("The value of a float (normal; subnormal: 2^(1 − bias) · (0 + m))"), [r"fp = (-1)^s \cdot 2^{e-\mathrm{bias}} \cdot (1 + m)", r"\mathrm{bias} = 2^{E-1} - 1,\quad m = \sum_{n=1}^{M} \mathrm{bit}_n \cdot 2^{-n}"]),
        (N_("Float to float cast: re-bias the exponent, round the mantissa (half to even), or pad it with zeros"), [r"e_{dst} = e_{src} - \mathrm{bias}_{src} + \mathrm{bias}_{dst}"]),
        (N_("Symmetric (absmax) k-bit quantization, one c per block"), [r"c = \dfrac{2^{k-1} - 1}{\mathrm{absmax}(x)},\quad q = \mathrm{round}(x \cdot c),\quad \hat{x} = \dfrac{q}{c}"]),
        (N_("Asymmetric quantization: a scale s and a zero point z"), [r"s = \dfrac{\max(x) - \min(x)}{2^k - 1},\quad z = \mathrm{round}\left(\dfrac{-\min(x)}{s}\right)", r"q = \mathrm{clamp}(\mathrm{round}(x/s) + z,\ 0,\ 2^k - 1),\quad \hat{x} = s\,(q - z)"]),
        (
            N_("NF4 (16 levels v_i at normal quantiles) and double quantization of the block scales"),
            [
                r"c = \dfrac{1}{\mathrm{absmax}(x)},\quad q = \mathrm{argmin}_i\ |x c - v_i|,\quad \hat{x} = \dfrac{v_q}{c}",
                r"\mathrm{bits} = 4 + \dfrac{32}{64} = %.4g,\qquad \mathrm{dq}: 4 + \dfrac{8}{64} + \dfrac{32}{64 \cdot 256} = %.4g" % (nf4, nf4_dq),
            ],
        ),
        (N_("Mixed precision: loss scaling by S, a float32 master copy"), [r"g_{16} = \mathrm{fp16}\left(S \cdot \dfrac{\partial L}{\partial w}\right),\quad w_{32} \leftarrow w_{32} - \eta\,\dfrac{g_{16}}{S}"]),
        (N_("QAT: the straight-through estimator (STE)"), [r"\mathrm{forward}: \hat{w} = \dfrac{\mathrm{round}(w c)}{c},\quad \mathrm{backward}: \dfrac{\partial L}{\partial w} \approx \dfrac{\partial L}{\partial \hat{w}} \cdot \mathbf{1}_{|w| \leq \mathrm{absmax}}"]),
        (N_("SmoothQuant: move the activations' outliers into the weights"), [r"s_j = \dfrac{\max|X_j|^{\alpha}}{\max|W_j|^{1-\alpha}},\quad Y = (X\,\mathrm{diag}(s)^{-1})\,(\mathrm{diag}(s)\,W)"]),
    ]


_CSS = """
body { font-family: sans-serif; font-size: 10.5pt; margin: 1.2cm; color: #111; }
h1 { font-size: 15pt; margin: 0 0 4pt 0; } h2 { font-size: 11.5pt; margin: 10pt 0 4pt 0; }
table { border-collapse: collapse; width: 100%; font-size: 9pt; }
th, td { border: 1px solid #999; padding: 2pt 4pt; text-align: right; }
th:first-child, td:first-child { text-align: left; font-family: monospace; }
.f { margin: 2pt 0 2pt 10pt; } .formula { vertical-align: middle; margin-right: 14pt; }
p.small { font-size: 8.5pt; color: #444; }
@page { size: A4; margin: 1cm; } @media print { body { margin: 0; } }
"""


def summary_html(lang: str = "en") -> str:
    """The whole page in ``lang``: title, the formats table (quantlib's registry, numpy.finfo
    names) and the notes' formulas, without any script or external resource."""

    def t(msgid: str) -> str:
        return translate(msgid, lang)

    esc = html.escape
    rows = format_rows(lang)
    header = ["name", "bits", "S/E/M", "bias", *FINFO_COLUMNS]
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{esc(r[h])}</td>" for h in header) + "</tr>" for r in rows)
    sections = []
    for title, texs in formula_sections():
        imgs = "".join(formula_img(tex) for tex in texs)
        sections.append(f"<h2>{esc(t(title))}</h2><div class='f'>{imgs}</div>")
    return (
        f"<!DOCTYPE html><html lang='{esc(lang.replace('_', '-'))}'><head><meta charset='utf-8'>"
        f"<title>{esc(t(N_('Quantization Lab: one-page summary')))}</title><style>{_CSS}</style></head><body>"
        f"<h1>{esc(t(N_('Quantization Lab: one-page summary')))}</h1>"
        f"<p class='small'>{esc(t(N_('Number formats and quantization, as in the notes. Every limit is computed by quantlib from the format fields (numpy.finfo names); print this page or save it as PDF.')))}</p>"
        f"<h2>{esc(t(N_('The formats')))}</h2><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        f"<p class='small'>{esc(t(N_('TF32 (tfloat32) uses 19 of its 32 bits; NF4 is not a float but a 4-bit index into 16 fixed levels, scaled by each block absmax.')))}</p>"
        + "".join(sections)
        + "</body></html>"
    )
