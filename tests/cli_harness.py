"""Shared checks for the command-line contract (see kizuna.cli._common).

`refused(args)` runs a command in-process and asserts the contract for bad input: exit code 2,
exactly one non-empty line on stderr starting with "error:", no traceback anywhere, and nothing
written to stdout. Table-driven hostile-value tests call it once per (command, option, value).
"""

from __future__ import annotations

from collections.abc import Sequence

from typer.testing import CliRunner

from kizuna.cli import app

runner = CliRunner()

# Values every numeric option is tried with; each test adds the ones its option must refuse.
NOT_A_NUMBER = ("nan", "inf", "-inf", "abc", "")
MALFORMED_TIMES = (
    "yesterday",
    "2026-13-01T00:00:00Z",
    "2026-07-10T25:00:00",
    "2262-05-01T00:00:00Z",
    "1800-01-01",
)


def invoke(args: Sequence[str], input: str | None = None):  # noqa: ANN201 - click Result
    return runner.invoke(app, list(args), input=input)


def refused(args: Sequence[str], *, contains: str | None = None):  # noqa: ANN201
    """Run `kizuna ARGS`; assert the one-line refusal contract; return the result."""
    result = invoke(args)
    stderr = result.stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    where = f"kizuna {' '.join(args)}"
    assert result.exit_code == 2, (
        f"{where}: exit {result.exit_code}, stderr={stderr!r} stdout={result.stdout!r}"
    )
    assert "Traceback" not in result.output, f"{where}: traceback\n{result.output}"
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{where}: raised {result.exception!r}"
    )
    error_lines = [ln for ln in lines if ln.startswith("error:")]
    assert len(error_lines) == 1, f"{where}: want one error line, stderr={stderr!r}"
    assert not [ln for ln in lines if not ln.startswith(("error:", "warning:"))], (
        f"{where}: extra stderr lines {stderr!r}"
    )
    assert result.stdout.strip() == "", f"{where}: printed results on a refusal: {result.stdout[:200]!r}"
    if contains is not None:
        assert contains.lower() in error_lines[0].lower(), f"{where}: {error_lines[0]!r} lacks {contains!r}"
    return result


def complete_numbers(text: str) -> None:
    """Piped output is never cut: no ellipsis anywhere."""
    assert "…" not in text and "..." not in text, f"cut output: {text[:500]!r}"
