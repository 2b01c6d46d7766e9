"""A live AIS feed as pipeline jobs (`pipeline.ais_stream`): the feed is read by
:class:`kizuna.ops.ais_stream.AisStream` (TCP with reconnects and jittered backoff, or UDP), and its
lines are written, every `batch_s` seconds or `batch_lines` lines, as one file into the watched `ais`
directory (under a dot name, then renamed in). Each batch is then an AIS job like a file dropped
there: stored by the same loader, its events found and published in the AOIs, restart-safe through
the ledger. Lines are kept as received, so nothing is decoded twice or differently.

With `arrival_time`, a sentence that arrives without a receiver time (no NMEA 4.0 tag block) gets one
(`c:` = the second it was read), the rule ``kizuna ais stream --arrival-time`` applies to such feeds;
without it such positions carry no time and are not stored, as with `ais load`.

Memory is bounded by the batch: at most `batch_lines` lines of at most 4 KiB each.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from pathlib import Path

from kizuna.ops.ais_stream import AisStream, Backoff, StreamConfig, StreamSource
from kizuna.store.ais_store import AisStore


@dataclass(frozen=True)
class StreamSettings:
    """`pipeline.ais_stream`: where to read and how to cut the feed into jobs."""

    source: StreamSource
    batch_s: float = 10.0
    batch_lines: int = 5000
    arrival_time: bool = False


def stamp(line: str, unix_s: int) -> str:
    """`line` with an NMEA 4.0 tag block holding receiver time `unix_s`, unless it has one already."""
    if not line.startswith("!"):
        return line
    body = f"c:{unix_s}"
    check = reduce(lambda a, c: a ^ ord(c), body, 0)
    return f"\\{body}*{check:02X}\\{line}"


class BatchWriter(AisStream):
    """AisStream's reader with a different sink: batches of raw lines into `directory`."""

    def __init__(
        self,
        store: AisStore,
        settings: StreamSettings,
        directory: Path,
        *,
        stop: threading.Event,
        log: Callable[[str], None] = lambda _m: None,
    ):
        config = StreamConfig(
            source=settings.source,
            flush_s=settings.batch_s,
            flush_messages=settings.batch_lines,
            backoff=Backoff(base_s=0.5, cap_s=60.0),
        )
        super().__init__(store, config, lambda _positions: [], stop=stop, log=log)
        self.settings, self.directory = settings, directory
        self._batch: list[str] = []
        self._seq = 0
        self.written: list[Path] = []

    def _decode(self) -> None:  # the job decodes the lines; here they are only collected
        if not self._lines:
            return
        lines, self._lines = self._lines, []
        self.status.lines += len(lines)
        if self.settings.arrival_time:
            now = int(time.time())
            lines = [stamp(line, now) for line in lines]
        self._batch += lines
        if len(self._batch) >= self.settings.batch_lines:
            self._flush()

    def _flush(self, final: bool = False) -> None:
        self._decode()
        self._last_flush = time.monotonic()
        if not self._batch:
            return
        batch, self._batch = self._batch, []
        self._seq += 1
        name = f"stream-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{self._seq:06d}.nmea"
        tmp = self.directory / f".{name}.part"
        tmp.write_text("\n".join(batch) + "\n", encoding="ascii", errors="replace")
        tmp.rename(self.directory / name)
        self.status.batches += 1
        self.written.append(self.directory / name)
        del self.written[:-100]  # the newest names only (tests and logs look at them)
