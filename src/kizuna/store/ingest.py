"""Load external files into the catalog store: read (formats) then write (store), one
transaction per file, bad records reported and skipped, good ones kept."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from kizuna.errors import FormatIssue
from kizuna.formats.detect import read_bytes, read_path
from kizuna.model.records import ElementSet, SpaceObject
from kizuna.store.catalog import CatalogStore


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


def load_file(store: CatalogStore, path: str | Path, summary: LoadSummary | None = None) -> LoadSummary:
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
            if element_sets:
                counts = store.add_element_sets(element_sets, conn)
                loaded, duplicates = loaded + counts.loaded, duplicates + counts.duplicates
            if objects:
                counts = store.add_space_objects(objects, conn)
                loaded, duplicates = loaded + counts.loaded, duplicates + counts.duplicates
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


def load_files(
    store: CatalogStore, paths: Iterable[str | Path], progress: Callable[[str], None] | None = None
) -> LoadSummary:
    summary = LoadSummary()
    for path in paths:
        load_file(store, path, summary)
        if progress:
            progress(str(path))
    return summary
