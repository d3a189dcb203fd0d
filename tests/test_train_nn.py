"""quantlib.train: the digits data, the numpy MLP's forward/backward, the precision policy, optimizers."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantlib import cast
from quantlib.train import data as tdata
from quantlib.train.nn import (
    PRECISIONS,
    SGD,
    Adam,
    Precision,
    backward,
    cast_to,
    copy_params,
    evaluate,
    forward,
    init_mlp,
    softmax_cross_entropy,
)

F64 = PRECISIONS["float64"]


# --------------------------------------------------------------------------- data
def test_digits_file_matches_sklearn():
    datasets = pytest.importorskip("sklearn.datasets")
    ref = datasets.load_digits()
    pixels, labels = tdata.read_digits()
    assert pixels.shape == (1797, 64) and labels.shape == (1797,)
    np.testing.assert_array_equal(pixels, ref.data.astype(np.float32))
    np.testing.assert_array_equal(labels, ref.target)


def test_digits_file_is_sklearns_copy_byte_for_byte():
    import hashlib
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sklearn")
    if spec is None:
        pytest.skip("sklearn not installed")
    theirs = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
    ours = tdata.DIGITS_FILE.read_bytes()
    assert hashlib.sha256(ours).hexdigest() == "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
    if theirs.exists():
        assert theirs.read_bytes() == ours


def test_split_is_stratified_disjoint_deterministic_and_read_only():
    d = tdata.load_digits(test_fraction=0.2, seed=0)
    pixels, labels = tdata.read_digits()
    assert d.x_train.shape[0] + d.x_test.shape[0] == 1797
    assert d.x_train.shape[1] == 64 and d.x_train.dtype == np.float32 and d.y_train.dtype == np.int64
    assert 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0
    # each class: round(0.2 * count) in test
    for c in range(10):
        n_c = int(np.sum(labels == c))
        assert int(np.sum(d.y_test == c)) == round(0.2 * n_c)
        assert int(np.sum(d.y_train == c)) == n_c - round(0.2 * n_c)
    # disjoint, and together all rows: compare as rows of the original (x*16 rebuilds the pixels)
    rows = {tuple(r) for r in np.concatenate([d.x_train, d.x_test]) * 16}
    assert rows == {tuple(r) for r in pixels}
    assert len({tuple(r) for r in d.x_train} & {tuple(r) for r in d.x_test}) <= 5  # duplicate images exist in UCI data
    again = tdata.load_digits(test_fraction=0.2, seed=0)
    np.testing.assert_array_equal(again.x_test, d.x_test)
    other = tdata.load_digits(test_fraction=0.2, seed=1)
    assert not np.array_equal(other.y_test, d.y_test) or not np.array_equal(other.x_test, d.x_test)
    with pytest.raises(ValueError):
        d.x_train[0, 0] = 1.0
    with pytest.raises(ValueError, match="test_fraction"):
        tdata.load_digits(test_fraction=1.5)


# --------------------------------------------------------------------------- policy
def test_precision_rejects_unknown_format_and_rounding():
    with pytest.raises(ValueError):
        Precision(weights="float7")
    with pytest.raises(ValueError, match="rounding"):
        Precision(rounding="sideways")
    assert PRECISIONS["float16_master"].stored == "float32"
    assert PRECISIONS["float16"].stored == "float16"


def test_forward_float32_equals_plain_numpy():
    rng = np.random.default_rng(3)
    params = init_mlp((64, 32, 16, 10), seed=1)
    for p in params:
        p["b"] = rng.standard_normal(p["b"].shape).astype(np.float32)
    x = rng.random((20, 64), dtype=np.float32)
    logits, _ = forward(params, x, policy=PRECISIONS["float32"])
    h = x
    for i, p in enumerate(params):
        h = h @ p["W"] + p["b"]
        if i < len(params) - 1:
            h = np.maximum(h, 0)
    assert logits.dtype == np.float32
    np.testing.assert_array_equal(logits, h)


def test_init_is_he_normal_and_seeded():
    p = init_mlp((64, 4000, 10), seed=0)
    assert abs(p[0]["W"].std() - np.sqrt(2 / 64)) < 0.005
    np.testing.assert_array_equal(init_mlp((64, 8, 10), seed=5)[1]["W"], init_mlp((64, 8, 10), seed=5)[1]["W"])
    assert not np.array_equal(init_mlp((64, 8, 10), seed=5)[1]["W"], init_mlp((64, 8, 10), seed=6)[1]["W"])


# --------------------------------------------------------------------------- gradient check
def _loss64(params, x, y):
    logits, _ = forward(params, x, policy=F64)
    return softmax_cross_entropy(logits, y)[0]


def _grad_check(sizes, seed, n=7, eps=1e-6):
    rng = np.random.default_rng(seed)
    params = copy_params(init_mlp(sizes, seed=seed), dtype=np.float64)
    for p in params:
        p["b"] = rng.standard_normal(p["b"].shape) * 0.1
    x = rng.standard_normal((n, sizes[0]))
    y = rng.integers(0, sizes[-1], n)
    logits, cache = forward(params, x, policy=F64)
    _, dl = softmax_cross_entropy(logits, y)
    grads = backward(params, cache, dl, policy=F64)
    for p, g in zip(params, grads):
        for k in p:
            assert g[k].shape == p[k].shape and g[k].dtype == np.float64
            num = np.zeros_like(p[k])
            for idx in np.ndindex(p[k].shape):
                old = p[k][idx]
                p[k][idx] = old + eps
                lp = _loss64(params, x, y)
                p[k][idx] = old - eps
                lm = _loss64(params, x, y)
                p[k][idx] = old
                num[idx] = (lp - lm) / (2 * eps)
            np.testing.assert_allclose(g[k], num, rtol=1e-5, atol=1e-8)


def test_gradient_check_every_parameter_float64():
    _grad_check((6, 5, 4, 3), seed=0)


@settings(max_examples=8, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 5), min_size=2, max_size=4),
    seed=st.integers(0, 2**16),
)
def test_gradient_check_property(sizes, seed):
    _grad_check(tuple(sizes), seed=seed, n=3)


def test_softmax_cross_entropy_values():
    loss, d = softmax_cross_entropy(np.zeros((4, 10), np.float32), np.array([0, 1, 2, 3]))
    assert loss == pytest.approx(np.log(10), rel=1e-6)
    np.testing.assert_allclose(d.sum(axis=1), 0, atol=1e-7)
    assert d[0, 0] == pytest.approx((0.1 - 1) / 4)
    # large logits do not overflow
    loss, _ = softmax_cross_entropy(np.array([[1000.0, 0.0]], np.float32), np.array([0]))
    assert loss == pytest.approx(0.0, abs=1e-6)


# --------------------------------------------------------------------------- the policy holds tensors in its formats
@pytest.mark.parametrize("name", ["float16", "bfloat16", "fp8"])
def test_policy_holds_every_tensor_in_its_format(name):
    pol = PRECISIONS[name]
    d = tdata.load_digits()
    params = init_mlp((64, 16, 10), seed=0)
    x, y = d.x_train[:32], d.y_train[:32]
    logits, cache = forward(params, x, policy=pol)

    def exact(a, fmt):
        a = np.asarray(a)
        np.testing.assert_array_equal(cast(a, fmt), a)

    for h in cache["x"]:
        exact(h, pol.activations)
    for z in cache["z"]:
        exact(z, pol.activations)
    for w in cache["W"]:
        exact(w, pol.weights)
    seen = []
    _, dl = softmax_cross_entropy(logits, y)
    grads = backward(params, cache, dl * 1024, policy=pol, stats=lambda kind, pre, post: seen.append((kind, post)))
    assert {k for k, _ in seen} == {"gradients", "weight_grads"}
    for kind, post in seen:
        exact(post, getattr(pol, kind))
    for g in grads:
        for v in g.values():
            exact(v, pol.weight_grads)
    # rounding really happened: float16 logits differ from float32 ones somewhere
    ref, _ = forward(params, x, policy=PRECISIONS["float32"])
    assert not np.array_equal(ref, logits)


def test_cast_to_is_identity_for_own_dtype_and_rounds_otherwise():
    x = np.array([0.1, 1 + 2**-12, 70000.0], np.float32)
    assert cast_to(x, "float32") is x
    np.testing.assert_array_equal(cast_to(x, "float16"), np.array([0.0999755859375, 1.0, np.inf], np.float32))


# --------------------------------------------------------------------------- hooks
class _Scale:
    """y = s * x with a learnable s: grad_x = s * grad_y, grad_s += sum(x * grad_y)."""

    def __init__(self, s):
        self.params = {"s": np.array(s, np.float64)}
        self.grads = {"s": np.zeros((), np.float64)}

    def forward(self, x):
        return x * self.params["s"], x

    def backward(self, g, x):
        self.grads["s"] += np.sum(x * g)
        return g * self.params["s"]


def test_hooks_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    params = copy_params(init_mlp((5, 4, 3), seed=0), dtype=np.float64)
    x = rng.standard_normal((6, 5))
    y = rng.integers(0, 3, 6)
    wh = [_Scale(0.7), None]
    ih = [None, _Scale(1.3)]

    def loss():
        lg, _ = forward(params, x, policy=F64, weight_hooks=wh, input_hooks=ih)
        return softmax_cross_entropy(lg, y)[0]

    lg, cache = forward(params, x, policy=F64, weight_hooks=wh, input_hooks=ih)
    _, dl = softmax_cross_entropy(lg, y)
    grads = backward(params, cache, dl, policy=F64, weight_hooks=wh, input_hooks=ih)
    eps = 1e-6
    for hook in (wh[0], ih[1]):
        s = hook.params["s"].copy()
        hook.params["s"] = s + eps
        lp = loss()
        hook.params["s"] = s - eps
        lm = loss()
        hook.params["s"] = s
        assert hook.grads["s"] == pytest.approx((lp - lm) / (2 * eps), rel=1e-5)
    i, k, idx = 0, "W", (2, 1)
    old = params[i][k][idx]
    params[i][k][idx] = old + eps
    lp = loss()
    params[i][k][idx] = old - eps
    lm = loss()
    params[i][k][idx] = old
    assert grads[i][k][idx] == pytest.approx((lp - lm) / (2 * eps), rel=1e-5)
    with pytest.raises(ValueError, match="one hook"):
        forward(params, x, policy=F64, weight_hooks=[None])


# --------------------------------------------------------------------------- optimizers
def test_sgd_momentum_matches_hand_computation():
    p = [{"W": np.array([1.0], np.float32)}]
    opt = SGD(lr=0.1, momentum=0.9)
    opt.step(p, [{"W": np.array([0.5], np.float32)}])
    assert p[0]["W"][0] == pytest.approx(1.0 - 0.05)
    opt.step(p, [{"W": np.array([0.5], np.float32)}])  # v = 0.9*0.5 + 0.5 = 0.95
    assert p[0]["W"][0] == pytest.approx(0.95 - 0.095)


def test_adam_first_step_is_lr_times_sign_and_matches_torch():
    p = [{"W": np.array([1.0, -2.0, 3.0], np.float32)}]
    g = [{"W": np.array([0.3, -4.0, 1e-3], np.float32)}]
    opt = Adam(lr=0.01)
    opt.step(p, g)
    np.testing.assert_allclose(p[0]["W"], [0.99, -1.99, 2.99], rtol=1e-5)
    torch = pytest.importorskip("torch")
    t = torch.tensor([0.99, -1.99, 2.99], requires_grad=True)
    topt = torch.optim.Adam([t], lr=0.01)
    p2 = [{"W": t.detach().numpy().copy()}]
    for step in range(5):
        gv = np.array([0.1 * step - 0.2, 0.5, -1.0], np.float32)
        t.grad = torch.tensor(gv)
        topt.step()
    ours = Adam(lr=0.01)
    for step in range(5):
        ours.step(p2, [{"W": np.array([0.1 * step - 0.2, 0.5, -1.0], np.float32)}])
    np.testing.assert_allclose(p2[0]["W"], t.detach().numpy(), rtol=1e-6)


def test_optimizer_rejects_bad_lr():
    with pytest.raises(ValueError, match="learning rate"):
        SGD(lr=0)
    with pytest.raises(ValueError, match="learning rate"):
        Adam(lr=float("nan"))


def test_evaluate_returns_accuracy_and_loss():
    d = tdata.load_digits()
    acc, loss = evaluate(init_mlp((64, 8, 10), seed=0), d.x_test, d.y_test)
    assert 0.0 <= acc <= 0.5 and loss > 1.0  # an untrained net is near chance
