"""A query on a PostgreSQL connection that closes under it ends (answered or failed), never hangs
(KatoPostgres `checkedQuery`, docs/SCALING.md "When PostgreSQL is unavailable"). postgres-nio
writes a query to its channel without a write promise, so a query written after the channel
closed is dropped and never answered; checking `isClosed` first left a window, because the write
happens later on the event loop. `checkedQuery` checks and writes on the event loop in one step.
The hidden `kato-server test-postgres-query-race` has senders query in a loop on one connection
while another task closes it at a different moment each round, and counts senders still waiting
3 s later."""
import json
import subprocess




def race(binaries, pg, *extra):
    r = subprocess.run([str(binaries / "kato-server"), "test-postgres-query-race", "--postgres", pg.url(), *extra],
                       capture_output=True, text=True, timeout=300)
    assert r.stdout.strip(), r.stderr[-2000:]
    return r.returncode, json.loads(r.stdout.strip().splitlines()[-1])


def test_queries_on_a_connection_closed_under_them_all_end_and_none_hangs(binaries, pg):
    code, result = race(binaries, pg, "--rounds", "150", "--senders", "8")
    assert result["hung"] == 0, result
    assert code == 0, result
    assert result["rounds"] == 150
    # Every sender ran queries and then saw its connection's close as an error.
    assert result["failed"] == 150 * 8, result
    assert result["queries"] > 0, result
