"""The user guide's examples run as written (shell blocks through the CLI, Python blocks as code)."""

from __future__ import annotations

import glob
import os
import re
import shlex

from tests.conftest import REPO
from typer.testing import CliRunner

from kizuna.cli import app

GUIDE = (REPO / "docs" / "guide.md").read_text()


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", GUIDE, flags=re.S)


def test_shell_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    runner = CliRunner()
    db = str(tmp_path / "guide.db")
    for block in _blocks("sh"):
        for command in block.replace("\\\n", " ").strip().splitlines():
            command = command.split(">")[0]
            words = [w for w in shlex.split(command) if w]
            assert words[0] == "kizuna"
            args = []
            for w in words[1:]:
                args.extend(sorted(glob.glob(w)) if "*" in w else [db if w == "guide.db" else w])
            result = runner.invoke(app, args)
            assert result.exit_code == 0, (command, result.output)


def test_python_examples_run(monkeypatch):
    monkeypatch.chdir(REPO)
    for block in _blocks("python"):
        exec(compile(block, "docs/guide.md", "exec"), {"__name__": "guide"})  # noqa: S102
    assert os.getcwd() == str(REPO)
