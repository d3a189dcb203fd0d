"""The app layer of the Quantization Lab (streamlit; quantlib never imports it).

``lab/core/``: translations (``i18n``), URL state (``state``), shared caches (``cached``),
shared widgets (``widgets``) and number formatting (``display``).  One folder per page
(``bits``, ``formats``, ``tensor``, ``model``, ``amp``, ``qat``), with the same file names for
the same roles: ``state`` (session keys, URL <-> state), ``cached`` (quantlib work cached for
every session), ``widgets`` and ``display`` (words and formatting)."""
