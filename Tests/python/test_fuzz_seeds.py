"""The fuzz targets' hand-made seeds (Fuzz/Corpus/*/seed-*) are what Fuzz/scripts/make-seeds.py
writes today. Some seeds encode a kato.v2 message type index, which shifts when a message type is
added; a stale seed still runs but no longer reaches the handler it was written for."""
import subprocess
import sys

from conftest import ROOT


def test_committed_fuzz_seeds_match_what_make_seeds_writes():
    result = subprocess.run(
        [sys.executable, str(ROOT / "Fuzz/scripts/make-seeds.py"), "--check"],
        cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
