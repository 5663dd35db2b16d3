"""Tests/python/tsan.supp stays honest: every line suppresses a ThreadSanitizer false positive of
third-party code (here the Swift concurrency runtime), shown by a program that contains none of
ours, and the suppression removes exactly that report (docs/SANITIZERS.md, "Suppressions")."""
import os
import pathlib
import re
import shutil
import subprocess

import pytest

from conftest import unavailable

HERE = pathlib.Path(__file__).resolve().parent
SOURCE = HERE / "tsan_continuation_handoff.swift"
SUPPRESSIONS = HERE / "tsan.supp"
RUNS = 300  # continuations per run (each run reproduced it 5 times in 5); the program prints their sum


@pytest.fixture(scope="module")
def handoff(tmp_path_factory):
    if shutil.which("swiftc") is None:
        unavailable("swiftc is not on PATH")
    out = tmp_path_factory.mktemp("tsan") / "handoff"
    subprocess.run(["swiftc", "-parse-as-library", "-sanitize=thread", "-Onone", str(SOURCE), "-o", str(out)],
                   check=True, capture_output=True, timeout=600)
    return out


def run(binary, tmp_path, suppress, **env):
    logs = tmp_path / "tsan"
    options = f"halt_on_error=0:log_path={logs}"
    if suppress:
        options += f":suppressions={SUPPRESSIONS}"
    environment = {**os.environ, "TSAN_OPTIONS": options, "SWIFT_BACKTRACE": "enable=no", "RUNS": str(RUNS), **env}
    done = subprocess.run([str(binary)], env=environment, capture_output=True, text=True, timeout=300)
    assert done.stdout.strip() == f"total {RUNS * (RUNS - 1) // 2}"
    return "".join(p.read_text() for p in tmp_path.glob("tsan.*"))


def suppressed_symbols():
    return [line.split(":", 1)[1] for line in SUPPRESSIONS.read_text().splitlines() if line.startswith("race:")]


@pytest.mark.parametrize("kind", [{}, {"NONTHROWING": "1"}], ids=["throwing", "nonthrowing"])
def test_continuation_handoff_is_reported_without_the_suppression(handoff, tmp_path, kind):
    # Still needed: if a toolchain stops reporting it, delete the line from tsan.supp.
    reports = ""
    for delay in (0, 2000):  # resumed before the task suspends, and after
        (tmp_path / str(delay)).mkdir()
        reports += run(handoff, tmp_path / str(delay), False, DELAY_US=str(delay), **kind)
    summaries = re.findall(r"SUMMARY: ThreadSanitizer: data race \S+ in \$(\S+)", reports)
    assert summaries, "TSan no longer reports the continuation hand-off: remove its line from tsan.supp"
    assert set(summaries) <= set(suppressed_symbols()), summaries


@pytest.mark.parametrize("kind", [{}, {"NONTHROWING": "1"}], ids=["throwing", "nonthrowing"])
def test_continuation_handoff_is_clean_with_the_suppression(handoff, tmp_path, kind):
    for delay in (0, 2000):
        (tmp_path / str(delay)).mkdir()
        assert run(handoff, tmp_path / str(delay), True, DELAY_US=str(delay), **kind) == ""


def test_every_suppression_names_a_swift_runtime_partial_function():
    # Exact mangled names of stdlib functions (`$ss…`), never a pattern that could match our code.
    for symbol in suppressed_symbols():
        assert re.fullmatch(r"ss\d+withUnsafe\w*Continuation\w+TY0_", symbol), symbol
