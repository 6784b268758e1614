#!/usr/bin/env python3
"""Conformance check for clients of the beistand alarm protocol (docs/alarm-protocol.md).

An integrator records the frames of their client's WebSocket connection(s) - one JSON object per
line, ``{"conn": "a", "dir": "in", "frame": {...}}`` ("in": server -> client, "out": client ->
server; ``conn`` optional, one connection per value) - and runs:

    python scripts/alarm_conformance.py check frames.jsonl [--schema alarm-protocol.schema.json]

Every frame is validated against the published schema (``ServerFrame`` / ``ClientFrame``), and
the client rule is checked per connection: it resumes after ``hello`` (with the epoch it has),
follows a ``reset``, receipts only events it received, never goes back, answers ``ping``, and
does not skip a new event it has not processed (the receipt after an event is the sign of
processing). To record against any server with the reference client (needs ``websockets``):

    python scripts/alarm_conformance.py record --url wss://host/ws/v1/alarms --token bsd_... \\
        --seconds 60 --out frames.jsonl

Exit status 0: conformant; 1: findings (listed); 2: usage error. Needs only ``jsonschema``.
"""

import argparse
import json
import sys
from pathlib import Path

DEFAULT_SCHEMA = Path(__file__).resolve().parents[1] / "docs" / "alarm-protocol.schema.json"


def load_records(path: Path) -> list[dict]:
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise SystemExit(f"{path}:{number}: not JSON ({exc})") from None
        if not isinstance(record, dict) or record.get("dir") not in ("in", "out") or \
                not isinstance(record.get("frame"), dict):
            raise SystemExit(f"{path}:{number}: expected {{\"dir\": \"in\"|\"out\", "
                             f"\"frame\": {{...}}}}")
        record["line"] = number
        records.append(record)
    return records


def validators(schema_path: Path):
    from jsonschema import Draft7Validator

    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    return {d: Draft7Validator({**schema, "$ref": f"#/definitions/{name}"})
            for d, name in (("in", "ServerFrame"), ("out", "ClientFrame"))}


def schema_findings(records, checks) -> list[str]:
    found = []
    for r in records:
        for error in checks[r["dir"]].iter_errors(r["frame"]):
            best = min(error.context or [error], key=lambda e: len(e.message) - len(e.path))
            where = "/".join(map(str, best.absolute_path)) or "(frame)"
            found.append(f"line {r['line']} ({r['dir']}): {where}: {best.message}")
    return found


