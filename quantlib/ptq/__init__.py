"""Post-training quantization methods beyond round-to-nearest: GPTQ and AWQ (numpy only).

* :mod:`.gptq` -- one matrix: H from calibration inputs, columns rounded one by one with the
  error pushed onto the rest (Frantar et al., arXiv 2210.17323);
* :mod:`.awq` -- one group of Linears sharing an input: per-channel scales from the
  activations, alpha searched on the output error, optional clip (Lin et al., arXiv 2306.00978);
* :mod:`.grid` -- a scheme's grid with its group scales fixed (what GPTQ rounds to);
* :mod:`.layerwise` -- both over a model, through its forward pass's Linear hook;
* :mod:`.corpus` -- the calibration text.

The results are ordinary :class:`~quantlib.schemes.QuantizedTensor` objects of the chosen
scheme: the same codes, scales and bits per weight as RTN's, with other codes.
"""

from .awq import AWQSearch, awq_scales, awq_search, clip_search
from .corpus import calibration_sentences, prose_paragraphs
from .gptq import GPTQResult, GPTQTrace, gptq, hessian, inverse_cholesky, output_error, rtn
from .grid import ColumnGrid, gptq_grid_problem
from .layerwise import AWQGroup, AWQHook, GPTQHook, LayerError

__all__ = [
    "AWQGroup",
    "AWQHook",
    "AWQSearch",
    "ColumnGrid",
    "GPTQHook",
    "GPTQResult",
    "GPTQTrace",
    "LayerError",
    "awq_scales",
    "awq_search",
    "calibration_sentences",
    "clip_search",
    "gptq",
    "gptq_grid_problem",
    "hessian",
    "inverse_cholesky",
    "output_error",
    "prose_paragraphs",
    "rtn",
]
