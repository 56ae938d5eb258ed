"""The GitHub simulator's HTML: the page and its state part, rendered from :func:`simulator_state` data.

Everything is inline (CSS and a little vanilla JavaScript): no build step, nothing fetched from elsewhere.
The script polls the state part every second and swaps it in when it changed, keeping what was typed
into comment boxes. Elements tests look for carry ``data-testid`` (and ``data-pr``, ``data-author``,
``data-login``... to tell them apart). Every value from the state is HTML-escaped.
"""

from __future__ import annotations

import html
import re
from typing import Any

__all__ = ["render_page", "render_state_html"]

# GitHub renders Markdown and shows nothing of an HTML comment (bots hide their markers in them).
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _shown(body: str) -> str:
    """``body`` as GitHub shows it, roughly: HTML comments hidden, the rest as written."""
    return _HTML_COMMENT.sub("", body).strip()


def _reactions_html(reactions: list[dict[str, str]]) -> str:
    if not reactions:
        return ""
    items = ", ".join(f"{_e(r['content'])} by {_e(r['user'])}" for r in reactions)
    return f'<div class="reactions" data-testid="reactions">reactions: {items}</div>'


def _comment_html(comment: dict[str, Any]) -> str:
    return (
        f'<li class="comment" data-testid="comment" data-author="{_e(comment["author"])}" '
        f'data-comment-id="{_e(comment["id"])}">'
        f'<div class="meta"><b>{_e(comment["author"])}</b> commented</div>'
        f'<div class="body" data-testid="comment-body">{_e(_shown(comment["body"]))}</div>'
        f"{_reactions_html(comment['reactions'])}</li>"
    )


def _pull_html(full_name: str, pr: dict[str, Any], api: str) -> str:
    ref = f"{full_name}#{pr['number']}"
    base = f"{api}/repos/{full_name}"
    merged_by = f" by {_e(pr['merged_by'])}" if pr["merged_by"] else ""
    merge = (
        f'<button type="button" class="merge" data-testid="merge-button" data-pr="{_e(ref)}" '
        f'data-url="{_e(base)}/pulls/{pr["number"]}/merge">Merge pull request</button>'
        if pr["state"] == "open"
        else ""
    )
    comments = "".join(_comment_html(c) for c in pr["comments"])
    body = f'<div class="body">{_e(pr["body"])}</div>' if pr["body"] else ""
    return (
        f'<article class="pull {_e(pr["state"])}" data-testid="pull" data-pr="{_e(ref)}" '
        f'data-author="{_e(pr["author"])}" data-state="{_e(pr["state"])}">'
        f"<h3>#{pr['number']} {_e(pr['title'])}</h3>"
        f'<p class="meta">opened by <b>{_e(pr["author"])}</b> · '
        f'<span class="state {_e(pr["state"])}" data-testid="pull-state">{_e(pr["state"])}'
        f"{merged_by}</span> {merge}</p>"
        f"{body}{_reactions_html(pr['reactions'])}"
        f'<ol class="comments">{comments}</ol>'
        f'<form class="comment-form" data-testid="comment-form" data-pr="{_e(ref)}" '
        f'data-url="{_e(base)}/issues/{pr["number"]}/comments">'
        f'<textarea id="comment-{_e(ref)}" name="body" rows="2" data-testid="comment-input" '
        f'placeholder="Leave a comment as the acting user (try /ping)"></textarea>'
        f'<button type="submit" data-testid="comment-button">Comment</button></form></article>'
    )


def _org_html(org: dict[str, Any]) -> str:
    members = "".join(
        f'<li data-testid="member" data-login="{_e(m["login"])}" data-state="{_e(m["state"])}">'
        f'{_e(m["login"])} <span class="tag {_e(m["state"])}">{_e(m["state"])}</span>'
        f"{' (admin)' if m['role'] == 'admin' else ''}</li>"
        for m in org["members"]
    )
    invitations = (
        "".join(
            f'<li data-testid="invitation" data-invitee="{_e(i["invitee"])}">'
            f"<b>{_e(i['invitee'])}</b>, invited by {_e(i['inviter'])}</li>"
            for i in org["invitations"]
        )
        or '<li class="none">none yet</li>'
    )
    installed = "the app is installed" if org["installed"] else "the app is not installed"
    return (
        f'<section class="org" data-testid="org" data-org="{_e(org["login"])}">'
        f"<h2>Organization {_e(org['login'])} <small>({installed})</small></h2>"
        f'<div class="columns"><div><h4>Members</h4><ul>{members}</ul></div>'
        f'<div><h4>Invitations</h4><ul data-testid="invitations">{invitations}</ul></div></div>'
        f"</section>"
    )


