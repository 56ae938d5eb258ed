"""helpdesk: answers ``/help`` in issues and pull requests (see ``bot.py`` and ``README.md``)."""
