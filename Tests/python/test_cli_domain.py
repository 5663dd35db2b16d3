"""The `kato` CLI's domain verbs end to end against a real kato-server: sessions, observe,
learn, stm, predict (and its live --watch table), health, and the offline verify/export/import
of a data directory."""
import json
import os
import re
import subprocess
import time

import pytest

from conftest import start_kato_server


@pytest.fixture(scope="module")
def kato(binaries, kato_server, tmp_path_factory):
    cwd = tmp_path_factory.mktemp("cli-domain")

    def run(*args, input=None, env=None, timeout=30, server=kato_server):
        return subprocess.run([str(binaries / "kato"), *args], capture_output=True, text=True, input=input,
                              timeout=timeout, cwd=cwd, env={**os.environ, "KATO_SERVER": server.address, **(env or {})})
    return run


def new_session(kato, node):
    r = kato("session", "create", "--node", node)
    assert r.returncode == 0, r.stderr
    session = r.stdout.strip()
    assert re.fullmatch(r"session-[0-9a-f]{32}-\d+", session), session
    return session


def test_observe_learn_stm_and_predict(kato):
    s = new_session(kato, "cli-domain-1")
    r = kato("observe", "--session", s, "b", "a", "--emotive", "joy=0.5")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "observed [a, b]: stm_length=1 time=1\n"
    assert kato("observe", "--session", s, "c").returncode == 0
    assert kato("stm", "--session", s).stdout == "[a, b]\n[c]\n"
    r = kato("learn", "--session", s)
    assert r.returncode == 0 and re.fullmatch(r"PTRN\|[0-9a-f]{40}\n", r.stdout), r
    pattern = r.stdout.strip()[5:]
    assert kato("stm", "--session", s).stdout == ""
    kato("observe", "--session", s, "a")
    kato("observe", "--session", s, "b")
    r = kato("predict", "--session", s)
    assert r.returncode == 0, r.stderr
    header, row = r.stdout.splitlines()[:2]
    assert header.split() == ["#", "PATTERN", "POTENTIAL", "SIMILARITY", "CONFIDENCE", "FREQ", "MATCHES", "FUTURE"]
    assert row.split()[:2] == ["1", pattern[:12]] and row.split()[-3:] == ["a", "b", "[c]"]


def test_learn_with_too_little_in_the_stm_says_so(kato):
    s = new_session(kato, "cli-domain-2")
    r = kato("learn", "--session", s)
    assert r.returncode == 64 + 9 and "Reason: EMPTY_STM" in r.stderr  # FAILED_PRECONDITION
    kato("observe", "--session", s, "a")
    r = kato("learn", "--session", s)
    assert r.returncode == 0 and r.stdout == "" and "nothing learned" in r.stderr


def learn_patterns(kato, node, sequences):
    """Learns each sequence (events split on '|') on `node`; returns the pattern names."""
    names = []
    for sequence in sequences:
        s = new_session(kato, node)
        for event in sequence.split("|"):
            assert kato("observe", "--session", s, *event.split()).returncode == 0
        names.append(kato("learn", "--session", s).stdout.strip())
    return names


def test_kb_list_pages_sorts_and_filters_a_nodes_patterns(kato):
    node = "cli-kb"
    names = learn_patterns(kato, node, ["a|b", "a|b", "c|d|e", "x y|z", "a|b"])
    r = kato("kb", "list", "--node", node)
    assert r.returncode == 0, r.stderr
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    assert [row[0] for row in rows] == [names[0], *sorted({names[2], names[3]})], "frequency first, then name"
    assert rows[0][1:] == ["3", "2", "a | b"]
    assert rows[[row[0] for row in rows].index(names[3])][3] == "x y | z"
    r = kato("kb", "list", "--node", node, "--order", "length", "--page-size", "1", "--limit", "0")
    assert [line.split("\t")[0] for line in r.stdout.splitlines()][:2] == sorted([names[2], names[3]]), \
        "longest first (then name), over 1-pattern pages"
    assert len(r.stdout.splitlines()) == 3 and "next page" not in r.stdout
    r = kato("kb", "list", "--node", node, "--symbol", "z")
    assert [line.split("\t")[0] for line in r.stdout.splitlines()] == [names[3]]
    r = kato("kb", "list", "--node", node, "--order", "learned", "--limit", "1", "--page-size", "1")
    first, more = r.stdout.splitlines()
    assert first.split("\t")[0] == names[0] and more.startswith("next page: --page-token ")
    r = kato("kb", "list", "--node", node, "--order", "learned", "--limit", "1", "--page-token", more.split()[-1])
    assert r.stdout.split("\t")[0] == names[2], "the token resumes after the first page"
    r = kato("kb", "list", "--node", node, "--order", "bogus")
    assert r.returncode == 2


