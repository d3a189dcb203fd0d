"""Quantization Lab: the router.  `streamlit run app.py`

The frame around every page: page config, the language selector (session state `lang`,
URL `?lang=`), and the page list.  A new page is a file in app_pages/ plus one st.Page line
below (and a link on app_pages/home.py).
"""

import streamlit as st

from lab.core.i18n import DEFAULT_LANG, LANG_KEY, LANGUAGES, _
from lab.core.state import forget_reconnected_tab, reconnected_string

st.set_page_config(page_title="Quantization Lab", page_icon=":material/biotech:", layout="wide")

# Language: from the URL on the first run of a session, then from the sidebar selector; a tab
# reconnected after a restart whose first edit is the selector sends the name it chose.
if LANG_KEY not in st.session_state:
    requested = st.query_params.get(LANG_KEY)
    from_url = requested if requested in LANGUAGES else DEFAULT_LANG
    chosen = {name: code for code, name in LANGUAGES.items()}.get(reconnected_string(LANG_KEY))
    if chosen and chosen != from_url:
        forget_reconnected_tab()  # its other values name options in the old language; its URL holds them
    st.session_state[LANG_KEY] = chosen or from_url
with st.sidebar:
    st.selectbox(":material/translate: " + _("Language"), list(LANGUAGES), key=LANG_KEY, format_func=LANGUAGES.__getitem__)
lang = st.session_state[LANG_KEY]
if lang == DEFAULT_LANG:
    if LANG_KEY in st.query_params:
        del st.query_params[LANG_KEY]
elif st.query_params.get(LANG_KEY) != lang:
    st.query_params[LANG_KEY] = lang

pages = [
    st.Page("app_pages/home.py", title=_("Home"), icon=":material/home:", default=True),
    st.Page("app_pages/learn.py", title=_("Learn"), icon=":material/route:", url_path="learn"),
    st.Page("app_pages/bits.py", title=_("Bit Inspector"), icon=":material/memory:", url_path="bits"),
    st.Page("app_pages/formats.py", title=_("Format Comparison"), icon=":material/compare_arrows:", url_path="formats"),
    st.Page("app_pages/tensor.py", title=_("Tensor Lab"), icon=":material/grid_on:", url_path="tensor"),
    st.Page("app_pages/model.py", title=_("PTQ studio"), icon=":material/model_training:", url_path="model"),
    st.Page("app_pages/llm.py", title=_("Language model"), icon=":material/chat:", url_path="llm"),
    st.Page("app_pages/amp.py", title=_("Mixed precision training"), icon=":material/speed:", url_path="amp"),
    st.Page("app_pages/qat.py", title=_("Quantization-aware training"), icon=":material/school:", url_path="qat"),
    st.Page("app_pages/cost.py", title=_("Smaller, not faster"), icon=":material/memory_alt:", url_path="cost"),
]
st.navigation(pages).run()
