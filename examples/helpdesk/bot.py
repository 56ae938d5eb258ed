"""helpdesk: an example bot on :mod:`snekomatic.gh` alone. It answers ``/help`` where it is written.

``/help`` lists the topics it knows; ``/help tests review`` answers with those topics. A body with
several ``/help`` lines gets one answer covering them all. The answer is tagged with what held the
command, so a redelivered webhook or a retried delivery never answers twice. Commands written by
bots are ignored.

From the repository's root, with no GitHub account (the GitHub simulator)::

    snekomatic dev --app examples.helpdesk.bot:app

For real, with the settings of ``snekomatic serve``::

    snekomatic run examples.helpdesk.bot:app
"""

from __future__ import annotations

from typing import Any

from snekomatic.gh import GitHubApp, HandlerContext, find_or_create_comment

TOPICS = {
    "tests": "Run `make test` in a checkout: it makes a virtualenv, starts a throwaway PostgreSQL"
    " and runs ruff, mypy and pytest.",
    "review": "A maintainer reviews new pull requests within a week. If yours waited longer,"
    " say so here.",
    "conduct": "Be kind and assume good faith; the maintainers enforce the code of conduct.",
}

app = GitHubApp()


@app.route_command("/help")
async def answer_help(ctx: HandlerContext) -> None:
    sender = ctx.payload["sender"]
    if sender.get("type") == "Bot":
        return
    asked = [topic.lower() for command in ctx.commands for topic in command.args]
    await find_or_create_comment(
        ctx.client,
        repo_full_name=ctx.payload["repository"]["full_name"],
        issue_number=_thread(ctx.payload)["number"],
        marker=f"help:{_source_key(ctx.payload)}",
        body=f"@{sender['login']}, " + help_text(asked),
    )


def help_text(asked: list[str]) -> str:
    """The answer to ``/help`` with the topics ``asked`` (none: the list of topics). Pure."""
    listing = ", ".join(f"`/help {topic}`" for topic in TOPICS)
    if not asked:
        return f"I can help with: {listing}."
    lines = [f"- **{topic}**: {TOPICS[topic]}" for topic in dict.fromkeys(asked) if topic in TOPICS]
    unknown = [topic for topic in dict.fromkeys(asked) if topic not in TOPICS]
    if unknown:
        lines.append(f"- I know nothing about {', '.join(unknown)}; try {listing}.")
    return "here you are:\n\n" + "\n".join(lines)


def _thread(payload: dict[str, Any]) -> dict[str, Any]:
    # issues and issue_comment carry the issue (a pull request's too); the pull request events do not
    thread: dict[str, Any] = payload.get("issue") or payload["pull_request"]
    return thread


def _source_key(payload: dict[str, Any]) -> str:
    for kind in ("comment", "review", "issue", "pull_request"):
        if kind in payload:
            return f"{kind}:{payload[kind]['id']}"
    raise ValueError("no comment, review, issue or pull request in the payload")
