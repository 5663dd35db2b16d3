"""A subscriber that stops reading: newest wins, memory stays bounded, the session's other
subscribers are not delayed. The stuck one is a raw HTTP/2 connection whose stream window is 0
(nothing can reach it); the server queues up to its push buffer limit (64 KiB) for it, then
parks the stream and keeps only the newest `maxSubscriberBacklog` (64) updates in its mailbox.
When it reads again it gets the buffered updates, then the newest ones, the last one included."""
import struct
import threading

import grpc

import h2_raw
from conftest import start_kato_server
from kato_client._pb.kato.v2 import observe_pb2, predict_pb2, session_pb2, types_pb2
from kato_client._pb.kato.v2 import observe_pb2_grpc, predict_pb2_grpc, session_pb2_grpc

BUFFER_LIMIT = 64 << 10  # GRPCH2 ServerConfiguration.maxBufferedPushBytes (not the 1 MiB of a writing handler)
BACKLOG = 64             # kato-server's default maxSubscriberBacklog


def test_a_subscriber_that_stops_reading_gets_the_newest_updates_later_and_delays_no_one(binaries):
    server = start_kato_server(binaries)
    channel = grpc.insecure_channel(server.address)
    sessions = session_pb2_grpc.SessionServiceStub(channel)
    observe = observe_pb2_grpc.ObserveServiceStub(channel)
    predict = predict_pb2_grpc.PredictServiceStub(channel)
    try:
        # A knowledge base whose predictions make each update several KB.
        learner = sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="slow-subscriber")).session_id
        for p in range(400):
            events = [types_pb2.Observation(strings=[f"s{(p * 7 + k * 3) % 12}", f"s{(p + k) % 12}"]) for k in range(3)]
            observe.ObserveSequence(observe_pb2.ObserveSequenceRequest(session_id=learner, observations=events, learn_at_end=True))
        session = sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="slow-subscriber")).session_id

        # The stuck subscriber: stream window 0, never reads.
        stuck = h2_raw.Connection(server.port, settings=[(0x4, 0)], auto_window_update=False)
        request = predict_pb2.SubscribePredictionsRequest(session_id=session).SerializeToString()
        sid = stuck.send_request("/kato.v2.PredictService/SubscribePredictions", b"\x00" + struct.pack(">I", len(request)) + request)

        # A subscriber that reads, on its own channel.
        calls = 1000
        seen, sizes, done, subscribed = [], [], threading.Event(), threading.Event()
        live = grpc.insecure_channel(server.address)
        stream = predict_pb2_grpc.PredictServiceStub(live).SubscribePredictions(
            predict_pb2.SubscribePredictionsRequest(session_id=session, send_initial=True))

        def read():
            for update in stream:
                if update.cause == predict_pb2.UPDATE_CAUSE_INITIAL:
                    subscribed.set()
                else:
                    seen.append(update.sequence)
                    sizes.append(update.ByteSize())
                if update.sequence >= calls:
                    done.set()
                    return
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        # The live channel dials on its own: observing before the server holds the subscription would fold
        # the first updates into the initial one.
        assert subscribed.wait(30), "the reading subscriber never got its initial update"
        for c in range(calls):
            if c % 4 == 3:
                observe.ClearShortTermMemory(observe_pb2.ClearShortTermMemoryRequest(session_id=session))
            else:
                observe.Observe(observe_pb2.ObserveRequest(session_id=session, strings=[f"s{c % 12}", f"s{(c * 5) % 12}"]))
        assert done.wait(30), f"the reading subscriber got {len(seen)} of {calls} updates"
        assert seen == list(range(1, calls + 1)), "the reading subscriber missed or reordered updates"
        largest = max(sizes)
        assert sum(sizes) > BUFFER_LIMIT + BACKLOG * largest, "updates too small to fill the stuck stream's buffer"

        # The stuck subscriber reads again: everything the server kept for it, the last update included.
        stuck.auto_window_update = True
        stuck.send_frame(h2_raw.SETTINGS, 0, 0, struct.pack(">HI", 0x4, 1 << 30))
        got, offset = [], 0

        def newest_arrived(c):
            nonlocal offset
            data = c.streams[sid].data
            while offset + 5 <= len(data):
                n = struct.unpack(">I", data[offset + 1:offset + 5])[0]
                if offset + 5 + n > len(data):
                    break
                got.append(predict_pb2.PredictionUpdate.FromString(data[offset + 5:offset + 5 + n]).sequence)
                offset += 5 + n
            return bool(got) and got[-1] == calls
        assert stuck.wait(newest_arrived, timeout=30), f"the stuck subscriber never got the newest update (last: {got[-1:]})"
        assert got == sorted(set(got)), "updates out of order or repeated"
        print(f"stuck subscriber: {len(got)} updates, {len(stuck.streams[sid].data)} bytes; largest update {largest} B")
        assert got[-1] == calls
        assert len(got) < calls, "nothing was dropped: the buffer limit did not apply"
        # Bounded: the response buffer, then at most the mailbox's newest updates (and the one over the limit).
        assert len(stuck.streams[sid].data) <= BUFFER_LIMIT + (BACKLOG + 2) * (largest + 5)
        stuck.close()
        stream.cancel()
        live.close()
    finally:
        channel.close()
        server.stop()


def test_every_update_carries_the_predictions_get_predictions_returns_for_that_state(binaries):
    """Updates are encoded straight from the engine's state (PredictionUpdateEncoder), replies
    through the proto structs: after each change both must hold the same predictions, future
    potentials and STM, emotives included."""
    server = start_kato_server(binaries)
    channel = grpc.insecure_channel(server.address)
    sessions = session_pb2_grpc.SessionServiceStub(channel)
    observe = observe_pb2_grpc.ObserveServiceStub(channel)
    predict = predict_pb2_grpc.PredictServiceStub(channel)
    try:
        learner = sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="encoder")).session_id
        for p in range(60):
            events = [types_pb2.Observation(strings=[f"s{(p * 7 + k * 3) % 9}", f"s{(p + k) % 9}"],
                                            emotives={"joy": float(p % 5) - 2.0} if p % 3 == 0 else {})
                      for k in range(3)]
            observe.ObserveSequence(observe_pb2.ObserveSequenceRequest(session_id=learner, observations=events, learn_at_end=True))
        session = sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="encoder")).session_id
        updates = predict.SubscribePredictions(predict_pb2.SubscribePredictionsRequest(session_id=session, send_initial=True))
        assert next(updates).cause == predict_pb2.UPDATE_CAUSE_INITIAL
        compared = with_emotives = 0
        for c in range(30):
            if c % 4 == 3:
                observe.ClearShortTermMemory(observe_pb2.ClearShortTermMemoryRequest(session_id=session))
            else:
                observe.Observe(observe_pb2.ObserveRequest(session_id=session, strings=[f"s{c % 9}", f"s{(c * 5) % 9}"]))
            reply = predict.GetPredictions(predict_pb2.GetPredictionsRequest(session_id=session))
            update = next(updates)
            assert update.sequence == c + 1
            assert list(update.predictions) == list(reply.predictions), f"update {c + 1}: predictions differ"
            assert list(update.future_potentials) == list(reply.future_potentials), f"update {c + 1}: future potentials differ"
            compared += len(reply.predictions)
            with_emotives += sum(1 for p in reply.predictions if p.emotives)
        assert compared > 100, "too few predictions to compare"
        assert with_emotives > 0, "no prediction with emotives to compare"
        updates.cancel()
    finally:
        channel.close()
        server.stop()
