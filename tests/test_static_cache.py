"""tools/static_cache.py: Streamlit's frontend files from memory, gzipped once, byte-exact; every
other request, and every path that is not a plain file of the directory, goes to Streamlit."""

from __future__ import annotations

import asyncio
import gzip

import pytest

from tools.static_cache import Asset, PrecompressedStatic, install, static_dir


class App:
    """Stands for Streamlit's app: records what reached it."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope, receive, send) -> None:
        self.paths.append(scope["path"])
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b"app"})


def request(mw, path: str, *, method: str = "GET", headers: dict | None = None) -> tuple[int, dict, bytes]:
    sent = []

    async def send(msg):
        sent.append(msg)

    async def receive():
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": method, "path": path, "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]}
    asyncio.run(mw(scope, receive, send))
    head = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    return sent[0]["status"], head, b"".join(m.get("body", b"") for m in sent[1:])


@pytest.fixture
def site(tmp_path):
    js = "".join(f"function f{i}() {{ return {i}; }}\n" for i in range(400)).encode()
    (tmp_path / "static" / "js").mkdir(parents=True)
    (tmp_path / "static" / "js" / "main.abc123.js").write_bytes(js)
    (tmp_path / "static" / "media").mkdir()
    (tmp_path / "static" / "media" / "font.woff2").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "index.html").write_text("<html></html>")
    app = App()
    return PrecompressedStatic(app, directory=tmp_path), app, js


def test_gzip_when_accepted_and_the_bytes_are_the_files(site):
    mw, app, js = site
    status, head, body = request(mw, "/static/js/main.abc123.js", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert status == 200 and head["content-encoding"] == "gzip" and gzip.decompress(body) == js
    assert len(body) < len(js) / 5 and int(head["content-length"]) == len(body)
    assert head["cache-control"] == "public, immutable, max-age=31536000" and head["vary"] == "Accept-Encoding"
    assert head["content-type"].startswith(("application/javascript", "text/javascript"))
    status, head, body = request(mw, "/static/js/main.abc123.js")  # no Accept-Encoding: the file itself
    assert status == 200 and "content-encoding" not in head and body == js
    status, head, body = request(mw, "/static/js/main.abc123.js", headers={"Accept-Encoding": "gzip;q=0, br"})
    assert "content-encoding" not in head and body == js
    assert app.paths == []


def test_head_conditional_and_incompressible(site):
    mw, _app, js = site
    _s, head, _b = request(mw, "/static/js/main.abc123.js", headers={"Accept-Encoding": "gzip"})
    status, head2, body = request(mw, "/static/js/main.abc123.js", method="HEAD", headers={"Accept-Encoding": "gzip"})
    assert status == 200 and body == b"" and head2["content-length"] == head["content-length"]
    status, _h, body = request(mw, "/static/js/main.abc123.js", headers={"Accept-Encoding": "gzip", "If-None-Match": head["etag"]})
    assert status == 304 and body == b""
    status, _h, _b = request(mw, "/static/js/main.abc123.js", headers={"If-None-Match": head["etag"]})  # the gzip ETag is not the file's
    assert status == 200
    status, head, body = request(mw, "/static/media/font.woff2", headers={"Accept-Encoding": "gzip"})
    assert status == 200 and "content-encoding" not in head and body == bytes(range(256)) * 8


@pytest.mark.parametrize("path", [
    "/static/../index.html", "/static/js/../../index.html", "/static//js/main.abc123.js", "/static/js/missing.js",
    "/static/js", "/static/", "/static/js/main.abc123.js\x00", "/static/js\\main.abc123.js", "/index.html", "/tensor", "/_stcore/health",
])
def test_anything_else_goes_to_streamlit(site, path):
    mw, app, _js = site
    status, _h, body = request(mw, path)
    assert (status, body, app.paths) == (404, b"app", [path])


def test_other_methods_go_to_streamlit(site):
    mw, app, _js = site
    request(mw, "/static/js/main.abc123.js", method="POST")
    assert app.paths == ["/static/js/main.abc123.js"]


def test_each_file_is_read_once(site, monkeypatch):
    mw, _app, _js = site
    reads = []
    real = Asset.read
    monkeypatch.setattr(Asset, "read", classmethod(lambda cls, p: reads.append(p) or real(p)))

    async def many():
        async def send(msg):
            pass

        scope = {"type": "http", "method": "GET", "path": "/static/js/main.abc123.js", "headers": [(b"accept-encoding", b"gzip")]}
        await asyncio.gather(*(mw(scope, None, send) for _ in range(20)))

    asyncio.run(many())
    assert len(reads) == 1


def test_base_url_and_the_real_build():
    app = App()
    mw = PrecompressedStatic(app, base_url="/lab/")
    js = sorted((static_dir() / "static" / "js").glob("index.*.js"))[0]
    status, head, body = request(mw, f"/lab/static/js/{js.name}", headers={"Accept-Encoding": "gzip"})
    assert status == 200 and gzip.decompress(body) == js.read_bytes()
    request(mw, f"/static/js/{js.name}")
    assert app.paths == [f"/static/js/{js.name}"]


def test_install_wraps_streamlits_app_once():
    from streamlit.web.server.starlette import starlette_server

    before = starlette_server.create_starlette_app
    try:
        install()
        install()
        wrapped = starlette_server.create_starlette_app
        assert wrapped is not before and getattr(wrapped, "_precompressed", False)
    finally:
        starlette_server.create_starlette_app = before