def test_kb_stats(kato):
    learn_patterns(kato, "cli-kb-stats", ["a|b", "a|b", "c|d|e"])
    r = kato("kb", "stats", "--node", "cli-kb-stats")
    assert r.returncode == 0, r.stderr
    lines = dict(line.split(":", 1) for line in r.stdout.splitlines())
    assert lines["patterns"].strip() == "2" and lines["total frequency"].strip() == "3"
    assert lines["symbols"].strip() == "5" and sorted(lines["lengths"].split()) == ["2:1", "3:1"]


def test_kb_delete_removes_one_pattern(kato):
    node = "cli-kb-delete"
    names = learn_patterns(kato, node, ["a|b", "c|d"])
    r = kato("kb", "delete", "--node", node, "--name", names[0])
    assert r.returncode == 0 and r.stdout.strip() == f"deleted {names[0]} (1 patterns left)", r.stdout + r.stderr
    assert [line.split("\t")[0] for line in kato("kb", "list", "--node", node).stdout.splitlines()] == [names[1]]
    r = kato("kb", "delete", "--node", node, "--name", names[0])
    assert r.returncode != 0 and "not found" in r.stderr.lower()


def test_kb_delete_all_needs_yes_and_empties_the_node(kato):
    node = "cli-kb-delete-all"
    learn_patterns(kato, node, ["a|b", "c|d"])
    r = kato("kb", "delete-all", "--node", node)
    assert r.returncode == 2 and "--yes" in r.stderr, "refused without --yes"
    assert len(kato("kb", "list", "--node", node).stdout.splitlines()) == 2, "nothing deleted"
    r = kato("kb", "delete-all", "--node", node, "--yes")
    assert r.returncode == 0 and r.stdout.strip() == f"deleted the knowledge base of {node}: 2 patterns, 4 symbols", \
        r.stdout + r.stderr
    assert kato("kb", "list", "--node", node).stdout == ""
    lines = dict(line.split(":", 1) for line in kato("kb", "stats", "--node", node).stdout.splitlines())
    assert lines["patterns"].strip() == "0" and lines["symbols"].strip() == "0"


def test_session_get_count_and_delete(kato):
    s = new_session(kato, "cli-domain-3")
    r = kato("session", "get", "--session", s)
    assert r.returncode == 0 and f"session:     {s}" in r.stdout and "node:        cli-domain-3" in r.stdout
    assert int(kato("session", "count", "--node", "cli-domain-3").stdout) == 1
    assert kato("session", "delete", "--session", s).returncode == 0
    assert int(kato("session", "count", "--node", "cli-domain-3").stdout) == 0


def test_session_create_with_config_and_verbose_output(kato):
    r = kato("session", "create", "--node", "cli-domain-4", "--max-pattern-length", "3", "--recall-threshold", "0.3", "--verbose")
    assert r.returncode == 0, r.stderr
    assert "max_pattern_length=3" in r.stdout and "recall_threshold=0.3" in r.stdout


def test_default_session_of_a_node(kato):
    assert kato("observe", "--node", "cli-domain-5", "x", "y").returncode == 0
    assert kato("stm", "--node", "cli-domain-5").stdout == "[x, y]\n"
    assert kato("stm", "--node", "cli-domain-5", "--clear").stdout == "cleared\n"
    assert kato("stm", "--node", "cli-domain-5").stdout == ""


def test_session_from_the_environment(kato):
    s = new_session(kato, "cli-domain-6")
    assert kato("observe", "q", env={"KATO_SESSION": s}).returncode == 0
    assert kato("stm", env={"KATO_SESSION": s}).stdout == "[q]\n"


def test_unknown_session_exits_64_plus_not_found_with_the_reason(kato):
    r = kato("observe", "--session", "session-nope", "a")
    assert r.returncode == 64 + 5
    assert r.stderr.startswith("ERROR:\n  Code: NotFound\n") and "Reason: SESSION_NOT_FOUND" in r.stderr
    assert re.search(r"Trace: [0-9a-f]{32}", r.stderr)


def test_invalid_config_exits_64_plus_invalid_argument_with_the_field(kato):
    r = kato("session", "create", "--node", "cli-domain-7", "--recall-threshold", "7")
    assert r.returncode == 64 + 3
    assert "Reason: VALIDATION_ERROR" in r.stderr and "Field: config.recall_threshold" in r.stderr


