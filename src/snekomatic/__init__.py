"""snekomatic: a Trio-powered GitHub App bot, and the GitHub App library it is built on (:mod:`snekomatic.gh`)."""

__version__ = "0.1.0.dev0"
