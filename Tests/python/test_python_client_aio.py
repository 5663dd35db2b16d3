"""kato_client.aio (clients/python): the asyncio client on grpc.aio against a real kato-server.

Each test runs its coroutine with asyncio.run (no pytest plugin needed)."""
import asyncio

import grpc
import pytest

from kato_client import (EmptySTM, Observation, PatternNotFound, SessionEnded, SessionNotFound, StmMode,
                         Unavailable, UpdateCause, ValidationError)
from kato_client.aio import AsyncDefaultSession, AsyncKatoClient, AsyncSession

ABC = "PTRN|b98534b32c1d7489d4ce1a48724aa65aeecbdba9"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


@pytest.fixture(scope="module")
def address(kato_server):
    return kato_server.address


def test_health_count_and_session_context_manager_deletes(address):
    async def main():
        async with AsyncKatoClient(address, timeout=30) as c:
            await c.wait_ready(10)
            assert await c.health() == "SERVING"
            before = await c.count_sessions("aio-cm")
            async with c.session("aio-cm", ttl_seconds=90, config={"stm_mode": "ROLLING"},
                                 metadata={"k": "v"}) as s:
                assert isinstance(s, AsyncSession) and s.node_id == "aio-cm"
                assert s.info.ttl_seconds == 90 and s.info.config.stm_mode is StmMode.ROLLING
                assert s.info.metadata == {"k": "v"}
                assert await c.count_sessions("aio-cm") == before + 1
                sid = s.session_id
            assert s.deleted and await c.count_sessions("aio-cm") == before
            with pytest.raises(SessionNotFound):
                await c.get_session(sid)
            # The awaited form, deleted explicitly; `async with` on it afterwards is a no-op delete.
            s2 = await c.session("aio-cm")
            assert (await c.get_session(s2.session_id)).node_id == "aio-cm"
            await c.delete_session(s2.session_id)
            async with s2:
                pass
    run(main())


def test_every_session_method(address):
    async def main():
        async with AsyncKatoClient(address, timeout=30) as c:
            async with c.session("aio-all") as s:
                r = await s.observe(strings=["a"], emotives={"joy": 1.0}, metadata={"m": 1}, unique_id="x1")
                assert (r.stm_length, r.time, r.unique_id) == (1, 1, "x1")
                await s.observe("b")
                await s.observe(["c"])
                assert await s.stm() == [["a"], ["b"], ["c"]]
                name = await s.learn()
                assert name == ABC
                pattern = await s.pattern(name)
                assert pattern.events == [["a"], ["b"], ["c"]] and pattern.emotives == [{"joy": 1.0}]
                await s.observe("a")
                await s.observe("b")
                preds = await s.predictions()
                assert preds[0].pattern_name == ABC and preds[0].future == [["c"]]
                futures = await s.future_potentials()
                assert futures[0].future == [["c"]]
                snap = await s.get_predictions()
                assert snap.predictions == preds and snap.future_potentials == futures
                assert (await s.percept_data()).strings == ["b"]
                assert (await s.cognition_data()).short_term_memory == [["a"], ["b"]]
                await s.clear_stm()
                assert await s.stm() == []
                seq = await s.observe_sequence([["p"], "q", Observation(strings=["r"])], learn_at_end=True)
                assert seq.observations_processed == 3 and seq.final_learned_pattern.startswith("PTRN|")
                info = await s.update_config(max_pattern_length=5, recall_threshold=0.2)
                assert info.config.max_pattern_length == 5 and info.config.recall_threshold == pytest.approx(0.2)
                assert (await s.extend(700)).ttl_seconds == 700
                assert (await s.refresh()).config.max_pattern_length == 5
                await s.clear_all()
                with pytest.raises(PatternNotFound):
                    await s.pattern(name)
    run(main())