def test_usage_errors_exit_2(kato):
    assert kato("observe", "a").returncode == 2  # no session
    assert kato("observe", "--session", "s", "--emotive", "joy", "a").returncode == 2
    assert kato("session", "create").returncode == 2
    assert kato("frobnicate").returncode == 2


def test_health(kato):
    r = kato("health")
    assert r.returncode == 0 and r.stdout == "SERVING\n"
    r = kato("health", "--service", "kato.v2.ObserveService")
    assert r.returncode == 0 and r.stdout == "SERVING\n"
    assert kato("health", "--service", "no.such.Service").returncode == 64 + 5


def test_predict_watch_redraws_the_table_on_every_update(kato, binaries, kato_server):
    s = new_session(kato, "cli-domain-8")
    for symbols in (["a"], ["b"], ["c"]):
        kato("observe", "--session", s, *symbols)
    assert kato("learn", "--session", s).returncode == 0

    proc = subprocess.Popen([str(binaries / "kato"), "predict", "--session", s, "--watch", "--max-updates", "3", "--clear"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "KATO_SERVER": kato_server.address})
    try:
        seen = ""
        while "(initial)" not in seen:  # the subscription is open and the first table printed
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            seen += line
        kato("observe", "--session", s, "a")
        kato("observe", "--session", s, "b")
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err

    frames = [f for f in (seen + out).split("\x1b[H\x1b[2J") if f]
    assert len(frames) == 3
    assert re.match(rf"session {s}  update #\d+ \(initial\)", frames[0])
    assert "(observe)" in frames[1] and "STM: [a]\n" in frames[1]
    assert "STM: [a] [b]\n" in frames[2] and "[c]" in frames[2].splitlines()[-1]
    sequences = [int(re.search(r"update #(\d+)", f).group(1)) for f in frames]
    assert sequences == sorted(sequences) and len(set(sequences)) == 3


def test_predict_watch_stops_at_max_time(kato):
    s = new_session(kato, "cli-domain-9")
    start = time.monotonic()
    r = kato("predict", "--session", s, "--watch", "--max-time", "1", "--no-clear")
    assert r.returncode == 0, r.stderr
    assert "(initial)" in r.stdout and "\x1b[" not in r.stdout
    assert time.monotonic() - start < 10


def test_metadata_header_reaches_the_server(kato):
    # An authorization header on a server without auth is accepted and ignored.
    r = kato("health", "-H", "x-request-id: cli")
    assert r.returncode == 0


def test_verify_export_import_round_trip(binaries, kato, tmp_path):
    data_dir = tmp_path / "data"
    server = start_kato_server(binaries, "--data-dir", str(data_dir))
    try:
        for i in range(5):
            s = new_session_on(kato, server, "cli-store")
            for symbols in ([f"x{i}"], ["y", "z"]):
                assert kato("observe", "--session", s, *symbols, server=server).returncode == 0
            assert kato("learn", "--session", s, server=server).returncode == 0
        # The running server holds the directory: the offline tools refuse.
        r = kato("verify", "--data-dir", str(data_dir))
        assert r.returncode == 1 and r.stderr
    finally:
        assert server.stop() == 0
    r = kato("verify", "--data-dir", str(data_dir))
    assert r.returncode == 0 and r.stdout.startswith("OK: 1 nodes, 5 patterns"), (r.stdout, r.stderr)
    export = kato("export", "--data-dir", str(data_dir))
    assert export.returncode == 0 and "exported" in export.stderr
    records = [json.loads(line) for line in export.stdout.splitlines()]
    assert sum(1 for x in records if x["type"] == "pattern") == 5
    copy = tmp_path / "copy"
    dump = tmp_path / "kb.jsonl"
    dump.write_text(export.stdout)
    imported = kato("import", "--data-dir", str(copy), str(dump), "--progress")
    assert imported.returncode == 0, imported.stderr
    assert "imported 5 patterns" in imported.stderr and "importing" in imported.stderr
    again = kato("export", "--data-dir", str(copy), "-o", str(tmp_path / "again.jsonl"))
    assert again.returncode == 0 and (tmp_path / "again.jsonl").read_text() == export.stdout
    assert kato("verify", "--data-dir", str(copy)).returncode == 0
    twice = kato("import", "--data-dir", str(copy), input=export.stdout)
    assert twice.returncode == 1 and "import failed" in twice.stderr
    assert kato("import", "--data-dir", str(copy), "--replace", input=export.stdout).returncode == 0


def new_session_on(kato, server, node):
    r = kato("session", "create", "--node", node, server=server)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()