def _seq(value) -> int | None:
    """An event number as the protocol has it (a non-negative whole number), else None."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def rule_findings(records) -> list[str]:
    """The client rule of docs/alarm-protocol.md, per connection. A number that is not one
    (a server's ``event_id`` "7", a client's receipt of 1.5) is a finding, never a crash; the
    frame is then left out of the rule check."""
    found = []
    by_conn: dict[str, list[dict]] = {}
    for r in records:
        by_conn.setdefault(str(r.get("conn", "")), []).append(r)
    for conn, items in by_conn.items():
        name = f"connection {conn!r}" if conn else "the connection"
        hello = None
        resumed = False
        last = None           # the client's position as the rule defines it
        received = set()      # event ids received on this connection
        pending = []          # new events received, not yet receipted
        pings = 0
        for r in items:
            frame, line = r["frame"], r["line"]
            kind = frame.get("type")
            if r["dir"] == "in":
                if kind == "hello":
                    hello = frame
                elif kind == "reset":
                    resume_from = _seq(frame.get("resume_from"))
                    if resume_from is None:
                        found.append(f"line {line}: {name}: reset with resume_from "
                                     f"{frame.get('resume_from')!r}, not an event number")
                        continue
                    last = resume_from
                    pending = [e for e in pending if e <= last]
                elif kind == "ping":
                    pings += 1
                elif "event_id" in frame:
                    event_id = _seq(frame["event_id"])
                    if event_id is None:
                        found.append(f"line {line}: {name}: server sent event_id "
                                     f"{frame['event_id']!r}, not an event number")
                        continue
                    received.add(event_id)
                    if last is not None and event_id > last:
                        pending.append(event_id)
                continue
            if kind == "resume":
                if hello is None:
                    found.append(f"line {line}: {name}: resume before hello")
                resumed = True
                last = _seq(frame.get("last_event_id", 0))
                if last is None:
                    found.append(f"line {line}: {name}: resume with last_event_id "
                                 f"{frame.get('last_event_id')!r}, not an event number")
                    last = 0
                if frame.get("epoch") is not None and last == 0:
                    found.append(f"line {line}: {name}: an epoch without a position")
            elif kind == "receipt":
                n = _seq(frame.get("event_id", 0))
                if n is None:
                    found.append(f"line {line}: {name}: receipt with event_id "
                                 f"{frame.get('event_id')!r}, not an event number")
                    continue
                if not resumed:
                    found.append(f"line {line}: {name}: receipt before resume")
                if n not in received and n != last:
                    found.append(f"line {line}: {name}: receipt for event {n}, never received")
                if last is not None and n < last:
                    found.append(f"line {line}: {name}: receipt {n} goes back (position {last})")
                last = max(last or 0, n)
                pending = [e for e in pending if e > n]
            elif kind == "pong":
                pings = max(0, pings - 1)
        if hello is not None and not resumed:
            found.append(f"{name}: no resume after hello")
        if pending:
            found.append(f"{name}: new events {sorted(pending)} were never receipted (dropped "
                         "as duplicates? after a reset the position is resume_from)")
        if pings > 1:
            found.append(f"{name}: {pings} pings not answered with pong")
    return found


def check(path: Path, schema_path: Path) -> int:
    records = load_records(path)
    findings = schema_findings(records, validators(schema_path)) + rule_findings(records)
    frames = len(records)
    for finding in findings:
        print(finding)
    print(json.dumps({"frames": frames, "findings": len(findings),
                      "conformant": not findings}))
    return 1 if findings else 0


async def _record(url: str, token: str, seconds: float, out: Path) -> None:
    import asyncio
    import time

    import websockets

    last, epoch = 0, None
    with out.open("w", encoding="utf-8") as sink:
        def log(direction, frame):
            sink.write(json.dumps({"conn": "1", "dir": direction, "frame": frame},
                                  ensure_ascii=False) + "\n")

        async with websockets.connect(url, additional_headers={
                "Authorization": f"Bearer {token}"}) as ws:
            async def send(frame):
                log("out", frame)
                await ws.send(json.dumps(frame))

            deadline = time.monotonic() + seconds
            while (remaining := deadline - time.monotonic()) > 0:
                try:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), remaining))
                except TimeoutError:
                    break
                log("in", frame)
                if not isinstance(frame, dict):
                    continue  # reported by the check
                kind = frame.get("type")
                if kind == "hello":
                    resume = {"type": "resume", "last_event_id": last}
                    if epoch:
                        resume["epoch"] = epoch
                    await send(resume)
                    epoch = frame.get("epoch")
                elif kind == "reset" and _seq(frame.get("resume_from")) is not None:
                    last, epoch = frame["resume_from"], frame.get("epoch")
                elif kind == "ping":
                    await send({"type": "pong"})
                elif (_seq(frame.get("event_id")) or 0) > last:
                    last = frame["event_id"]
                    await send({"type": "receipt", "event_id": last})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="check recorded frames (JSON lines)")
    c.add_argument("frames", type=Path)
    c.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA)
    r = sub.add_parser("record", help="record with the reference client, then check")
    r.add_argument("--url", required=True)
    r.add_argument("--token", required=True)
    r.add_argument("--seconds", type=float, default=30)
    r.add_argument("--out", type=Path, default=Path("frames.jsonl"))
    r.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA)
    args = parser.parse_args(argv)
    if not args.schema.is_file():
        print(f"schema not found: {args.schema}", file=sys.stderr)
        return 2
    if args.command == "record":
        import asyncio

        asyncio.run(_record(args.url, args.token, args.seconds, args.out))
        return check(args.out, args.schema)
    return check(args.frames, args.schema)


if __name__ == "__main__":
    sys.exit(main())
