"""Sanitizer reports from the servers the tests start (see docs/SANITIZERS.md).

Every server process gets `ASAN_OPTIONS` with `log_path` pointing into one directory per test
run, so an AddressSanitizer / LeakSanitizer report lands in `<dir>/asan.<pid>` instead of a
stderr pipe nobody reads. Binaries built without sanitizers ignore the variables, so this is
always on and costs nothing. A report fails the run three ways:

- `RunningServer.stop()` raises with the report of the process it stopped (leaks are only
  reported at exit, so this is where they surface: in the fixture's teardown);
- an autouse fixture fails the test during which any report appeared (a server that aborted
  on a use-after-free mid-test, or a CLI the test ran);
- `pytest_sessionfinish` marks the run failed if any report was not claimed by the above.

ThreadSanitizer (`make test-tsan`) is handled the same way: `TSAN_OPTIONS` gets `log_path`
(`<dir>/tsan.<pid>`) and the third-party suppressions file `tsan.supp`, and a TSan report
fails the run exactly like an ASan one.

`make test-asan` also passes `detect_leaks=1:abort_on_error=1:halt_on_error=1`; a caller's own
`ASAN_OPTIONS` / `LSAN_OPTIONS` are kept, only `log_path` (and the default LeakSanitizer
suppressions file, unless one is given) are added.
"""
import os
import pathlib
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
LSAN_SUPPRESSIONS = ROOT / "Tests" / "python" / "lsan.supp"
TSAN_SUPPRESSIONS = ROOT / "Tests" / "python" / "tsan.supp"

# Set by `make test-asan`: the binaries under test are ASan builds. Their RSS says little about
# our memory use (shadow memory, redzones, and a 256 MiB quarantine of freed blocks), so the
# tests that bound server RSS still run their traffic but skip that one assertion.
ACTIVE = os.environ.get("KATO_ASAN") == "1" or os.environ.get("KATO_TSAN") == "1"  # TSan: shadow memory too

LOG_DIR = pathlib.Path(tempfile.mkdtemp(prefix="kato-asan-"))
LOG_DIR.chmod(0o1777)  # a server a test runs as another user (setpriv) must be able to report too
_claimed: set[pathlib.Path] = set()


def _merge(existing: str, extra: dict[str, str]) -> str:
    parts = [p for p in existing.split(":") if p]
    keys = {p.split("=", 1)[0] for p in parts}
    parts += [f"{k}={v}" for k, v in extra.items() if k not in keys or k == "log_path"]
    return ":".join(parts)


def configure_environment() -> None:
    """Called once from conftest: every child process inherits the options."""
    os.environ["ASAN_OPTIONS"] = _merge(os.environ.get("ASAN_OPTIONS", ""), {"log_path": str(LOG_DIR / "asan")})
    os.environ["LSAN_OPTIONS"] = _merge(os.environ.get("LSAN_OPTIONS", ""), {"suppressions": str(LSAN_SUPPRESSIONS), "print_suppressions": "0"})
    os.environ["TSAN_OPTIONS"] = _merge(os.environ.get("TSAN_OPTIONS", ""), {"log_path": str(LOG_DIR / "tsan"), "suppressions": str(TSAN_SUPPRESSIONS)})


def cleanup() -> None:
    try:
        LOG_DIR.rmdir()  # only when empty: reports stay for a look after a failed run
    except OSError:
        pass


def reports() -> list[pathlib.Path]:
    return sorted(p for prefix in ("asan", "tsan") for p in LOG_DIR.glob(f"{prefix}.*") if p.stat().st_size > 0)


def report_for(pid: int) -> str | None:
    """The report of process `pid`, once (later calls return None)."""
    texts = []
    for path in (LOG_DIR / f"asan.{pid}", LOG_DIR / f"tsan.{pid}"):
        if path in _claimed or not path.exists() or path.stat().st_size == 0:
            continue
        _claimed.add(path)
        texts.append(path.read_text(errors="replace"))
    return "\n".join(texts) or None


def unclaimed_reports() -> list[tuple[pathlib.Path, str]]:
    """Reports nobody has failed a test for yet; claims them."""
    out = []
    for path in reports():
        if path not in _claimed:
            _claimed.add(path)
            out.append((path, path.read_text(errors="replace")))
    return out


def format_reports(found: list[tuple[pathlib.Path, str]]) -> str:
    return "\n\n".join(f"sanitizer report {path.name}:\n{text}" for path, text in found)
