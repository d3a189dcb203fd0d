"""Figure and table builders: quantlib objects in, plotly figures / pandas tables out.

Layer 2 of the lab (see README): imports quantlib, numpy, pandas and plotly, never
streamlit or ``lab``.  Every user-facing word comes from a ``labels`` mapping that the
page passes in already translated (English defaults in each module's ``LABELS``), so the
builders are pure functions that unit tests can call directly.
"""