def render_state_html(state: dict[str, Any], *, api: str) -> str:
    """The state part of the page: organizations, pull requests (newest first) with their comments,
    and the latest webhooks. ``api`` is the path the actions' URLs start with. Pure."""
    parts = [_org_html(org) for org in state["orgs"]]
    for repo in state["repos"]:
        pulls = "".join(_pull_html(repo["full_name"], pr, api) for pr in reversed(repo["pulls"]))
        parts.append(
            f'<section class="repo" data-testid="repo" data-repo="{_e(repo["full_name"])}">'
            f"<h2>Pull requests in {_e(repo['full_name'])}</h2>"
            f"{pulls or '<p class=none>none</p>'}</section>"
        )
    rows = "".join(
        f'<tr data-testid="delivery"><td>{_e(d["event"])}.{_e(d["action"] or "")}</td>'
        f"<td>{_e(d['status_code'] or '')} {_e(d['status'])}</td></tr>"
        for d in state["deliveries"]
    )
    parts.append(
        '<section class="deliveries"><h2>Webhooks sent to the bot (latest first)</h2>'
        f"<table>{rows or '<tr><td>none yet</td></tr>'}</table></section>"
    )
    return "\n".join(parts)


def render_page(state: dict[str, Any], *, api: str, fragment_url: str) -> str:
    """The whole page: the acting-user picker, the new-pull-request form and the state part. Pure.

    The acting user starts as the first active member of the first organization (a maintainer).
    """
    people = [u["login"] for u in state["users"]]
    default = next(
        (m["login"] for org in state["orgs"] for m in org["members"] if m["state"] == "active"),
        people[0] if people else "",
    )
    users = "".join(
        f'<option value="{_e(login)}"{" selected" if login == default else ""}>{_e(login)}</option>'
        for login in people
    )
    repos = "".join(
        f'<option value="{_e(r["full_name"])}">{_e(r["full_name"])}</option>'
        for r in state["repos"]
    )
    substitutions = {
        "{{USERS}}": users,
        "{{REPOS}}": repos,
        "{{BOT}}": _e(state["app"]["bot"]),
        "{{WEBHOOK_URL}}": _e(state["app"]["webhook_url"] or "nowhere (no webhook URL is set)"),
        "{{API}}": _e(api),
        "{{FRAGMENT_URL}}": _e(fragment_url),
        "{{STATE}}": render_state_html(state, api=api),  # last: its text is not searched again
    }
    page = PAGE
    for marker, value in substitutions.items():
        page = page.replace(marker, value)
    return page


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GitHub simulator</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1f2328; background: #f6f8fa; }
  header { background: #24292f; color: #fff; padding: 12px 24px; }
  header h1 { font-size: 20px; margin: 0 0 4px; }
  header p { margin: 0; color: #c9d1d9; font-size: 13px; }
  main { max-width: 980px; margin: 0 auto; padding: 16px 24px 48px; }
  section, .controls { background: #fff; border: 1px solid #d0d7de; border-radius: 6px;
    padding: 12px 16px; margin: 12px 0; }
  h2 { font-size: 17px; margin: 4px 0 8px; } h3 { font-size: 15px; margin: 0; }
  h4 { margin: 4px 0; font-size: 13px; color: #57606a; }
  small { color: #57606a; font-weight: normal; }
  .columns { display: flex; gap: 32px; } ul { margin: 0; padding-left: 20px; }
  .tag { font-size: 12px; border-radius: 10px; padding: 0 6px; background: #ddf4ff; }
  .tag.pending { background: #fff8c5; }
  .pull { border-top: 1px solid #d0d7de; padding: 10px 0; }
  .meta { color: #57606a; margin: 2px 0 6px; }
  .state { border-radius: 10px; padding: 1px 8px; color: #fff; background: #1f883d; }
  .state.merged { background: #8250df; } .state.closed { background: #cf222e; }
  .body { white-space: pre-wrap; }
  .comments { list-style: none; padding: 0; margin: 6px 0; }
  .comment { border: 1px solid #d0d7de; border-radius: 6px; margin: 6px 0; }
  .comment .meta { background: #f6f8fa; padding: 4px 10px; margin: 0;
    border-bottom: 1px solid #d0d7de; }
  .comment .body, .comment .reactions { padding: 6px 10px; }
  .reactions { font-size: 13px; color: #57606a; }
  textarea { width: 100%; box-sizing: border-box; font: inherit; }
  button { font: inherit; border: 1px solid #1f883d; border-radius: 6px; padding: 2px 12px;
    background: #1f883d; color: #fff; cursor: pointer; }
  button.merge { background: #8250df; border-color: #8250df; }
  #message { min-height: 1.4em; margin: 4px 0 0; color: #cf222e; }
  table td { padding: 1px 12px 1px 0; font-size: 13px; }
</style>
</head>
<body>
<header>
  <h1>GitHub simulator</h1>
  <p>A fake GitHub on this machine. The app's bot account is <b>{{BOT}}</b>;
     webhooks go to {{WEBHOOK_URL}}. Merge a newcomer's pull request and watch the bot invite and
     thank them; comment <code>/ping</code> and it answers.</p>
</header>
<main>
<div class="controls">
  <label>Acting as
    <select id="acting-user" data-testid="acting-user">{{USERS}}</select></label>
  <form id="open-pull" data-testid="open-pull-form">
    <h4>Open a pull request as the acting user</h4>
    <select name="repo" data-testid="open-pull-repo">{{REPOS}}</select>
    <input name="title" data-testid="open-pull-title" placeholder="Title" required>
    <textarea name="body" rows="2" data-testid="open-pull-body"
      placeholder="Description (optional)"></textarea>
    <button type="submit" data-testid="open-pull-button">Open pull request</button>
  </form>
  <p id="message" data-testid="message"></p>
</div>
<div id="state" data-testid="state">{{STATE}}</div>
</main>
<script>
"use strict";
const stateBox = document.getElementById("state");
const message = document.getElementById("message");
const actingUser = () => document.getElementById("acting-user").value;
let lastState = stateBox.innerHTML;

async function refresh() {
  const response = await fetch("{{FRAGMENT_URL}}", {cache: "no-store"});
  if (!response.ok) return;
  const text = await response.text();
  if (text === lastState) return;
  const typed = {};
  for (const box of stateBox.querySelectorAll("textarea")) typed[box.id] = box.value;
  const focused = document.activeElement && document.activeElement.id;
  stateBox.innerHTML = text;
  lastState = text;
  for (const [id, value] of Object.entries(typed)) {
    const box = document.getElementById(id);
    if (box) box.value = value;
  }
  if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
}

async function act(url, fields) {
  message.textContent = "";
  try {
    const response = await fetch(url, {method: "POST",
      headers: {"content-type": "application/json"}, body: JSON.stringify(fields)});
    if (!response.ok) message.textContent = (await response.json()).message;
  } catch (error) {
    message.textContent = String(error);
  }
  await refresh();
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-testid=merge-button]");
  if (button) { button.disabled = true; act(button.dataset.url, {merged_by: actingUser()}); }
});

document.addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  if (form.id === "open-pull") {
    const data = new FormData(form);
    act("{{API}}/pulls", {repo: data.get("repo"), title: data.get("title"),
      body: data.get("body"), author: actingUser()}).then(() => form.reset());
  } else if (form.dataset.url) {
    const box = form.querySelector("textarea");
    const body = box.value;
    box.value = "";
    act(form.dataset.url, {author: actingUser(), body: body});
  }
});

setInterval(() => { refresh().catch(() => {}); }, 1000);
</script>
</body>
</html>
"""
