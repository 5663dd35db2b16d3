"""Generated code (protoc-c, Swift messages, grpcio stubs, embedded descriptors) matches proto/."""
import os
import subprocess
import sys

from conftest import ROOT


def test_generated_code_is_current_with_proto_sources():
    result = subprocess.run(
        [str(ROOT / "scripts/gen-proto"), "--check"], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "PYTHON": sys.executable})
    assert result.returncode == 0, result.stdout + result.stderr
