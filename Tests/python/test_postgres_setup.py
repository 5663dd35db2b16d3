"""kato's PostgreSQL schema set-up (`kato-server migrate-postgres`, the first part of the scale-out
work, docs/SCALING.md) against a real PostgreSQL 15 started by the test: concurrent starts create
the schema once under the advisory lock, a schema from the future is refused untouched, and every
bad URL, unreachable or silent server, wrong password or missing database is one clear line and a
non-zero exit, quickly, never a hang and never the password."""
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from pg_support import PASSWORD


def migrate(binaries, url, timeout=60):
    started = time.time()
    r = subprocess.run([str(binaries / "kato-server"), "migrate-postgres", "--postgres", url],
                       capture_output=True, text=True, timeout=timeout)
    return r, time.time() - started


def scalar(pg, sql):
    r = pg.psql(sql)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_concurrent_migrations_create_the_schema_once(binaries, pg):
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: migrate(binaries, pg.url()), range(4)))
    for r, _ in results:
        assert r.returncode == 0, r.stderr
        assert PASSWORD not in r.stdout + r.stderr
    applied = [r for r, _ in results if "applied migrations 1, 2, 3, 4" in r.stdout]
    assert len(applied) == 1, [r.stdout for r, _ in results]
    assert all("nothing to do" in r.stdout for r, _ in results if r not in applied)
    assert scalar(pg, "SELECT string_agg(version::text, ',') FROM kato_schema_migrations") == "1,2,3,4"
    tables = scalar(pg, "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'")
    assert tables == ("kato_schema_migrations,kato_session_count,kato_session_updates,kato_sessions,kato_sessions_expired,"
                      "kb_changes,kb_deleted_patterns,kb_nodes,kb_patterns,kb_symbol_emotives")
    # Sessions are UNLOGGED (they survive a replica's death, not PostgreSQL's crash); the knowledge base is logged.
    assert scalar(pg, "SELECT string_agg(relname || '=' || relpersistence::text, ',' ORDER BY relname) FROM pg_class "
                      "WHERE relname IN ('kato_sessions', 'kb_patterns')") == "kato_sessions=u,kb_patterns=p"
    # Run again: nothing to do.
    r, _ = migrate(binaries, pg.url())
    assert r.returncode == 0 and "schema version 4, nothing to do" in r.stdout


def test_a_schema_from_the_future_is_refused_and_left_untouched(binaries, pg):
    assert migrate(binaries, pg.url())[0].returncode == 0
    assert pg.psql("INSERT INTO kato_schema_migrations (version) VALUES (99)").returncode == 0
    try:
        before = scalar(pg, "SELECT count(*) FROM kato_schema_migrations")
        r, _ = migrate(binaries, pg.url())
        assert r.returncode == 2
        assert "schema is at version 99, newer than this kato understands (4)" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert scalar(pg, "SELECT count(*) FROM kato_schema_migrations") == before
    finally:
        pg.psql("DELETE FROM kato_schema_migrations WHERE version = 99")


@pytest.mark.parametrize("url, message", [
    ("mysql://kato@127.0.0.1/kato", "must look like postgres://"),
    ("postgres://127.0.0.1/kato", "has no user name"),
    ("postgres://kato@127.0.0.1:70000/kato", "out of range"),
    ("postgres://kato@127.0.0.1/kato?sslmode=sometimes", "sslmode=sometimes is not one of"),
    ("postgres://kato@127.0.0.1/kato?sslmode=allow", "sslmode=allow is not one of"),
    ("postgres://kato@127.0.0.1/kato?pool=3", "option 'pool' is not supported"),
    ("postgres://kato@127.0.0.1/kato?sslrootcert=/nonexistent/ca.pem&sslmode=verify-full", "cannot be read"),
])
def test_a_malformed_url_is_one_clear_line(binaries, url, message):
    r, elapsed = migrate(binaries, url)
    assert r.returncode == 2
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert elapsed < 10


def test_wrong_password_is_named_without_the_password(binaries, pg):
    wrong = "not-the-password-42"
    r, _ = migrate(binaries, pg.url(password=wrong))
    assert r.returncode == 2
    assert "refused the credentials of user 'kato' (28P01)" in r.stderr, r.stderr
    assert wrong not in r.stdout + r.stderr and PASSWORD not in r.stdout + r.stderr


def test_missing_database_is_named(binaries, pg):
    r, _ = migrate(binaries, pg.url(database="no_such_db"))
    assert r.returncode == 2
    assert "has no database 'no_such_db'" in r.stderr, r.stderr


def test_nothing_listening_fails_fast(binaries):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r, elapsed = migrate(binaries, f"postgres://kato:secret-pw@127.0.0.1:{port}/kato?sslmode=disable")
    assert r.returncode == 2
    assert f"cannot reach PostgreSQL at 127.0.0.1:{port}" in r.stderr, r.stderr
    assert "secret-pw" not in r.stderr
    assert elapsed < 10


def test_a_server_that_never_answers_times_out_instead_of_hanging(binaries):
    """A listener that accepts and says nothing: the connect timeout ends it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    held = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                pass

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        r, elapsed = migrate(binaries, f"postgres://kato@127.0.0.1:{port}/kato?sslmode=disable&connect_timeout=2", timeout=30)
        assert r.returncode == 2
        assert f"cannot reach PostgreSQL at 127.0.0.1:{port}" in r.stderr, r.stderr
        assert elapsed < 15
    finally:
        stop.set()
        t.join()
        for c in held:
            c.close()
        listener.close()


def test_a_pool_larger_than_postgresqls_connection_budget_is_refused_at_start_up(binaries, pg):
    """Each replica holds up to 2 × pool size + 2 connections (LISTEN, the batch lane); the test server allows 100 − 3 reserved."""
    r = subprocess.run([str(binaries / "kato-server"), "--port", "0", "--in-memory", "--postgres", pg.url(),
                        "--postgres-pool-size", "60", "--log-level", "error"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "--postgres-pool-size 60 needs 122 connections per replica" in r.stderr, r.stderr
    assert "max_connections - superuser_reserved_connections = 97" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and PASSWORD not in r.stderr
