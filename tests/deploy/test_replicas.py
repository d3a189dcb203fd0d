"""Two replicas behind nginx, as compose.yaml runs them, on loopback and without a container engine.

Two `streamlit run app.py` processes share one result cache (QLAB_CACHE_DIR) and Debian's nginx runs
deploy/nginx.conf itself, with only the replica addresses and the listening port replaced.

Which replica holds a session is read from the kernel, not from anything nginx or Streamlit says: a
replica's ESTABLISHED connections on its port (/proc/net/tcp) are its WebSockets (nginx keeps no
idle upstream connections), so a browser tab that opens its WebSocket adds one on exactly one port.
A route key is placed by opening a raw WebSocket handshake through nginx with that cookie.
"""

from __future__ import annotations

import base64
import http.client
import os
import pwd
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.lab_server import LabServer, tail, wait_for

from .conftest import NGINX

ROOT = Path(__file__).resolve().parents[2]
SITE_CONF = ROOT / "deploy" / "nginx.conf"
REPLICA_NAMES = ("app1:8501", "app2:8501")  # as deploy/nginx.conf names them (compose services)
COOKIE = "qlab_route"
KEY_RE = re.compile(r"^[0-9a-f]{32}$")
STATE = '[data-testid="stApp"]'
# Every change of Streamlit's connection state (CONNECTED, PINGING_SERVER, CONNECTING, ...), in
# window.__qlabStates as [Date.now(), state]: a reconnect, however short, leaves a trace here.
RECORD_STATES = """
(() => {
  window.__qlabStates = [];
  let last = null;
  const look = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    const s = app && app.getAttribute('data-test-connection-state');
    if (s && s !== last) { last = s; window.__qlabStates.push([Date.now(), s]); }
  };
  new MutationObserver(look).observe(document, {subtree: true, childList: true, attributes: true,
                                                attributeFilter: ['data-test-connection-state']});
  setInterval(look, 50);
})();
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def established(port: int) -> set[int]:
    """Peer ports of the ESTABLISHED IPv4 connections accepted on local port ``port``."""
    peers = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state = fields[1], fields[2], fields[3]
        if state == "01" and int(local.rsplit(":", 1)[1], 16) == port:
            peers.add(int(remote.rsplit(":", 1)[1], 16))
    return peers


def Replica(name: str, port: int, log_dir: Path, cache_dir: Path) -> LabServer:
    """One `streamlit run app.py` on a loopback port; kill() is a crash, start() again a restart."""
    return LabServer(name, port, log_dir / f"{name}.log", env={"QLAB_CACHE_DIR": str(cache_dir), "QLAB_WORKERS": "1", "OPENBLAS_NUM_THREADS": "1"})


def _sub_code(text: str, old: str, new: str, count: int) -> str:
    """Replace ``old`` by ``new`` outside comments, exactly ``count`` times (else the config drifted)."""
    out, done = [], 0
    for line in text.splitlines(keepends=True):
        code, hash_, comment = line.partition("#")
        done += code.count(old)
        out.append(code.replace(old, new) + hash_ + comment)
    assert done == count, f"deploy/nginx.conf: expected {count} x {old!r} outside comments, found {done}"
    return "".join(out)


def loopback_config(tmp: Path, listen_port: int, replica_ports: list[int]) -> Path:
    """deploy/nginx.conf with loopback addresses, inside a main config whose pid, logs and temp
    files are all in ``tmp`` (nginx runs as the current user)."""
    site = SITE_CONF.read_text()
    for name, port in zip(REPLICA_NAMES, replica_ports, strict=True):
        site = _sub_code(site, name, f"127.0.0.1:{port}", 1)
    site = _sub_code(site, "listen 80;", f"listen 127.0.0.1:{listen_port};", 1)
    (tmp / "site.conf").write_text(site)
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""  # workers as this user too
    main = tmp / "nginx.conf"
    main.write_text(f"""
{user}
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/site.conf;
}}
""")
    return main


class Cluster:
    def __init__(self, replicas: list[Replica], port: int, tmp: Path) -> None:
        self.replicas, self.port, self.tmp = replicas, port, tmp
        self.url = f"http://127.0.0.1:{port}"

    def logs(self) -> str:
        parts = [f"== {r.name} (:{r.port})\n{tail(r.log_path)}" for r in self.replicas]
        parts.append(f"== nginx error.log\n{tail(self.tmp / 'error.log')}")
        return "\n".join(parts)

    def get(self, path: str, key: str | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path, headers={"Cookie": f"{COOKIE}={key}"} if key else {})
            resp = conn.getresponse()
            return resp.status, resp.headers, resp.read()
        finally:
            conn.close()

    def ws_open(self, key: str) -> socket.socket:
        """A WebSocket handshake through nginx with route key ``key``; the open socket."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        s.sendall(
            (
                "GET /_stcore/stream HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{self.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: streamlit\r\n"
                f"Cookie: {COOKIE}={key}\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                break
            head += chunk
        status = head.split(b"\r\n", 1)[0]
        assert b" 101 " in status, f"WebSocket handshake through nginx: {head[:300]!r}\n{self.logs()}"
        assert re.search(rb"(?im)^upgrade:\s*websocket", head), head[:300]
        return s

    def replica_of(self, key: str) -> int:
        """Index of the replica that nginx sends route key ``key`` to (its WebSocket appears there)."""
        ports = [r.port for r in self.replicas]
        before = [established(p) for p in ports]
        s = self.ws_open(key)
        try:
            gained = wait_for(
                lambda: [i for i, p in enumerate(ports) if established(p) - before[i]], 10, f"the WebSocket of key {key}"
            )
            assert len(gained) == 1, f"key {key}: new connections on {gained}"
            return gained[0]
        finally:
            s.close()
            wait_for(lambda: all(established(p) <= before[i] for i, p in enumerate(ports)), 10, "the probe to close")


@pytest.fixture(scope="module")
def cluster(deploy_tools, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("replicas")
    cache = tmp / "cache"  # the shared result cache, as the compose volume
    cache.mkdir()
    replicas = [Replica(f"app{i + 1}", _free_port(), tmp, cache) for i in range(2)]
    port = _free_port()
    conf = loopback_config(tmp, port, [r.port for r in replicas])
    nginx = None
    cl = Cluster(replicas, port, tmp)
    try:
        check = subprocess.run([NGINX, "-t", "-p", str(tmp), "-c", str(conf)], capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, f"nginx -t:\n{check.stdout}{check.stderr}"
        for r in replicas:
            r.start()
        with open(tmp / "nginx.out", "wb") as out:
            nginx = subprocess.Popen(
                [NGINX, "-p", str(tmp), "-c", str(conf), "-g", "daemon off;"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        for r in replicas:
            r.wait_healthy()

        def nginx_up() -> bool:
            assert nginx.poll() is None, f"nginx exited with {nginx.returncode}:\n{tail(tmp / 'nginx.out')}\n{tail(tmp / 'error.log')}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return False

        wait_for(nginx_up, 20, "nginx to listen")
        yield cl
    finally:
        print(cl.logs())
        if nginx is not None and nginx.poll() is None:
            nginx.terminate()
            try:
                nginx.wait(10)
            except subprocess.TimeoutExpired:
                nginx.kill()
                nginx.wait(5)
        for r in replicas:
            r.stop()


def test_proxy_gives_each_browser_a_route_key_and_keeps_to_it(cluster):
    # First request: a random 32-hex key in a session cookie (and the page, served through nginx).
    status, headers, body = cluster.get("/")
    assert status == 200 and b'id="root"' in body, (status, body[:200])
    cookies = [c for c in headers.get_all("Set-Cookie") or [] if c.startswith(f"{COOKIE}=")]
    assert len(cookies) == 1, headers.get_all("Set-Cookie")
    key = cookies[0].split(";")[0].split("=", 1)[1]
    assert KEY_RE.match(key), cookies[0]
    assert {"path=/", "httponly", "samesite=lax"} <= {a.strip().lower() for a in cookies[0].split(";")[1:]}
    # With it: no new cookie; a malformed one is replaced.
    _, headers, _ = cluster.get("/_stcore/health", key)
    assert not [c for c in headers.get_all("Set-Cookie") or [] if c.startswith(f"{COOKIE}=")]
    _, headers, _ = cluster.get("/_stcore/health", "not-a-key")
    assert [c for c in headers.get_all("Set-Cookie") or [] if c.startswith(f"{COOKIE}=") and KEY_RE.match(c.split(";")[0].split("=", 1)[1])]

    # Each key always reaches the same replica (3 WebSockets each); keys spread over both.
    seen: dict[int, list[str]] = {0: [], 1: []}
    for i in range(1, 40):
        k = f"{i:032x}"
        where = {cluster.replica_of(k) for _ in range(3)}
        assert len(where) == 1, f"key {k} went to replicas {where}"
        seen[where.pop()].append(k)
        if len(seen[0]) >= 2 and len(seen[1]) >= 2:
            break
    assert len(seen[0]) >= 2 and len(seen[1]) >= 2, seen


def wait_idle(page, timeout: float = 30_000) -> None:
    """As tests/e2e/conftest.py: the script has finished its run."""
    expect(page.locator(f'{STATE}[data-test-script-state="notRunning"]')).to_have_count(1, timeout=timeout)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=timeout)


def enter_value(page, value: str, hex_code: str) -> None:
    """A widget round trip over the WebSocket: the Bit Inspector's decimal box -> its float32 code."""
    box = page.get_by_role("textbox", name="Decimal value")
    box.fill(value)
    box.press("Enter")
    expect(page.get_by_text(hex_code, exact=True).first).to_be_visible(timeout=30_000)
    wait_idle(page)


def states_since(page, t0: float) -> list[str]:
    return [s for t, s in page.evaluate("window.__qlabStates") if t >= t0]


def test_sessions_stay_on_their_replica_and_a_restart_costs_only_its_own(cluster, new_context):
    a, b = cluster.replicas
    ports = [a.port, b.port]

    def counts() -> list[int]:
        return [len(established(p)) for p in ports]

    def open_tab(key: str | None) -> tuple:
        # no base_url here: pytest-playwright's session-wide context arguments may already hold
        # the e2e server's (tests/e2e/conftest.py), and a second one is a TypeError
        ctx = new_context()
        ctx.add_init_script(RECORD_STATES)
        if key:
            ctx.add_cookies([{"name": COOKIE, "value": key, "url": cluster.url}])
        before = counts()
        page = ctx.new_page()
        page.goto(cluster.url + "/")
        expect(page.get_by_role("heading", name="Quantization Lab", exact=True).first).to_be_visible(timeout=30_000)
        wait_idle(page)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        expect(page.locator(STATE)).to_have_attribute("data-test-connection-state", "CONNECTED")

        # its WebSocket: one more connection, on exactly one replica
        def grew() -> list[int] | None:
            now = counts()
            return [i for i in range(len(now)) if now[i] > before[i]] if sum(now) == sum(before) + 1 else None

        return ctx, page, wait_for(grew, 15, "the tab's WebSocket")[0]

    # A browser without a cookie: nginx gives it a key, and its WebSocket is where that key goes.
    ctx, page, where = open_tab(None)
    key = next(c["value"] for c in ctx.cookies() if c["name"] == COOKIE)
    assert KEY_RE.match(key)
    tabs = [(page, where)]
    assert cluster.replica_of(key) == where
    # Three more tabs with keys chosen so that each replica holds two sessions.
    need = {0: 2, 1: 2}
    need[where] -= 1
    keys = {0: [], 1: []}
    i = 100
    while any(len(keys[r]) < need[r] for r in need):
        i += 1
        k = f"{i:032x}"
        r = cluster.replica_of(k)
        if len(keys[r]) < need[r]:
            keys[r].append(k)
    for r, ks in keys.items():
        for k in ks:
            _, page, where = open_tab(k)
            assert where == r, f"key {k}: WebSocket on replica {where}, nginx sends the key to {r}"
            tabs.append((page, where))
    wait_for(lambda: counts() == [2, 2], 10, "two WebSockets per replica")

    # Every tab: a page link and a value typed, both round trips over its WebSocket.
    for page, _ in tabs:
        page.get_by_role("link", name="0.1 in float32: why it is not exactly 0.1").click()
        expect(page.get_by_text("0x3DCCCCCD", exact=True).first).to_be_visible(timeout=30_000)
        expect(page).to_have_url(re.compile(r"/bits\?"))
        wait_idle(page)
        enter_value(page, "0.5", "0x3F000000")
        expect(page.get_by_test_id("stException")).to_have_count(0)
    tabs_a = [p for p, r in tabs if r == 0]
    tabs_b = [p for p, r in tabs if r == 1]
    key_a, key_b = keys[0][0], keys[1][0]  # each replica got at least one chosen key
    wait_for(lambda: counts() == [2, 2], 10, "two WebSockets per replica")
    time.sleep(0.3)
    b_sockets = established(b.port)
    assert len(b_sockets) == 2, b_sockets
    marks = {id(p): p.evaluate("Date.now()") for p, _ in tabs}

    # Replica A crashes.  Its two tabs lose their connection, and keep retrying A (nginx does not
    # move them to B); A's key gets the "restarting" page, B's key B's answer.  B's tabs notice nothing.
    a.kill()
    for page in tabs_a:
        expect(page.locator(STATE)).not_to_have_attribute("data-test-connection-state", "CONNECTED", timeout=15_000)
    status, _, body = cluster.get("/_stcore/health", key_a)
    assert status == 503 and b"restarting" in body, (status, body)
    status, _, body = cluster.get("/_stcore/health", key_b)
    assert (status, body.strip()) == (200, b"ok")
    for page in tabs_b:
        enter_value(page, "-2", "0xC0000000")
        expect(page.get_by_test_id("stException")).to_have_count(0)
    for page in tabs_a:  # still waiting for A, a few seconds later
        expect(page.locator(STATE)).not_to_have_attribute("data-test-connection-state", "CONNECTED")
        assert any(s != "CONNECTED" for s in states_since(page, marks[id(page)]))
    assert counts()[1] == 2 and b_sockets <= established(b.port), "A's tabs must not move to B"

    # A restarts (same port): its tabs reconnect by themselves, to A, and work again.
    a.start()
    a.wait_healthy()
    for page in tabs_a:
        expect(page.locator(STATE)).to_have_attribute("data-test-connection-state", "CONNECTED", timeout=30_000)
    wait_for(lambda: counts() == [2, 2], 15, "A's tabs to reconnect to A")
    for page in tabs_a:
        # a new session on A; the tab still shows what the old one drew (/bits?format=float32&value=0.5)
        expect(page.get_by_text("0x3F000000", exact=True).first).to_be_visible(timeout=30_000)
        wait_idle(page)
        # Round trips on the new session: first a value typed (the new session's first run, see
        # tests/e2e/test_reconnect_browser.py), then to Home by the sidebar, back by a link, a value typed.
        enter_value(page, "-0.5", "0xBF000000")
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Home").click()
        expect(page.get_by_role("heading", name="Quantization Lab", exact=True).first).to_be_visible(timeout=30_000)
        wait_idle(page)
        page.get_by_role("link", name="0.1 in float32: why it is not exactly 0.1").click()
        expect(page.get_by_text("0x3DCCCCCD", exact=True).first).to_be_visible(timeout=30_000)
        wait_idle(page)
        enter_value(page, "2", "0x40000000")
        expect(page.get_by_test_id("stException")).to_have_count(0)

    # B's tabs: the same two TCP connections as before the crash, and never a state but CONNECTED.
    assert b_sockets <= established(b.port), "B's WebSockets were reconnected"
    for page in tabs_b:
        assert states_since(page, marks[id(page)]) == [], states_since(page, marks[id(page)])
        enter_value(page, "1", "0x3F800000")
        expect(page.get_by_test_id("stException")).to_have_count(0)
