"""The "Smaller, not faster" page (/cost) through Streamlit's AppTest: the defaults, a model
preset changing the numbers (equal to quantlib.cost's), URL state and bad URL values, the
hardware profile and its edits, the dequantization mode, the live measurement and its store,
and the Chinese page."""

from __future__ import annotations

from lab.cost import cached as cc
from lab.cost.state import COST
from quantlib.cost import HARDWARE, MODELS, WEIGHT_SCHEMES, kv_cache_bytes, roofline, weight_bytes
from tests.apptest import charts, markdown, open_page, rerun_ok

PAGE = "app_pages/cost.py"


def latex(at) -> list[str]:
    return [e.proto.body for e in at.get("latex")]


def captions(at) -> str:
    return "\n".join(c.value for c in at.caption)


def tex(n: int) -> str:
    return f"{n:,}".replace(",", "{,}")


def memory_row(at, scheme: str):
    df = at.dataframe[0].value
    return df[df["scheme"] == scheme].iloc[0]


def test_defaults_render():
    at = open_page(PAGE)
    seven = MODELS["llama2-7b"]
    assert at.session_state[COST.model] == "llama2-7b" and at.session_state[COST.hw] == "a100"
    formulas = latex(at)
    assert len(formulas) == 4
    assert tex(1_073_741_824) in formulas[1]  # 2*32*32*128*2048*1*16/8
    assert "2 \\cdot 32 \\cdot 32 \\cdot 128 \\cdot 2{,}048 \\cdot 1 \\cdot 16" in formulas[1]
    assert tex(int(weight_bytes(seven.params, "nf4:block=64,dq"))) in formulas[0]
    r = roofline("nf4:block=64,dq", HARDWARE["a100"], seven, params=seven.params, context=2048, batch=1, kv_bits=16)
    assert f"= {r.decode:.4g}" in formulas[2] and not r.native
    assert "dequantized to bfloat16 / float16 first" in markdown(at)
    assert len(at.dataframe[0].value) == len(at.dataframe[1].value) == len(WEIGHT_SCHEMES)
    assert len(charts(at)) >= 2
    assert "numpy emulation on this server, not hardware speed" in at.warning[0].value
    assert dict(at.query_params) == {}


def test_preset_change_updates_the_numbers():
    at = open_page(PAGE)
    at.selectbox(key=COST.model).set_value("smollm2-135m")
    rerun_ok(at)
    smol = MODELS["smollm2-135m"]
    assert "134,515,008 parameters; KV cache shape: 30 layers × 3 key/value heads × 64 values per head." in captions(at)
    assert memory_row(at, "nf4:block=64")["weights (bytes)"] == f"{weight_bytes(smol.params, 'nf4:block=64'):,.0f}" == "75,664,692"
    kv = kv_cache_bytes(smol, context=2048, batch=1, bits=16)
    assert kv == 47_185_920 and tex(47_185_920) in latex(at)[1]
    assert at.query_params["model"] == "smollm2-135m"
    at.number_input(key=COST.ctx).set_value(8192)
    at.number_input(key=COST.batch).set_value(2)
    rerun_ok(at)
    assert tex(int(kv_cache_bytes(smol, context=8192, batch=2, bits=16))) in latex(at)[1]
    assert at.query_params["ctx"] == "8192" and at.query_params["batch"] == "2"


def test_url_state():
    at = open_page(PAGE, model="llama2-70b", ctx="8192", batch="4", hw="h100", kv="int8:axis=0", scheme="float8_e4m3fn:scaled")
    ss = at.session_state
    assert (ss[COST.model], ss[COST.ctx], ss[COST.batch], ss[COST.hw]) == ("llama2-70b", 8192, 4, "h100")
    assert ss[COST.field("bandwidth")] == 3350
    seventy = MODELS["llama2-70b"]
    kv = kv_cache_bytes(seventy, context=8192, batch=4, bits=8.25)  # int8 + a float32 per 128 values
    assert tex(int(kv)) in latex(at)[1]
    r = roofline("float8_e4m3fn:scaled", HARDWARE["h100"], seventy, params=seventy.params, context=8192, batch=4, kv_bits=8.25)
    assert r.native and f"{r.decode:.4g}" in latex(at)[2]
    assert "has matrix units of its own" in markdown(at)
    assert dict(at.query_params) == {"model": "llama2-70b", "ctx": "8192", "batch": "4", "hw": "h100", "kv": "int8:axis=0", "scheme": "float8_e4m3fn:scaled"}


