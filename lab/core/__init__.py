"""The shared app layer: i18n, URL state, caches, widgets, display."""
