"""Training a small real network in numpy, every tensor in a chosen format.

:mod:`quantlib.train.data` (the UCI digits, a seeded stratified split),
:mod:`quantlib.train.nn` (MLP forward/backward, the :class:`~quantlib.train.nn.Precision` policy,
SGD/Adam, hooks for QAT), :mod:`quantlib.train.loop` (``train`` and ``History``: the loop, loss
scaling and gradient statistics live there), :mod:`quantlib.train.amp` (the ``LossScaler``, as
PyTorch's GradScaler, and the mixed-precision measurements the /amp page shows),
:mod:`quantlib.train.fakequant` (fake quantization hooks: forward = quantlib's quantizer,
backward = the straight-through estimator, optional LSQ scales) and :mod:`quantlib.train.qat`
(data-free and calibrated PTQ, QAT fine-tuning and the weight families the /qat page compares).
"""

from .data import Digits, load_digits
from .nn import PRECISIONS, SGD, Adam, Precision, backward, evaluate, forward, init_mlp, softmax_cross_entropy

__all__ = [
    "PRECISIONS",
    "SGD",
    "Adam",
    "Digits",
    "Precision",
    "backward",
    "evaluate",
    "forward",
    "init_mlp",
    "load_digits",
    "softmax_cross_entropy",
]
