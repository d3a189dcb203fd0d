"""The app layer of the Quantization Lab: translations (i18n), URL state (state), cached
quantlib wrappers (cached), shared widgets (widgets), display formatting (display) and
worked explanations (explain).  Pages import from here; quantlib never imports this."""
