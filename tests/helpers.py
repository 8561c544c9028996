"""Helpers shared between test modules (conftest.py holds the fixtures)."""

# The default site's target languages (config.TARGET_LANGUAGES), as the domain functions take them.
TARGETS = ("kk", "en")
