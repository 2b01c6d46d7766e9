"""Rich tables shared by the commands and the demos (presentation only)."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from kizuna.eo.revisit import RevisitStats

# Wide enough that no table of ours is ever cut when output goes to a pipe or a file; rich sizes
# tables to their content, not to this.
PIPE_WIDTH = 10_000
RULE_WIDTH = 100


class ReadableConsole(Console):
    """A console whose tables are never cut when piped, while rules stay a readable length."""

    def rule(self, *args: Any, **kwargs: Any) -> None:
        if self.width <= RULE_WIDTH or self.is_terminal:
            super().rule(*args, **kwargs)
            return
        saved = self.width
        self.width = RULE_WIDTH
        try:
            super().rule(*args, **kwargs)
        finally:
            self.width = saved


def make_console(stderr: bool = False) -> Console:
    """Terminal width on a terminal; full width (nothing cut) on a pipe or a file."""
    stream = sys.stderr if stderr else sys.stdout
    is_tty = hasattr(stream, "isatty") and stream.isatty()
    return ReadableConsole(stderr=stderr, width=None if is_tty else PIPE_WIDTH, soft_wrap=not is_tty)


def _fmt_s(v: float) -> str:
    if not math.isfinite(v):
        return "-"
    return f"{v / 60:.1f} min" if v < 7200 else f"{v / 3600:.2f} h"


def revisit_table(rows: Iterable[RevisitStats], title: str) -> Table:
    table = Table(title=title)
    for col in (
        "area",
        "pts",
        "acc/day",
        "mean revisit",
        "median",
        "p95 gap",
        "max gap",
        "mean wait",
        "first access",
        "cov time %",
        "cov area %",
    ):
        table.add_column(col, justify="left" if col == "area" else "right")
    for r in rows:
        table.add_row(
            r.name,
            str(r.points),
            f"{r.accesses_per_day:.1f}",
            _fmt_s(r.mean_revisit_s),
            _fmt_s(r.median_revisit_s),
            _fmt_s(r.p95_gap_s),
            _fmt_s(r.max_gap_s),
            _fmt_s(r.mean_wait_s),
            _fmt_s(r.time_to_first_access_s),
            f"{r.coverage_time_pct:.2f}",
            f"{r.coverage_area_pct:.0f}",
        )
    return table
