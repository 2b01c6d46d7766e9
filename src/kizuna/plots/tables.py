"""Rich tables shared by the commands and the demos (presentation only)."""

from __future__ import annotations

import math
import sys
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

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


def _if_seen(row: RevisitStats, v: float) -> str:
    return _fmt_s(v) if row.seen else "unseen"


def _compact(title: str | None = None, caption: str | None = None) -> Table:
    """A table without vertical rules or edge padding: two spaces between columns, so ten short
    columns fit an 80-column terminal."""
    return Table(
        title=title,
        caption=caption,
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
        caption_justify="left",
    )


def revisit_table(
    rows: Iterable[RevisitStats], title: str, caption: str | None = None, breaks: Collection[int] = ()
) -> Group:
    """Two tables of the same rows, each narrow enough for 80 columns: revisit intervals, then
    response, freshness and coverage. A row with no access reads "unseen" where figures would be.
    A rule follows each row whose index is in `breaks` (areas | all targets | points)."""
    rows = list(rows)
    first = _compact(escape(title))
    second = _compact(caption=escape(caption) if caption else None)
    for col in ("area", "pts", "unseen", "rev/day", "mean revisit", "median", "p95 gap", "max gap"):
        first.add_column(col, justify="left" if col == "area" else "right", no_wrap=col != "area")
    for col in ("area", "mean response", "first access", "cov time %", "fresh %", "cov area %"):
        second.add_column(col, justify="left" if col == "area" else "right", no_wrap=col != "area")
    for i, r in enumerate(rows):
        name = escape(r.name)
        ends = i in breaks
        first.add_row(
            name,
            str(r.points),
            str(r.unseen_points),
            f"{r.revisits_per_day:.1f}",
            _if_seen(r, r.mean_revisit_s),
            _if_seen(r, r.median_revisit_s),
            _if_seen(r, r.p95_gap_s),
            _fmt_s(r.max_gap_s),
            end_section=ends,
        )
        second.add_row(
            name,
            # unseen: no request is answered in the period, so the figure is only a lower bound
            _fmt_s(r.mean_response_time_s) if r.seen else f">={_fmt_s(r.mean_response_time_s)}",
            _if_seen(r, r.time_to_first_access_s),
            f"{r.coverage_time_pct:.2f}",
            f"{r.fresh_time_pct:.1f}",
            f"{r.coverage_area_pct:.0f}",
            end_section=ends,
        )
    return Group(first, second)


def access_tables(
    rows: Sequence[Mapping[str, Any]], targets: Sequence[str], title: str, caption: str | None = None
) -> Group:
    """The windows of `eo access`, one table per target (in `targets` order) so no column repeats the
    target, narrow enough for 80 columns with satellite names of 20 characters: the year moves into
    the header when a table's windows share it; a target without access gets a line saying so."""
    by_target: dict[str, list[Mapping[str, Any]]] = {t: [] for t in targets}
    for r in rows:
        by_target[str(r["target"])].append(r)
    parts: list[Any] = [Text(title, style="bold")]
    for target, windows in by_target.items():
        if not windows:
            parts.append(Text(f"{target}: unseen, no access in the period", style="yellow"))
            continue
        revisits = max(int(w.get("revisit", 0)) for w in windows)
        table = _compact(escape(f"{target}: {len(windows)} windows, {revisits} revisits"))
        years = {str(w["start_utc"])[:4] for w in windows}
        one_year = len(years) == 1
        for header, justify, no_wrap in (
            ("satellite", "left", False),
            (f"start UTC\n{years.pop()}" if one_year else "start UTC", "left", True),
            ("dur s", "right", True),
            ("incidence deg\nstart/mid/end", "right", True),
            ("look", "left", True),
            ("range\nkm", "right", True),
            ("rev", "right", True),
        ):
            table.add_column(header, justify=justify, no_wrap=no_wrap)  # type: ignore[arg-type]
        for w in windows:
            when = str(w["start_utc"])[:19].replace("T", " ")
            table.add_row(
                escape(str(w["satellite"])),
                when[5:] if one_year else when,
                f"{w['duration_s']:.1f}",
                "/".join(
                    f"{w[k]:.0f}" for k in ("incidence_start_deg", "incidence_mid_deg", "incidence_end_deg")
                ),
                ("R " if w["look_side"] == "right" else "L ")
                + ("asc" if w["pass_direction"] == "ascending" else "desc"),
                f"{w['slant_range_mid_km']:.0f}",
                str(w.get("revisit", "")),
            )
        parts.append(table)
    if caption:
        parts.append(Text(caption, style="dim"))
    return Group(*parts)
