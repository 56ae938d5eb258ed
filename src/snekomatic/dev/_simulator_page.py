"""The GitHub simulator's HTML: the page and its state part, rendered from :func:`simulator_state` data.

Everything is inline (the look of :mod:`snekomatic.webpage` and a little vanilla JavaScript): no build
step, nothing fetched from elsewhere. The script polls the state part every second, as the acting
user (``?as=login``: the merge buttons are theirs to press or not), and swaps it in when it changed,
keeping what was typed into comment boxes. When the simulator stops answering, the page says so and
greys out what it shows; when a new run answers at the same address (its ``x-simulator-run`` header
differs), the page reloads. Elements tests look for carry ``data-testid`` (and ``data-pr``,
``data-author``, ``data-login``... to tell them apart). Every value from the state is HTML-escaped;
comments and descriptions are rendered as Markdown with HTML escaped, as GitHub renders them.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import re
from typing import Any

from markdown_it import MarkdownIt

from snekomatic.webpage import webpage

__all__ = [
    "HEADER_RUN",
    "default_acting_user",
    "render_markdown",
    "render_page",
    "render_state_html",
]

#: The response header carrying the run's id: a page seeing another id reloads (a new run, a new world).
HEADER_RUN = "x-simulator-run"

# GitHub renders Markdown and shows nothing of an HTML comment (bots hide their markers in them).
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


@functools.cache
def _markdown() -> MarkdownIt:
    # CommonMark with GitHub's tables and strikethrough; raw HTML is escaped, not passed through, and
    # markdown-it refuses javascript:, vbscript:, file: and data: links.
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def render_markdown(body: str) -> str:
    """``body`` as GitHub shows it, roughly: HTML comments hidden, the rest rendered as Markdown with
    any HTML in it escaped. Pure."""
    rendered: str = _markdown().render(_HTML_COMMENT.sub("", body).strip())
    return rendered


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
        f'<div class="body markdown" data-testid="comment-body">{render_markdown(comment["body"])}'
        f"</div>{_reactions_html(comment['reactions'])}</li>"
    )


def _merge_button_html(
    full_name: str, pr: dict[str, Any], url: str, *, writers: list[str], acting: str
) -> str:
    ref = f"{full_name}#{pr['number']}"
    if pr["state"] != "open":
        return ""
    allowed = acting in writers
    refusal = (
        ""
        if allowed
        else f" disabled title=\"{_e(acting)} cannot merge: only people with write access to "
        f"{_e(full_name)} can ({_e(', '.join(writers) or 'nobody')})\""
    )
    note = (
        ""
        if allowed
        else f' <small data-testid="merge-refusal">only people with write access can merge: '
        f"{_e(', '.join(writers) or 'nobody')}</small>"
    )
    return (
        f'<button type="button" class="merge" data-testid="merge-button" data-pr="{_e(ref)}" '
        f'data-url="{_e(url)}"{refusal}>Merge pull request</button>{note}'
    )


def _decision_html(ref: str, decision: dict[str, str] | None) -> str:
    if decision is None:
        return ""
    return (
        f'<p class="decision {_e(decision["kind"])}" data-testid="decision" data-pr="{_e(ref)}" '
        f'data-kind="{_e(decision["kind"])}"><b>The bot:</b> {_e(decision["text"])}</p>'
    )


def _pull_html(repo: dict[str, Any], pr: dict[str, Any], api: str, acting: str) -> str:
    full_name = repo["full_name"]
    ref = f"{full_name}#{pr['number']}"
    base = f"{api}/repos/{full_name}"
    merged_by = f" by {_e(pr['merged_by'])}" if pr["merged_by"] else ""
    merge = _merge_button_html(
        full_name,
        pr,
        f"{base}/pulls/{pr['number']}/merge",
        writers=repo["writers"],
        acting=acting,
    )
    comments = "".join(_comment_html(c) for c in pr["comments"])
    body = f'<div class="body markdown">{render_markdown(pr["body"])}</div>' if pr["body"] else ""
    return (
        f'<article class="pull {_e(pr["state"])}" data-testid="pull" data-pr="{_e(ref)}" '
        f'data-author="{_e(pr["author"])}" data-state="{_e(pr["state"])}">'
        f"<h3>#{pr['number']} {_e(pr['title'])}</h3>"
        f'<p class="meta">opened by <b>{_e(pr["author"])}</b> · '
        f'<span class="state {_e(pr["state"])}" data-testid="pull-state">{_e(pr["state"])}'
        f"{merged_by}</span> {merge}</p>"
        f"{_decision_html(ref, pr['decision'])}"
        f"{body}{_reactions_html(pr['reactions'])}"
        f'<ol class="comments">{comments}</ol>'
        f'<form class="comment-form" data-testid="comment-form" data-pr="{_e(ref)}" '
        f'data-url="{_e(base)}/issues/{pr["number"]}/comments">'
        f'<textarea id="comment-{_e(ref)}" name="body" rows="2" data-testid="comment-input" '
        f'placeholder="Leave a comment as the acting user (try /ping)"></textarea>'
        f'<button type="submit" data-testid="comment-button">Comment</button></form></article>'
    )


def _org_html(org: dict[str, Any], install_path: str) -> str:
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
    installed = (
        "the app is installed"
        if org["installed"]
        else f'the app is not installed: <a href="{_e(install_path)}" '
        f'data-testid="install-link">install it</a>'
    )
    return (
        f'<section class="org" data-testid="org" data-org="{_e(org["login"])}">'
        f"<h2>Organization {_e(org['login'])} <small>({installed})</small></h2>"
        f'<div class="columns"><div><h4>Members</h4><ul>{members}</ul></div>'
        f'<div><h4>Invitations</h4><ul data-testid="invitations">{invitations}</ul></div></div>'
        f"</section>"
    )


def _local_time(iso: str) -> str:
    return dt.datetime.fromisoformat(iso).astimezone().strftime("%H:%M:%S")


def _deliveries_html(state: dict[str, Any]) -> str:
    watched = state["bot"] is not None
    rows = "".join(
        f'<tr data-testid="delivery" data-guid="{_e(d["guid"])}">'
        f'<td><time datetime="{_e(d["delivered_at"])}">{_e(_local_time(d["delivered_at"]))}'
        f"</time></td><td>{_e(d['event'])}.{_e(d['action'] or '')}</td>"
        f'<td data-testid="delivery-pull">{_e(d["pull"] or "")}</td>'
        f"<td>{_e(d['status_code'] or '')} {_e(d['status'])}</td>"
        + (f'<td data-testid="delivery-outcome">{_e(d["outcome"] or "")}</td>' if watched else "")
        + "</tr>"
        for d in state["deliveries"]
    )
    head = (
        "<tr><th>time</th><th>event</th><th>pull request</th><th>the bot answered</th>"
        + ("<th>what the bot did</th>" if watched else "")
        + "</tr>"
    )
    return (
        '<section class="deliveries"><h2>Webhooks sent to the bot (latest first)</h2>'
        f"<table>{head}{rows or '<tr><td>none yet</td></tr>'}</table></section>"
    )


def _banners_html(state: dict[str, Any]) -> str:
    banners = []
    bot = state["bot"]
    if bot is not None and bot["problem"]:
        problem = bot["problem"][:1].upper() + bot["problem"][1:]
        banners.append(
            f'<div class="banner" data-testid="bot-status" data-status="{_e(bot["status"])}">'
            f"{_e(problem)}: what the bot did is not shown.</div>"
        )
    latest = state["deliveries"][0] if state["deliveries"] else None
    if latest is not None and latest["status_code"] == 0 and state["app"]["webhook_url"]:
        banners.append(
            '<div class="banner error" data-testid="webhook-unanswered">The last webhook got no '
            f"answer from {_e(state['app']['webhook_url'])} ({_e(latest['status'])}): is the bot "
            "running?</div>"
        )
    return "".join(banners)


def render_state_html(state: dict[str, Any], *, api: str, acting: str) -> str:
    """The state part of the page: what is wrong with the bot, if anything; organizations; pull
    requests (newest first) with the bot's decisions and their comments; and the latest webhooks.
    ``api`` is the path the actions' URLs start with; ``acting`` the login of the acting user
    (merge buttons are disabled for someone without write access). Pure."""
    parts = [_banners_html(state)]
    parts += [_org_html(org, state["app"]["install_path"]) for org in state["orgs"]]
    for repo in state["repos"]:
        pulls = "".join(_pull_html(repo, pr, api, acting) for pr in reversed(repo["pulls"]))
        parts.append(
            f'<section class="repo" data-testid="repo" data-repo="{_e(repo["full_name"])}">'
            f"<h2>Pull requests in {_e(repo['full_name'])}</h2>"
            f"{pulls or '<p class=none>none</p>'}</section>"
        )
    parts.append(_deliveries_html(state))
    return "\n".join(part for part in parts if part)


def default_acting_user(state: dict[str, Any]) -> str:
    """Who acts when the page opens: the first active member of the first organization (a
    maintainer), else the first user. Pure."""
    people = [u["login"] for u in state["users"]]
    return next(
        (m["login"] for org in state["orgs"] for m in org["members"] if m["state"] == "active"),
        people[0] if people else "",
    )


def render_page(state: dict[str, Any], *, api: str, fragment_url: str, run: str) -> str:
    """The whole page: the acting-user picker, the new-pull-request form and the state part, as
    :func:`default_acting_user`. ``run`` is this run's id (see :data:`HEADER_RUN`). Pure."""
    acting = default_acting_user(state)
    users = "".join(
        f'<option value="{_e(u["login"])}"{" selected" if u["login"] == acting else ""}>'
        f"{_e(u['login'])}</option>"
        for u in state["users"]
    )
    repos = "".join(
        f'<option value="{_e(r["full_name"])}">{_e(r["full_name"])}</option>'
        for r in state["repos"]
    )
    webhook_url = state["app"]["webhook_url"] or "nowhere (no webhook URL is set)"
    intro = (
        f"A fake GitHub on this machine. The app's bot account is <b>{_e(state['app']['bot'])}</b>; "
        f"webhooks go to {_e(webhook_url)}. Merge a newcomer's pull request as a maintainer and "
        "watch the bot invite and thank them; comment <code>/ping</code> and it answers."
    )
    content = (
        '<div id="offline" class="banner error" data-testid="offline" hidden>The simulator is not '
        "answering at this address (has <code>snekomatic dev</code> stopped?). What you see below "
        "may be out of date; the page picks up again by itself once it answers.</div>\n"
        '<div class="controls">\n<label>Acting as\n'
        f'<select id="acting-user" data-testid="acting-user">{users}</select></label>\n'
        '<form id="open-pull" data-testid="open-pull-form">\n'
        "<h4>Open a pull request as the acting user</h4>\n"
        f'<select name="repo" data-testid="open-pull-repo">{repos}</select>\n'
        '<input name="title" data-testid="open-pull-title" placeholder="Title" required>\n'
        '<textarea name="body" rows="2" data-testid="open-pull-body" '
        'placeholder="Description (optional, Markdown)"></textarea>\n'
        '<button type="submit" data-testid="open-pull-button">Open pull request</button>\n'
        '</form>\n<p id="message" data-testid="message"></p>\n</div>\n'
        f'<div id="state" data-testid="state">{render_state_html(state, api=api, acting=acting)}'
        "</div>"
    )
    script = (
        SCRIPT.replace("{{FRAGMENT_URL}}", fragment_url)
        .replace("{{API}}", api)
        .replace("{{RUN}}", run)
        .replace("{{HEADER_RUN}}", HEADER_RUN)
    )
    return webpage("GitHub simulator", content, intro=intro, script=script)


