"""The look of the pages snekomatic shows a person in a browser: the GitHub simulator
(:mod:`snekomatic.dev`) and the pages of ``snekomatic setup`` (:mod:`snekomatic.setup`).

One stylesheet, one favicon and one frame (a dark header with a title and a line under it, then the
content), all inline: the pages fetch nothing from elsewhere. Pure: no I/O. Callers escape what they
put in; :func:`webpage` escapes only the title.
"""

from __future__ import annotations

import html
from typing import Final
from urllib.parse import quote

__all__ = ["FAVICON_LINK", "FAVICON_SVG", "STYLESHEET", "webpage"]

#: A small snake-green square with an "s": the tab of every snekomatic page.
FAVICON_SVG: Final = (
    "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'>"
    "<rect width='16' height='16' rx='4' fill='#1f883d'/>"
    "<text x='8' y='12.5' font-size='13' font-family='sans-serif' font-weight='bold' "
    "text-anchor='middle' fill='#fff'>s</text></svg>"
)

STYLESHEET: Final = """
  body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1f2328; background: #f6f8fa; }
  header { background: #24292f; color: #fff; padding: 12px 24px; }
  header h1 { font-size: 20px; margin: 0 0 4px; }
  header p { margin: 0; color: #c9d1d9; font-size: 13px; }
  header a { color: #fff; } header code { background: #57606a; color: #fff; }
  main { max-width: 980px; margin: 0 auto; padding: 16px 24px 48px; }
  section, .controls { background: #fff; border: 1px solid #d0d7de; border-radius: 6px;
    padding: 12px 16px; margin: 12px 0; }
  h2 { font-size: 17px; margin: 4px 0 8px; } h3 { font-size: 15px; margin: 0; }
  h4 { margin: 4px 0; font-size: 13px; color: #57606a; }
  small { color: #57606a; font-weight: normal; }
  code { background: #eff1f3; border-radius: 4px; padding: 0 4px; font-size: 13px; }
  .columns { display: flex; gap: 32px; } ul { margin: 0; padding-left: 20px; }
  .tag { font-size: 12px; border-radius: 10px; padding: 0 6px; background: #ddf4ff; }
  .tag.pending { background: #fff8c5; }
  .pull { border-top: 1px solid #d0d7de; padding: 10px 0; }
  .meta { color: #57606a; margin: 2px 0 6px; }
  .state { border-radius: 10px; padding: 1px 8px; color: #fff; background: #1f883d; }
  .state.merged { background: #8250df; } .state.closed { background: #cf222e; }
  .markdown > :first-child { margin-top: 0; } .markdown > :last-child { margin-bottom: 0; }
  .markdown p { margin: 0 0 8px; }
  .comments { list-style: none; padding: 0; margin: 6px 0; }
  .comment { border: 1px solid #d0d7de; border-radius: 6px; margin: 6px 0; }
  .comment .meta { background: #f6f8fa; padding: 4px 10px; margin: 0;
    border-bottom: 1px solid #d0d7de; }
  .comment .body, .comment .reactions { padding: 6px 10px; }
  .reactions { font-size: 13px; color: #57606a; }
  .decision { border-left: 4px solid #d0d7de; padding: 2px 8px; margin: 6px 0; font-size: 14px; }
  .decision.invited { border-color: #1f883d; } .decision.not-invited { border-color: #9a6700; }
  .decision.failed { border-color: #cf222e; }
  .banner { border-radius: 6px; padding: 8px 12px; margin: 12px 0; background: #fff8c5;
    border: 1px solid #d4a72c; }
  .banner.error { background: #ffebe9; border-color: #ff8182; }
  .stale { opacity: 0.45; }
  textarea { width: 100%; box-sizing: border-box; font: inherit; }
  button, .button { font: inherit; border: 1px solid #1f883d; border-radius: 6px; padding: 2px 12px;
    background: #1f883d; color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
  button.merge { background: #8250df; border-color: #8250df; }
  button:disabled { background: #8c959f; border-color: #8c959f; cursor: not-allowed; }
  #message { min-height: 1.4em; margin: 4px 0 0; color: #cf222e; }
  table { border-collapse: collapse; }
  table td, table th { padding: 2px 12px 2px 0; font-size: 13px; text-align: left;
    vertical-align: top; }
  [hidden] { display: none !important; }
"""

#: The ``<link rel="icon">`` of :data:`FAVICON_SVG`, as a data URL (so no route serves it).
FAVICON_LINK: Final = (
    f'<link rel="icon" type="image/svg+xml" href="data:image/svg+xml,{quote(FAVICON_SVG)}">'
)


def webpage(title: str, content: str, *, intro: str = "", script: str = "") -> str:
    """A whole page: ``title`` (escaped here) in the tab and the header, ``intro`` (HTML) under it,
    ``content`` (HTML) in the main column, and ``script`` (JavaScript, trusted) at the end."""
    heading = html.escape(title)
    intro_html = f"<p>{intro}</p>" if intro else ""
    script_html = f"<script>\n{script}\n</script>\n" if script else ""
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{heading}</title>\n{FAVICON_LINK}\n<style>{STYLESHEET}</style>\n</head>\n"
        f"<body>\n<header><h1>{heading}</h1>{intro_html}</header>\n"
        f"<main>\n{content}\n</main>\n{script_html}</body>\n</html>\n"
    )
