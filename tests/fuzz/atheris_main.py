"""Coverage-guided fuzzing of the tests/fuzz properties with atheris (libFuzzer), when it is installed.

    .venv/bin/python -m tests.fuzz.atheris_main [--seconds N] [TARGET ...]

Each TARGET (default: all of :data:`TARGETS`) runs in its own process for N seconds (default 30):
libFuzzer mutates the byte string Hypothesis draws its examples from (``fuzz_one_input``), guided by
the branch coverage of ``snekomatic.gh`` and the parsers it uses, and the property's assertions are
the oracle. A failure prints the falsifying example, saves it in Hypothesis's example database (so
``make test`` replays it) and ends the run with a non-zero status. atheris is optional and not a
dependency: ``pip install atheris`` (it ships wheels with libFuzzer built in); without it this
prints one line and exits 0.
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
from typing import Any

# module:function, one property per fuzzed function family.
TARGETS = {
    "webhooks": "tests.fuzz.test_webhooks:test_envelope_accepts_exactly_what_parse_webhook_accepts",
    "webhooks-decode": "tests.fuzz.test_webhooks:test_parse_webhook_is_verify_then_decode",
    "signatures": "tests.fuzz.test_signatures:test_any_chunking_answers_as_the_whole",
    "commands": "tests.fuzz.test_commands:test_every_command_keeps_the_documented_shape",
    "urls": "tests.fuzz.test_urls:test_any_template_raises_only_documented_errors_and_stays_on_origin",
}
# Instrumented for coverage: the code under test, not the test machinery.
_INSTRUMENTED = ["snekomatic.gh", "markdown_it"]


def _fuzz_one(target: str, libfuzzer_args: list[str]) -> None:
    import atheris  # type: ignore[import-not-found]

    module_name, _, function_name = TARGETS[target].partition(":")
    with atheris.instrument_imports(include=_INSTRUMENTED):
        import snekomatic.gh.commands
        import snekomatic.gh.sansio  # noqa: F401
    test: Any = getattr(importlib.import_module(module_name), function_name)
    fuzz_one_input = test.hypothesis.fuzz_one_input

    def one_input(data: bytes) -> None:
        fuzz_one_input(data)

    atheris.Setup([sys.argv[0], *libfuzzer_args], one_input)
    atheris.Fuzz()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=30, help="per target (default 30)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # the child process: fuzz this target
    parser.add_argument("targets", nargs="*", metavar="TARGET", help=", ".join(TARGETS))
    args, libfuzzer_args = parser.parse_known_args()
    unknown = sorted(set(args.targets) - set(TARGETS))
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}: choose from {', '.join(TARGETS)}")
    if args.one:
        _fuzz_one(args.one, libfuzzer_args)
        return 0
    try:
        import atheris  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        print("atheris is not installed (pip install atheris): coverage-guided fuzzing skipped")
        return 0
    failed = []
    for target in args.targets or list(TARGETS):
        print(f"--- atheris: {target} for {args.seconds} s", flush=True)
        command = [
            sys.executable,
            "-m",
            "tests.fuzz.atheris_main",
            "--one",
            target,
            f"-max_total_time={args.seconds}",
            "-rss_limit_mb=4096",
            "-print_final_stats=1",
            "-max_len=16384",
        ]
        if subprocess.run(command, env={**os.environ}, check=False).returncode != 0:
            failed.append(target)
    if failed:
        print(f"atheris found failures in: {', '.join(failed)}")
        return 1
    print("atheris: no failures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
