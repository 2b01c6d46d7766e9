"""Load external files into the catalog store: read (formats) then write (store), one
transaction per file, bad records reported and skipped, good ones kept."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from kizuna.errors import FormatIssue
from kizuna.formats.detect import read_bytes, read_path
from kizuna.model.records import ElementSet, SpaceObject
from kizuna.store.catalog import CatalogStore, InsertCounts

_R = TypeVar("_R")


@dataclass
class LoadSummary:
    """The JSON summary `kizuna catalog load` prints."""

    loaded: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[FormatIssue] = field(default_factory=list)
    files: list[dict[str, object]] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.loaded + self.duplicates

    def as_dict(self, max_errors: int | None = None) -> dict[str, object]:
        errors = self.errors if max_errors is None else self.errors[:max_errors]
        out: dict[str, object] = {
            "loaded": self.loaded,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "errors": [e.as_dict() for e in errors],
            "files": self.files,
        }
        if max_errors is not None and len(self.errors) > max_errors:
            out["errors_not_shown"] = len(self.errors) - max_errors
        return out


# Records written per step of a file's transaction: small enough that a 30,000-object catalog shows
# its progress, large enough that the per-statement cost stays negligible.
PROGRESS_CHUNK_RECORDS = 2_000


def load_file(
    store: CatalogStore,
    path: str | Path,
    summary: LoadSummary | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LoadSummary:
    """Read one file and store its good records in one transaction.

    `progress(done, total)` is called as records are written (total = records read from the file),
    so a long load shows progress inside the file.
    """
    summary = summary or LoadSummary()
    started = datetime.now(UTC)
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError:
        raw = None
    # Read once: the same bytes are parsed and fingerprinted for the ingest log.
    result = read_bytes(raw, str(p)) if raw is not None else read_path(p)
    digest = hashlib.sha256(raw).hexdigest() if raw is not None else None
    loaded = duplicates = 0
    try:
        with store.transaction() as conn:
            element_sets = [r for r in result.records if isinstance(r, ElementSet)]
            objects = [r for r in result.records if isinstance(r, SpaceObject)]
            total, done = len(element_sets) + len(objects), 0
            if progress:
                progress(0, total)
            # Chunks share the file's transaction: a failure still rolls back the whole file, and
            # the (object, epoch) conflict rule sees rows of earlier chunks, so counts are exact.
            for n, counts in chain(
                _add_in_chunks(element_sets, store.add_element_sets, conn),
                _add_in_chunks(objects, store.add_space_objects, conn),
            ):
                loaded, duplicates = loaded + counts.loaded, duplicates + counts.duplicates
                done += n
                if progress:
                    progress(done, total)
            store.log_ingest(
                conn,
                file=str(p),
                fmt=result.format,
                sha256=digest,
                loaded=loaded,
                duplicates=duplicates,
                rejected=len(result.issues),
                started_utc=started,
            )
    except SQLAlchemyError as exc:
        # The transaction rolled back: nothing of this file is stored, so all of it is rejected.
        message = str(exc).splitlines()[0]
        summary.errors.append(FormatIssue(str(p), 0, "STORE", f"not stored: {message}"))
        summary.rejected += len(result.records) + len(result.issues)
        summary.errors.extend(result.issues)
        summary.files.append(
            {
                "file": str(p),
                "format": result.format,
                "loaded": 0,
                "duplicates": 0,
                "rejected": len(result.records) + len(result.issues),
            }
        )
        return summary
    summary.loaded += loaded
    summary.duplicates += duplicates
    summary.rejected += len(result.issues)
    summary.errors.extend(result.issues)
    summary.files.append(
        {
            "file": str(p),
            "format": result.format,
            "loaded": loaded,
            "duplicates": duplicates,
            "rejected": len(result.issues),
        }
    )
    return summary


def _add_in_chunks(
    records: Sequence[_R], add: Callable[[Sequence[_R], Connection], InsertCounts], conn: Connection
) -> Iterator[tuple[int, InsertCounts]]:
    """(records written, their counts) per chunk, written as the caller asks for the next one."""
    for start in range(0, len(records), PROGRESS_CHUNK_RECORDS):
        chunk = records[start : start + PROGRESS_CHUNK_RECORDS]
        yield len(chunk), add(chunk, conn)


def load_files(
    store: CatalogStore, paths: Iterable[str | Path], progress: Callable[[str], None] | None = None
) -> LoadSummary:
    summary = LoadSummary()
    for path in paths:
        load_file(store, path, summary)
        if progress:
            progress(str(path))
    return summary
