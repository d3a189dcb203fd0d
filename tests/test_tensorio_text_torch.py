"""quantlib.tensorio: csv/txt tables, and PyTorch files read only with weights_only=True."""

from __future__ import annotations

import io
import zipfile

import ml_dtypes
import numpy as np
import pytest

from quantlib.tensorio import (
    TensorFileError,
    list_tensors,
    load_tensor,
    load_tensors,
)
from tests.tensorio_files import (
    W_SPECIAL,
    W,
    needs_torch,
    same,
)


# --------------------------------------------------------------------------- text
@pytest.mark.parametrize(
    "text, shape",
    [
        ("1,2,3\n4,5,6\n", (2, 3)),
        ("a;b\n1.5;2\n3;-4e-3\n", (2, 2)),
        ("# comment\n\n1\t2\n3\t4\n", (2, 2)),
        ("1 2  3\n4 5 6\n", (2, 3)),
        ("\ufeffx,y\n1,2\n", (2,)),
        ("1\n2\n3\n", (3,)),
        ('"1","2"\n"3","4"\n', (2, 2)),
    ],
)
def test_text_tables(text, shape):
    for name in ("t.csv", "t.txt", None):
        t = load_tensor(text.encode(), name=name)
        assert t.shape == shape and t.array.dtype == np.float64 and t.source_format == "text"


def test_text_nan_inf_and_errors():
    t = load_tensor(b"nan,1\ninf,-inf\n", name="n.csv")
    assert (t.n_nan, t.n_inf) == (1, 2)
    with pytest.raises(TensorFileError, match="line 3 has 3 values but the first row has 2"):
        load_tensors(b"1,2\n3,4\n5,6,7\n", name="r.csv")
    with pytest.raises(TensorFileError, match="line 2, column 2 holds 'abc'"):
        load_tensors(b"1,2\n3,abc\n", name="x.csv")
    with pytest.raises(TensorFileError, match="line 1, column 2 is empty"):
        load_tensors(b"1,,2\n", name="x.csv")
    with pytest.raises(TensorFileError, match="no numbers"):
        load_tensors(b"# only a comment\n\n", name="c.txt")
    with pytest.raises(TensorFileError, match="UTF-8"):
        load_tensors(b"\xff\xfe\x00\x01garbage", name="g.csv")


# --------------------------------------------------------------------------- torch
@needs_torch
def test_torch_state_dict(tmp_path):
    import torch

    sd = {
        "layer.weight": torch.from_numpy(W_SPECIAL),
        "layer.bf": torch.from_numpy(W).bfloat16(),
        "layer.fp8": torch.from_numpy(W).to(torch.float8_e5m2),
        "nested": {"ids": torch.arange(3), "flag": torch.ones(2, dtype=torch.bool)},
        "epoch": 3,
    }
    p = tmp_path / "m.pt"
    torch.save(sd, p)
    entries = {e.name: e for e in list_tensors(p)}
    assert set(entries) == {"layer.weight", "layer.bf", "layer.fp8", "nested.ids", "nested.flag"}
    assert entries["layer.bf"].dtype == "bfloat16" and not entries["nested.flag"].loadable
    out = load_tensors(p)
    assert same(out["layer.weight"].array, W_SPECIAL) and out["layer.weight"].n_nan == 3
    assert same(out["layer.bf"].array, W.astype(ml_dtypes.bfloat16))
    assert same(out["layer.fp8"].array, W.astype(ml_dtypes.float8_e5m2))
    assert out["nested.ids"].array.tolist() == [0, 1, 2]
    legacy = io.BytesIO()
    torch.save({"w": torch.from_numpy(W)}, legacy, _use_new_zipfile_serialization=False)
    assert same(load_tensor(legacy.getvalue(), name="old.pth").array, W)
    buf = io.BytesIO()
    torch.save(torch.from_numpy(W), buf)
    assert list(load_tensors(buf.getvalue(), name="t.pt")) == ["tensor"]


@needs_torch
def test_torch_weights_only_blocks_code(tmp_path):
    import torch

    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    p = tmp_path / "evil.pt"
    torch.save({"w": torch.ones(2), "x": Evil()}, p)
    with pytest.raises(TensorFileError, match="weights_only=True"):
        load_tensors(p)
    assert not marker.exists()
    buf = io.BytesIO()
    torch.save({"n": 1, "s": "text"}, buf)
    with pytest.raises(TensorFileError, match="no tensors"):
        load_tensors(buf.getvalue(), name="nothing.pt")


def test_pt_without_torch_says_so(monkeypatch):
    import quantlib.tensorio as tio
    import quantlib.tensorio._source as tio_source  # owns torch_available; every reader asks it there

    monkeypatch.setattr(tio_source, "torch_available", lambda: False)
    zip_pt = io.BytesIO()
    with zipfile.ZipFile(zip_pt, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    with pytest.raises(TensorFileError, match="needs PyTorch"):
        load_tensors(zip_pt.getvalue(), name="m.pt")
    assert "pt" not in tio.supported_extensions()
