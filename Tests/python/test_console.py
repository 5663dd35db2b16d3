"""The web console's HTTP side against a real kato-server (the page itself is driven in Chromium by
test_console_browser.py): /console/ serves the embedded files with a strict Content-Security-Policy,
status.json reports health, sessions and call counters and needs credentials when the server does,
other paths are refused as before, the embedded files are current and the page's script never
builds HTML from strings."""
import http.client
import json
import re
import subprocess

import pytest

from conftest import ROOT, start_kato_server

ASSETS = ROOT / "Sources/KatoServer/Console/Assets"
KEYS = [{"principal": "admin", "key": "console-admin", "roles": ["admin"], "nodes": ["*"]},
        {"principal": "writer", "key": "console-writer", "roles": ["writer"], "nodes": ["mine"]}]


@pytest.fixture(scope="module")
def server(binaries, tmp_path_factory):
    keyfile = tmp_path_factory.mktemp("console") / "keys.json"
    keyfile.write_text(json.dumps(KEYS))
    s = start_kato_server(binaries, "--in-memory", "--auth-keys", str(keyfile))
    yield s
    s.stop()


def get(server, path, headers=None, method="GET", body=None):
    host, port = server.address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r, data


def post_json(server, path, body, key):
    return get(server, path, {"content-type": "application/json", "authorization": f"Bearer {key}"}, "POST",
               json.dumps(body))


def test_console_page_is_served_with_a_strict_content_security_policy(server):
    r, body = get(server, "/console/")
    assert r.status == 200 and r.getheader("content-type").startswith("text/html")
    csp = r.getheader("content-security-policy")
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp and r.getheader("x-content-type-options") == "nosniff"
    assert b'<script src="console.js"' in body
    for name, kind in (("console.js", "text/javascript"), ("console.css", "text/css")):
        r, data = get(server, "/console/" + name)
        assert r.status == 200 and r.getheader("content-type").startswith(kind)
        assert data == (ASSETS / name).read_bytes()


def test_console_without_slash_redirects_and_unknown_files_are_404(server):
    r, _ = get(server, "/console")
    assert r.status == 308 and r.getheader("location") == "/console/"
    r, _ = get(server, "/console/../../etc/passwd")
    assert r.status == 404
    r, _ = get(server, "/console/missing.js")
    assert r.status == 404
    r, _ = get(server, "/console/", method="HEAD")
    assert r.status == 200 and int(r.getheader("content-length")) == len((ASSETS / "index.html").read_bytes())


def test_other_gets_and_calls_are_unchanged(server):
    r, body = get(server, "/kato.v2.SessionService/CreateSession")
    assert r.status == 405 and b"POST" in body
    r, _ = post_json(server, "/kato.v2.SessionService/CreateSession", {"node_id": "n"}, "console-admin")
    assert r.status == 200


def test_status_needs_the_same_credentials_as_the_api(server):
    r, body = get(server, "/console/status.json")
    assert r.status == 401 and json.loads(body)["code"] == "unauthenticated"
    r, body = get(server, "/console/status.json", {"authorization": "Bearer wrong"})
    assert r.status == 401


def test_status_reports_health_sessions_and_calls_and_filters_sessions_by_node(server):
    r, body = post_json(server, "/kato.v2.SessionService/CreateSession", {"node_id": "mine"}, "console-writer")
    mine = json.loads(body)["sessionId"]
    r, body = post_json(server, "/kato.v2.SessionService/CreateSession", {"node_id": "theirs"}, "console-admin")
    theirs = json.loads(body)["sessionId"]
    post_json(server, "/kato.v2.ObserveService/Observe", {"session_id": mine, "strings": ["a", "b"]}, "console-writer")
    r, body = get(server, "/console/status.json", {"authorization": "Bearer console-admin"})
    assert r.status == 200 and r.getheader("content-type") == "application/json"
    status = json.loads(body)
    assert status["serving"] is True and status["degradation"]["name"] == "NORMAL"
    assert status["sessions_active"] >= 2 and status["uptime_seconds"] >= 0
    listed = {s["session_id"]: s for s in status["sessions"]}
    assert listed[mine]["stm_events"] == 1 and listed[mine]["node_id"] == "mine" and theirs in listed
    # A principal of node "mine" that is not an admin sees only its own sessions of its nodes.
    r, body = get(server, "/console/status.json", {"authorization": "Bearer console-writer"})
    ids = [s["session_id"] for s in json.loads(body)["sessions"]]
    assert mine in ids and theirs not in ids


def test_status_counts_calls_from_the_metrics(binaries):
    s = start_kato_server(binaries, "--in-memory")
    try:
        def status():
            return json.loads(get(s, "/console/status.json")[1])

        before = status()
        assert isinstance(before["calls_total"], int)
        post_json(s, "/kato.v2.SessionService/CreateSession", {"node_id": "n"}, "")
        post_json(s, "/kato.v2.SessionService/GetSession", {"session_id": "no-such"}, "")
        after = status()
        assert after["calls_total"] - before["calls_total"] == 2
        assert after["calls_failed"] - before["calls_failed"] == 1
    finally:
        s.stop()


def test_embedded_console_assets_are_current():
    r = subprocess.run([str(ROOT / "scripts/gen-console-assets"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_console_script_never_turns_strings_into_html():
    script = (ASSETS / "console.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script, sink
    page = (ASSETS / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", page), "inline script"
    assert not re.search(r"\son[a-z]+\s*=", page), "inline event handler"
    assert "style=" not in page
