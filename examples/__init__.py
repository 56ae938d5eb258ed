"""Example bots built on :mod:`snekomatic.gh`, each served by ``snekomatic run examples.NAME.bot:app``
from the repository's root (see each one's README)."""
