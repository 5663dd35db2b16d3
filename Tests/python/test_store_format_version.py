"""The store-format version rule, with the real binary: a kato-server refuses a data directory
whose schema is newer than it understands (written by a newer release — what a binary rollback
meets), exits non-zero with a clear message and changes nothing; it opens its own format again.
(An older format migrating forward is KnowledgeStoreTests.version1FileMigratesToVersion2.)"""
import hashlib
import pathlib
import sqlite3
import subprocess

import grpc

from kato_client._pb.kato.v2 import observe_pb2, observe_pb2_grpc

from conftest import start_kato_server


def digest(directory):
    h = hashlib.sha256()
    for p in sorted(pathlib.Path(directory).iterdir()):
        if p.is_file() and p.name != "LOCK":  # the lock holds the pid of its last holder, not data
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def test_a_data_directory_from_a_newer_release_is_refused_and_left_untouched(binaries, tmp_path):
    data = tmp_path / "data"
    server = start_kato_server(binaries, "--data-dir", str(data))
    with grpc.insecure_channel(server.address) as ch:
        stub = observe_pb2_grpc.ObserveServiceStub(ch)
        for s in ("v1", "v2"):
            stub.Observe(observe_pb2.ObserveRequest(node_id="fmt", strings=[s]), timeout=10)
        stub.Learn(observe_pb2.LearnRequest(node_id="fmt"), timeout=10)
    assert server.stop() == 0
    # What a newer release leaves: a migration this binary does not know.
    with sqlite3.connect(data / "kato.sqlite") as db:
        db.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (99, 'a newer kato')")
    db.close()
    before = digest(data)
    out = subprocess.run([str(binaries / "kato-server"), "--port", "0", "--data-dir", str(data)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "database schema version 99 is newer than this kato" in out.stderr and "upgrade kato" in out.stderr, out.stderr
    assert "listening on" not in out.stdout
    assert digest(data) == before, "the refused data directory was changed"
