"""Loading a file reports progress inside the file, with the same counts as one big insert."""

from __future__ import annotations

from kizuna.demo import sample_files
from kizuna.store import CatalogStore, ingest


def _three_le(tmp_path):
    tle = next(p for p in sample_files() if p.suffix == ".3le")
    lines = tle.read_text().splitlines()
    records = ["\n".join(lines[i : i + 3]) for i in range(0, len(lines) - 2, 3)]
    # The first record again at the end: a duplicate that falls in a later chunk.
    path = tmp_path / "with_dup.3le"
    path.write_text("\n".join(records + records[:1]) + "\n")
    return path, len(records)


def test_progress_inside_a_file_and_exact_counts_across_chunks(tmp_path, monkeypatch):
    path, n_records = _three_le(tmp_path)
    whole = ingest.load_file(CatalogStore(str(tmp_path / "whole.db")), path)

    monkeypatch.setattr(ingest, "PROGRESS_CHUNK_RECORDS", 100)
    calls: list[tuple[int, int]] = []
    chunked = ingest.load_file(
        CatalogStore(str(tmp_path / "chunked.db")), path, progress=lambda d, t: calls.append((d, t))
    )

    assert (chunked.loaded, chunked.duplicates, chunked.rejected) == (
        whole.loaded,
        whole.duplicates,
        whole.rejected,
    )
    assert chunked.loaded == n_records and chunked.duplicates == 1
    done = [d for d, _ in calls]
    assert done[0] == 0 and done == sorted(done) and len(calls) >= n_records // 100
    assert calls[-1] == (n_records + 1, n_records + 1)