def test_observe_stream_from_sync_and_async_iterables(address):
    async def main():
        async with AsyncKatoClient(address, timeout=30) as c:
            async with c.session("aio-stream") as s:
                got = [a async for a in s.observe_stream([["s0"], ["s1"]])]
                assert [a.sequence_position for a in got] == [0, 1] and [a.stm_length for a in got] == [1, 2]

                acked = asyncio.Event()

                async def produce():
                    yield Observation(strings=["t0"], unique_id="t0")
                    await asyncio.wait_for(acked.wait(), 10)  # the first ack arrives while still producing
                    yield Observation(strings=["t1"], unique_id="t1")

                ids = []
                async with s.observe_stream(produce()) as acks:
                    async for ack in acks:
                        ids.append(ack.unique_id)
                        acked.set()
                assert ids == ["t0", "t1"] and (await s.stm())[-1] == ["t1"]

                async def failing():
                    yield ["ok"]
                    raise ValueError("bad async input")

                with pytest.raises(ValueError, match="bad async input"):
                    [a async for a in s.observe_stream(failing())]
    run(main())


def test_subscribe_receives_updates_while_another_task_observes(address):
    async def main():
        async with AsyncKatoClient(address, timeout=30) as c, AsyncKatoClient(address, timeout=30) as other:
            async with c.session("aio-sub") as s:
                for w in "abc":
                    await s.observe(w)
                await s.learn()
                sub = s.subscribe()
                received = []

                async def consume():
                    async for update in sub:
                        received.append(update)
                        if len(received) == 4:
                            sub.close()  # ends the iteration quietly

                async def produce():
                    o = await other.attach(s.session_id)
                    while not received:
                        await asyncio.sleep(0.01)
                    await o.observe("a")
                    await o.observe("b")
                    await o.learn()

                await asyncio.gather(consume(), produce())
                assert [u.cause for u in received] == [UpdateCause.INITIAL, UpdateCause.OBSERVE, UpdateCause.OBSERVE,
                                                       UpdateCause.LEARN]
                assert [u.sequence for u in received] == list(range(received[0].sequence, received[0].sequence + 4))
                assert received[2].predictions[0].future == [["c"]] and received[3].stm == []
                assert sub.closed and [u async for u in sub] == []
    run(main())


def test_subscription_ends_with_session_ended(address):
    async def main():
        async with AsyncKatoClient(address, timeout=30) as c:
            s = await c.session("aio-ended")
            sub = s.subscribe(send_initial=True)
            first = await sub.__anext__()
            assert first.cause is UpdateCause.INITIAL
            await s.delete()
            with pytest.raises(SessionEnded) as e:
                await sub.__anext__()
            assert e.value.reason == "SESSION_ENDED" and len(e.value.trace_id) == 32
    run(main())


def test_default_session_and_attach(address):
    async def main():
        async with AsyncKatoClient(address, timeout=30) as c:
            d = c.default_session("aio-legacy")
            assert isinstance(d, AsyncDefaultSession) and d.session_id == ""
            await d.clear_all()
            await d.observe("x")
            assert await d.stm() == [["x"]]
            async with c.session("aio-attach") as owner:
                async with await c.attach(owner.session_id) as attached:
                    await attached.observe("y")
                assert await owner.stm() == [["y"]]
    run(main())


def test_errors_carry_reason_trace_id_and_field_violations(address):
    async def main():
        async with AsyncKatoClient(address, timeout=30) as c:
            with pytest.raises(SessionNotFound) as e:
                await c.attach("session-missing")
            assert e.value.code == grpc.StatusCode.NOT_FOUND and e.value.reason == "SESSION_NOT_FOUND"
            assert len(e.value.trace_id) == 32
            with pytest.raises(ValidationError) as e:
                async with c.session("aio-bad", config={"persistence": 0}):
                    pass
            assert e.value.field_violations[0].field == "config.persistence"
            async with c.session("aio-empty") as s:
                with pytest.raises(EmptySTM):
                    await s.learn()
        async with AsyncKatoClient("127.0.0.1:1", timeout=5) as dead:
            with pytest.raises(Unavailable) as e:
                await dead.count_sessions()
            assert e.value.reason is None
    run(main())
