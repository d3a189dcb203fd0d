"""A test page for the PTQ studio's close-up tab before it is hooked into app_pages/model.py:
the URL read and written as lab.model.state will (lab.model.closeup.PARAMS), then render()."""

import streamlit as st

from lab.core.state import params_to_query, query_dict, read_params, url_is_new, write_url
from lab.model import closeup

PAGE = "model_closeup_test"
N_TEXTS = int(st.session_state.get("test_n_texts", closeup.DEFAULT_TEXTS))

if url_is_new(PAGE):
    for problem in read_params(query_dict(), closeup.PARAMS):
        st.warning(problem, icon=":material/link_off:")
closeup.render(n_texts=N_TEXTS)
write_url(PAGE, params_to_query(closeup.PARAMS))