# Placeholders are paths and ids made by the simulator itself, never text from the state.
SCRIPT = """
"use strict";
const stateBox = document.getElementById("state");
const message = document.getElementById("message");
const offline = document.getElementById("offline");
const actingUser = () => document.getElementById("acting-user").value;
const RUN = "{{RUN}}";
let lastState = stateBox.innerHTML;

function showOffline(stale) {
  offline.hidden = !stale;
  stateBox.classList.toggle("stale", stale);
}

async function refresh() {
  let response;
  try {
    response = await fetch("{{FRAGMENT_URL}}?as=" + encodeURIComponent(actingUser()),
      {cache: "no-store"});
  } catch (error) {
    showOffline(true);
    return;
  }
  const run = response.headers.get("{{HEADER_RUN}}");
  if (!response.ok || run === null) { showOffline(true); return; }
  if (run !== RUN) { location.reload(); return; }  // a new run: a new world, new people
  showOffline(false);
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
    message.textContent = "The simulator did not answer: " + String(error);
  }
  await refresh();
}

document.getElementById("acting-user").addEventListener("change", () => { refresh(); });

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-testid=merge-button]");
  if (button && !button.disabled) {
    button.disabled = true;
    act(button.dataset.url, {merged_by: actingUser()});
  }
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

setInterval(() => { refresh(); }, 1000);
"""