def test_custom_model():
    at = open_page(PAGE, model="custom", params="1000", layers="10", kvh="2", hd="64")
    assert "1,000,000,000 parameters; KV cache shape: 10 layers × 2 key/value heads × 64 values per head." in captions(at)
    assert "2 \\cdot 10 \\cdot 2 \\cdot 64 \\cdot 2{,}048" in latex(at)[1]
    assert at.query_params["params"] == "1000" and at.query_params["layers"] == "10"


def test_bad_url_values_give_a_note():
    at = open_page(PAGE, model="gpt5", ctx="lots", batch="0", hw="tpu", scheme="fp4")
    warnings = "\n".join(w.value for w in at.warning)
    assert "model='gpt5' is not one of" in warnings
    assert "ctx='lots' is not an integer" in warnings
    assert "batch='0' is outside 1…4096: 1 is used." in warnings
    assert "hw='tpu' is not one of" in warnings and "scheme='fp4' is not one of" in warnings
    ss = at.session_state
    assert (ss[COST.model], ss[COST.ctx], ss[COST.batch], ss[COST.hw]) == ("llama2-7b", 2048, 1, "a100")


def test_profile_change_and_edits():
    at = open_page(PAGE)
    at.selectbox(key=COST.hw).set_value("rtx4090")
    rerun_ok(at)
    assert at.session_state[COST.field("bandwidth")] == 1008 and at.session_state[COST.field("bfloat16")] == 165.2
    assert at.query_params["hw"] == "rtx4090"
    assert "1.008\\times 10^{12}" in latex(at)[2]
    at.number_input(key=COST.field("bandwidth")).set_value(2016.0)
    rerun_ok(at)
    assert "2.016\\times 10^{12}" in latex(at)[2]
    seven = MODELS["llama2-7b"]
    r = roofline("nf4:block=64,dq", HARDWARE["rtx4090"].edited(bandwidth=2016.0), seven, params=seven.params, context=2048, batch=1, kv_bits=16)
    assert f"= {r.decode:.4g}" in latex(at)[2]
    at.selectbox(key=COST.hw).set_value("b200")
    rerun_ok(at)
    assert at.session_state[COST.block_scaled] is True and at.session_state[COST.field("bandwidth")] == 8000


def test_materialized_dequantization_costs_traffic():
    at = open_page(PAGE, deq="materialized")
    assert "M_{deq}" in latex(at)[2]
    assert "Materialized, the dequantized copy (26.95 GB) is written and read back every pass" in markdown(at)
    assert at.query_params["deq"] == "materialized"


def test_measurement_on_the_button():
    at = open_page(PAGE)
    at.selectbox(key=COST.matvec).set_value(1024)
    at.selectbox(key=COST.matmul).set_value(128)
    rerun_ok(at)
    before = cc.MISSES["measure"]
    at.button[0].click()
    rerun_ok(at)
    assert cc.MISSES["measure"] == before + 2
    assert len(at.dataframe) == 3 and len(at.dataframe[2].value) == 6
    text = markdown(at)
    assert "**Matrix × vector** (1024 × 1024, memory-bound)" in text and "**Matrix × matrix** (128 × 128 · 128 × 128" in text
    m = cc.measured(1024, 1024, 1)
    assert f"{1e3 * m.median('float32'):.3g} ms" in text
    rerun_ok(at)  # stored: shown again, not measured again
    assert cc.MISSES["measure"] == before + 2 and len(at.dataframe) == 3


def test_chinese_page():
    at = open_page(PAGE, lang="zh_CN")
    assert at.title[0].value == "更小，不等于更快"
    assert any("KV 缓存" in c for c in at.dataframe[0].value.columns)
