"""`VerifierPool.worker_pids`: none before the first batch, then the started workers (what the sharing
benchmark reads their CPU time from), none again after close."""

from __future__ import annotations

import os

from kizuna.share.verifier import VerifierPool


def test_worker_pids_are_the_started_workers():
    pool = VerifierPool(workers=1)
    try:
        assert pool.worker_pids() == []
        pool._started()
        pids = pool.worker_pids()
        assert len(pids) == 1 and pids[0] != os.getpid()
        os.kill(pids[0], 0)  # a live process
    finally:
        pool.close()
    assert pool.worker_pids() == []
