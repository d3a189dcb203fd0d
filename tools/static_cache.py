"""Streamlit's frontend files from memory, gzipped once: an ASGI middleware for ``tools/serve.py``.

Streamlit serves its hashed frontend bundles (``/static/js/...``, ``/static/css/...``) from disk
and uncompressed: it keeps them out of its gzip middleware because Starlette's GZipMiddleware
compresses every response again, which cost load time and memory.  A first visit to /tensor
fetches 135 such files, 9.5 MB; gzipped they are 2.95 MB.  Forty students opening the lab in
the same minute on a classroom's Wi-Fi then wait for 118 MB instead of 380 MB, and the one
Python process answers each file from memory instead of stat-ing, opening and reading it.

Each file is read and compressed once, on its first request, in a worker thread (the 4.7 MB
plotly bundle takes about 0.3 s at level 9), and kept: the directory is the installed package's,
so it never changes while the server runs.  Anything else (pages, ``/_stcore/...``, media, a
path that is not a plain file inside the directory) goes to Streamlit unchanged.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Asset", "PrecompressedStatic", "static_dir"]

COMPRESSIBLE = (".js", ".mjs", ".css", ".svg", ".json", ".map", ".txt", ".html", ".ttf", ".otf")
"""Suffixes worth gzipping (woff2, png and the like are compressed already)."""
MIN_GZIP_BYTES = 1024
CACHE_CONTROL = b"public, immutable, max-age=31536000"  # Streamlit's own for hashed assets
LEVEL = 9


def static_dir() -> Path:
    """The frontend build of the installed Streamlit (``streamlit/static``)."""
    import streamlit

    return Path(streamlit.__file__).resolve().parent / "static"


@dataclass(frozen=True)
class Asset:
    """One file's response: its bytes, gzipped bytes (None when not worth it), type and ETag."""

    raw: bytes
    gz: bytes | None
    content_type: bytes
    etag: bytes

    @classmethod
    def read(cls, path: Path) -> Asset:
        """Read and compress ``path``: e.g. a 12,276-byte CSS file -> about 2,900 gzipped bytes."""
        raw = path.read_bytes()
        gz = None
        if path.suffix.lower() in COMPRESSIBLE and len(raw) >= MIN_GZIP_BYTES:
            packed = gzip.compress(raw, compresslevel=LEVEL, mtime=0)
            gz = packed if len(packed) < len(raw) else None
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype in ("application/javascript", "application/json", "image/svg+xml"):
            ctype += "; charset=utf-8"
        return cls(raw, gz, ctype.encode("latin-1"), b'"' + hashlib.sha1(raw).hexdigest()[:20].encode() + b'"')


def _accepts_gzip(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name.lower() == b"accept-encoding":
            for part in value.lower().split(b","):
                coding, _, q = part.strip().partition(b";")
                if coding.strip() in (b"gzip", b"*") and q.strip().replace(b" ", b"") not in (b"q=0", b"q=0.0", b"q=0.00", b"q=0.000"):
                    return True
    return False


def _header(headers: list[tuple[bytes, bytes]], wanted: bytes) -> bytes | None:
    return next((v for k, v in headers if k.lower() == wanted), None)


class PrecompressedStatic:
    """``PrecompressedStatic(app, directory=static_dir(), base_url="")``: GET and HEAD requests for
    ``<base_url>/static/<file>`` answered from memory (gzip when the client accepts it, 304 for a
    matching ``If-None-Match``); every other request passed to ``app``."""

    def __init__(self, app, *, directory: Path | None = None, base_url: str = "") -> None:
        self.app = app
        self.root = (directory or static_dir()).resolve()
        base = "/" + base_url.strip("/") if base_url.strip("/") else ""
        self.prefix = base + "/static/"
        self._assets: dict[str, Asset | None] = {}
        self._loading: dict[str, asyncio.Future] = {}

    def _file(self, rel: str) -> Path | None:
        """The plain file ``static/<rel>`` inside the directory, or None (traversal, odd names)."""
        if not rel or "\\" in rel or "\x00" in rel or "//" in rel or any(p in ("", ".", "..") for p in rel.split("/")):
            return None
        path = (self.root / "static" / rel).resolve()
        if not path.is_relative_to(self.root / "static") or not path.is_file():
            return None
        return path

    async def asset(self, rel: str) -> Asset | None:
        """The cached :class:`Asset` of ``rel``; read (once, however many ask at the same time) in
        a worker thread."""
        if rel in self._assets:
            return self._assets[rel]
        if rel in self._loading:
            return await asyncio.shield(self._loading[rel])
        fut = asyncio.get_running_loop().create_future()
        self._loading[rel] = fut
        found = None
        try:
            path = self._file(rel)
            found = None if path is None else await asyncio.to_thread(Asset.read, path)
        except OSError:
            pass
        finally:  # whatever happened, the requests waiting for it get an answer (None: Streamlit's)
            del self._loading[rel]
            fut.set_result(found)
        self._assets[rel] = found
        return found

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith(self.prefix) and scope.get("method") in ("GET", "HEAD"):
            found = await self.asset(path[len(self.prefix):])
            if found is not None:
                await self._answer(found, scope, send)
                return
        await self.app(scope, receive, send)

    async def _answer(self, a: Asset, scope, send) -> None:
        headers = scope.get("headers", [])
        gz = a.gz is not None and _accepts_gzip(headers)
        etag = a.etag[:-1] + b'-gz"' if gz else a.etag
        out = [(b"content-type", a.content_type), (b"cache-control", CACHE_CONTROL), (b"etag", etag)]
        if a.gz is not None:
            out.append((b"vary", b"Accept-Encoding"))
        if (_header(headers, b"if-none-match") or b"").strip() in (etag, b"*"):
            await send({"type": "http.response.start", "status": 304, "headers": out})
            await send({"type": "http.response.body", "body": b""})
            return
        body = a.gz if gz else a.raw
        if gz:
            out.append((b"content-encoding", b"gzip"))
        out.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": out})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


def install() -> None:
    """Wrap the app Streamlit's server creates in :class:`PrecompressedStatic`."""
    from streamlit import config
    from streamlit.web.server.starlette import starlette_server

    create = starlette_server.create_starlette_app
    if getattr(create, "_precompressed", False):
        return

    def create_app(runtime):
        return PrecompressedStatic(create(runtime), base_url=config.get_option("server.baseUrlPath") or "")

    create_app._precompressed = True
    starlette_server.create_starlette_app = create_app
