#!/usr/bin/env python3
"""Streaming subscriber: prints each prediction update of a session as it arrives.

Subscribes to --session SESSION_ID, or to the default session of --node (KATO v1 style),
and prints one line per change of that session's STM, whoever made it, with the top
predictions. Stops after --max-updates updates or --duration seconds, on Ctrl-C, or when
the session is deleted or expires.

    python subscriber.py --target 127.0.0.1:50051 --session session-... --max-updates 10
    python subscriber.py --node demo            # default session of node "demo"
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import List

from kato_client import KatoClient, KatoError, PredictionUpdate, SessionEnded


def describe(update: PredictionUpdate, top: int) -> str:
    stm = " ".join(",".join(e) for e in update.stm) or "(empty)"
    line = f"#{update.sequence} {update.cause.name} time={update.time} stm=[{stm}] predictions={len(update.predictions)}"
    for p in update.predictions[:top]:
        future = " ".join(",".join(e) for e in p.future) or "(end)"
        line += f"\n    {p.pattern_name} future={future} potential={p.potential:.3f}"
    return line


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="127.0.0.1:50051", help="server host:port")
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--session", help="session id to follow")
    who.add_argument("--node", default="default", help="follow this node's default session (default: 'default')")
    parser.add_argument("--max-updates", type=int, default=0, help="stop after N updates (0: no limit)")
    parser.add_argument("--duration", type=float, default=0, help="stop after this many seconds (0: no limit)")
    parser.add_argument("--top", type=int, default=3, help="predictions printed per update")
    parser.add_argument("--no-initial", action="store_true", help="do not print the current state first")
    parser.add_argument("--api-key", help="sent as 'authorization: Bearer <key>'")
    args = parser.parse_args(argv)

    with KatoClient(args.target, api_key=args.api_key, timeout=30) as client:
        try:
            session = client.attach(args.session) if args.session else client.default_session(args.node)
            updates = session.subscribe(send_initial=not args.no_initial)
        except KatoError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        if args.duration > 0:
            timer = threading.Timer(args.duration, updates.close)
            timer.daemon = True
            timer.start()
        signal.signal(signal.SIGINT, lambda *_: updates.close())
        signal.signal(signal.SIGTERM, lambda *_: updates.close())
        followed = args.session or f"default session of node {args.node!r}"
        print(f"subscribed to {followed}", flush=True)
        count = 0
        try:
            with updates:
                for update in updates:
                    count += 1
                    print(describe(update, args.top), flush=True)
                    if args.max_updates and count >= args.max_updates:
                        break
        except SessionEnded as e:
            print(f"session ended: {e.message}", flush=True)
        except KatoError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        print(f"received {count} updates", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
