#!/usr/bin/env python3
"""Stream producer: sends observations over one ObserveStream call and prints each acknowledgement.

Observations come from a generator that cycles through --symbols (one symbol per
observation, or `a,b` for several in one event) --count times, optionally pausing
--interval seconds between them, so acknowledgements print while it is still producing.
They go to --session SESSION_ID, or to the default session of --node, or (with --new)
to a new session of --node that is deleted at the end.

    python stream_producer.py --target 127.0.0.1:50051 --session session-... --count 10
    python stream_producer.py --node demo --symbols "wake coffee email" --count 9 --interval 0.2
"""
from __future__ import annotations

import argparse
import itertools
import sys
import time
from contextlib import ExitStack
from typing import Iterator, List

from kato_client import KatoClient, KatoError, Observation, SessionBase


def observations(symbols: List[str], count: int, interval: float, emotive: str | None) -> Iterator[Observation]:
    for i, event in enumerate(itertools.islice(itertools.cycle(symbols), count)):
        if i and interval > 0:
            time.sleep(interval)
        yield Observation(strings=[s for s in event.split(",") if s], unique_id=f"producer-{i}",
                          emotives={emotive: float(i % 5)} if emotive else None)


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="127.0.0.1:50051", help="server host:port")
    parser.add_argument("--session", help="session id to observe into")
    parser.add_argument("--node", default="default", help="node (default session, or where --new creates one)")
    parser.add_argument("--new", action="store_true", help="create a session on --node, delete it at the end")
    parser.add_argument("--count", type=int, default=10, help="observations to send")
    parser.add_argument("--symbols", default="a b c d", help="space-separated events to cycle through")
    parser.add_argument("--interval", type=float, default=0.0, help="pause between observations, seconds")
    parser.add_argument("--emotive", help="also send this emotive with a varying value")
    parser.add_argument("--learn", action="store_true", help="learn the STM after the stream")
    parser.add_argument("--api-key", help="sent as 'authorization: Bearer <key>'")
    args = parser.parse_args(argv)

    try:
        with ExitStack() as stack:
            client = stack.enter_context(KatoClient(args.target, api_key=args.api_key, timeout=30))
            session: SessionBase
            if args.session:
                session = client.attach(args.session)
            elif args.new:
                session = stack.enter_context(client.session(node_id=args.node))
                print(f"created {session.session_id}", flush=True)
            else:
                session = client.default_session(args.node)
            acks = stack.enter_context(session.observe_stream(
                observations(args.symbols.split(), args.count, args.interval, args.emotive)))
            n = 0
            for ack in acks:
                n += 1
                learned = f" auto-learned={ack.auto_learned_pattern}" if ack.auto_learned_pattern else ""
                print(f"ack {ack.sequence_position} id={ack.unique_id} time={ack.time} stm_length={ack.stm_length} "
                      f"symbols={','.join(ack.symbols)}{learned}", flush=True)
            print(f"sent {n} observations", flush=True)
            if args.learn:
                print(f"learned {session.learn() or '(nothing)'}", flush=True)
    except KatoError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
