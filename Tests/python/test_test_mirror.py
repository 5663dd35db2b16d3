"""Tests mirror the source tree: scripts/check-test-mirror, with its shrinking allow-list
(Tests/test-mirror-allowlist.txt; docs/ARCHITECTURE.md, "Tests mirror the source tree")."""
import shutil
import subprocess
import sys

from conftest import ROOT

SCRIPT = ROOT / "scripts/check-test-mirror"


def run(root):
    return subprocess.run([sys.executable, str(root / "scripts/check-test-mirror")], capture_output=True, text=True)


def test_every_source_file_has_its_test_file_or_an_allow_list_entry():
    result = run(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def write(root, path, text=""):
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    (root / path).write_text(text)


def test_the_check_names_each_gap_and_each_stale_entry(tmp_path):
    write(tmp_path, "scripts/check-test-mirror", SCRIPT.read_text())
    write(tmp_path, "Sources/T/Dir/Mirrored.swift")
    write(tmp_path, "Tests/TTests/Dir/MirroredTests.swift")
    write(tmp_path, "Sources/T/Dir/Type+Aspect.swift")  # mirrored by the type's own test file
    write(tmp_path, "Tests/TTests/Dir/TypeTests.swift")
    write(tmp_path, "Sources/T/Dir/Untested.swift")
    write(tmp_path, "Sources/T/Elsewhere.swift")  # its test in the wrong folder does not count
    write(tmp_path, "Tests/TTests/Dir/ElsewhereTests.swift")
    write(tmp_path, "Sources/T/Listed.swift")
    write(tmp_path, "Sources/T/NowMirrored.swift")
    write(tmp_path, "Tests/TTests/NowMirroredTests.swift")
    write(tmp_path, "Sources/T/Through.swift")
    write(tmp_path, "Tests/test-mirror-allowlist.txt", "\n".join([
        "# comment",
        "Sources/T/Listed.swift  trivial",
        "Sources/T/NowMirrored.swift  was untested",
        "Sources/T/Gone.swift  deleted since",
        "Sources/T/Through.swift  tested through Tests/TTests/NoSuchTests.swift",
        "Sources/T/Dir/Untested.swift",
    ]) + "\n")
    result = run(tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    expected = [
        "Sources/T/Dir/Untested.swift has no reason",
        "Tests/TTests/NoSuchTests.swift does not exist",
        "Sources/T/NowMirrored.swift has its test file now: remove the entry",
        "Sources/T/Gone.swift does not exist: remove the entry",
        "Sources/T/Elsewhere.swift: no Tests/TTests/ElsewhereTests.swift and no allow-list entry",
    ]
    for problem in expected:
        assert any(problem in line for line in lines), (problem, result.stdout)
    assert not any("Mirrored.swift:" in line or "Type+Aspect" in line or "Listed.swift" in line for line in lines), result.stdout
    assert f"{len(expected)} problem(s)" in result.stdout


def test_a_folder_entry_covers_its_files_and_must_cover_something(tmp_path):
    write(tmp_path, "scripts/check-test-mirror", SCRIPT.read_text())
    write(tmp_path, "Sources/Tool/main.swift")
    write(tmp_path, "Sources/Lib/A.swift")
    write(tmp_path, "Tests/LibTests/ATests.swift")
    write(tmp_path, "Tests/test-mirror-allowlist.txt", "Sources/Tool/  an executable, run as a process\nSources/Lib/  nothing left\n")
    result = run(tmp_path)
    assert result.returncode == 1
    assert "Sources/Lib/ covers nothing left to mirror" in result.stdout
    assert "Sources/Tool/main.swift" not in result.stdout
    shutil.rmtree(tmp_path / "Sources/Lib")
    shutil.rmtree(tmp_path / "Tests/LibTests")
    write(tmp_path, "Tests/test-mirror-allowlist.txt", "Sources/Tool/  an executable, run as a process\n")
    assert run(tmp_path).returncode == 0
