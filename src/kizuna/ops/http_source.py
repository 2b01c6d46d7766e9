"""HTTP sources of the live pipeline (`pipeline.http`): polled only when the config lists them.

Each source is fetched every `every_s` with a conditional request (``If-None-Match`` with the last
``ETag``, ``If-Modified-Since`` with the last ``Last-Modified``), so an unchanged document costs a
304 and no body. A body becomes a file in the watched directory of the source's kind, written under a
dot name and renamed in, so it takes the same job path as a file dropped there: the same content is
the same job (keyed by its SHA-256), whatever its name.

Limits come before work: a ``Content-Length`` over `max_bytes` is refused without reading the body,
and a body without one is read in 1 MiB chunks and abandoned as soon as it passes `max_bytes`.
Connect and read timeouts are `timeout_s` each, and the whole answer must arrive within four times
that (a server trickling one byte a second would otherwise hold the loop). A failure (network,
status other than 200/304, size) is logged and the source waits with exponential backoff and full
jitter, capped at one hour, before its next try; a success returns it to `every_s`.

Validators are kept in the node's database when the poller is given one (`validators`, as the
pipeline does): a restarted node's first fetch is conditional too. Without it they live in memory, and
an unconditional body, when unchanged, lands under the same content-derived name and is the same job.
"""

from __future__ import annotations

import hashlib
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import httpx

from kizuna.ops.pipeline import HttpSource
from kizuna.store.pipeline_jobs import HttpValidators

CHUNK = 1 << 20
BACKOFF_CAP_S = 3600.0
USER_AGENT = "kizuna-pipeline"


class FetchRefused(Exception):
    """A fetch that did not produce a body to keep (status, size, time)."""


@dataclass
class _State:
    source: HttpSource
    due_s: float = 0.0
    failures: int = 0
    etag: str | None = None
    last_modified: str | None = None
    last_status: str = "never fetched"


def _suffix(url: str) -> str:
    """The URL path's extension (kept so the readers that look at one see it), else `.dat`."""
    suffix = PurePosixPath(urlsplit(url).path).suffix
    ok = suffix and len(suffix) <= 8 and suffix[1:].isalnum()
    return suffix.lower() if ok else ".dat"


class HttpPoller:
    """Fetches the due sources into their kinds' directories (`watch`: kind -> directory)."""

    def __init__(
        self,
        sources: Sequence[HttpSource],
        watch: dict[str, Path],
        log: Callable[[str], None] = lambda _m: None,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        validators: HttpValidators | None = None,
    ):
        self.states = [_State(s) for s in sources]
        self.validators = validators
        if validators is not None:
            for st in self.states:
                st.etag, st.last_modified = validators.load(st.source.url)
        self.watch, self.log, self.clock = watch, log, clock
        self._client = httpx.Client(
            headers={"User-Agent": USER_AGENT}, follow_redirects=False, transport=transport
        )

    def close(self) -> None:
        self._client.close()

    def poll(self) -> list[Path]:
        """Fetch every source that is due; the files written now (a 304 or a failure writes none)."""
        written = []
        for st in self.states:
            now = self.clock()
            if now < st.due_s:
                continue
            try:
                path = self._fetch(st)
            except (FetchRefused, httpx.HTTPError, OSError) as exc:
                st.failures += 1
                wait = random.uniform(0.0, min(BACKOFF_CAP_S, st.source.every_s * 2 ** min(st.failures, 30)))
                st.due_s = self.clock() + max(wait, 1.0)
                st.last_status = f"failed ({type(exc).__name__}: {exc})"
                self.log(f"pipeline http {st.source.url}: {st.last_status}; next try in {wait:.0f} s")
                continue
            st.failures = 0
            st.due_s = self.clock() + st.source.every_s
            if path is not None:
                written.append(path)
        return written

    def _fetch(self, st: _State) -> Path | None:
        src = st.source
        headers = {}
        if st.etag:
            headers["If-None-Match"] = st.etag
        if st.last_modified:
            headers["If-Modified-Since"] = st.last_modified
        timeout = httpx.Timeout(src.timeout_s)
        deadline = time.monotonic() + 4 * src.timeout_s
        directory = self.watch[src.kind]
        tmp = directory / f".http-{os.getpid()}-{id(st):x}.part"
        with self._client.stream("GET", src.url, headers=headers, timeout=timeout) as resp:
            if resp.status_code == 304:
                st.last_status = "not modified"
                return None
            if resp.status_code != 200:
                raise FetchRefused(f"HTTP {resp.status_code}")
            declared = resp.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > src.max_bytes:
                raise FetchRefused(f"Content-Length {declared} is over max_bytes {src.max_bytes}")
            digest = hashlib.sha256()
            size = 0
            try:
                with tmp.open("wb") as out:
                    for chunk in resp.iter_bytes(CHUNK):
                        size += len(chunk)
                        if size > src.max_bytes:
                            raise FetchRefused(f"body passed max_bytes {src.max_bytes} while reading")
                        if time.monotonic() > deadline:
                            raise FetchRefused(f"body took longer than {4 * src.timeout_s:g} s")
                        digest.update(chunk)
                        out.write(chunk)
                sha = digest.hexdigest()
                host = (urlsplit(src.url).hostname or "host").replace(":", "_")
                final = directory / f"http-{host}-{sha[:24]}{_suffix(src.url)}"
                os.replace(tmp, final)  # atomic: the watcher never sees a half-written body
            finally:
                tmp.unlink(missing_ok=True)
            st.etag = resp.headers.get("ETag")
            st.last_modified = resp.headers.get("Last-Modified")
            if self.validators is not None:  # after the body is in place: a crash costs a refetch only
                self.validators.save(src.url, st.etag, st.last_modified)
            st.last_status = f"fetched {size} bytes"
            return final
