#!/usr/bin/env python3
"""Python log_metric, per call amortized: ML Lab (buffered lines, background writes) vs a synchronous
HTTP POST per metric (what MLflow's client does), both measured in the same run. Standard library only.

    python3 bench/python-log-metric.py [--calls 1000000] [--posts 2000] [--repeat 3]

(a) ML Lab: ``exp.log_metric("loss", value)`` N times on a real run directory in a temporary lab
    home, including the final ``exp.flush()`` that writes the last lines to events.jsonl.
(b) Reference: one ``POST /metrics`` with a small JSON body per metric over a keep-alive
    ``http.client`` connection to a ``ThreadingHTTPServer`` on 127.0.0.1 (in a thread of this
    process) that reads the body and answers 200.
Each side runs ``--repeat`` times; the best run counts (least disturbed by the machine).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))

import mllab  # noqa: E402


def bench_mllab(calls: int, home: str) -> float:
    """Microseconds per log_metric call, amortized over ``calls`` calls and the final flush."""
    exp = mllab.start_experiment("bench", home=home)
    log = exp.log_metric
    values = [i / 1000 for i in range(1000)]
    t0 = time.perf_counter()
    for i in range(calls):
        log("loss", values[i % 1000])
    exp.flush()
    elapsed = time.perf_counter() - t0
    exp.end()
    with open(os.path.join(exp.dir, "events.jsonl"), "rb") as f:
        lines = sum(1 for _ in f)
    assert lines == calls + 1, (lines, calls)  # every point, plus the status line
    shutil.rmtree(exp.dir)
    return elapsed / calls * 1e6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY, as real servers set it: else the body, written after the headers, waits for the
    # client's delayed ACK (~40 ms per request on Linux), which would flatter ML Lab absurdly
    disable_nagle_algorithm = True

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


def bench_http(posts: int, port: int) -> float:
    """Microseconds per metric sent as one synchronous HTTP POST (keep-alive connection)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json"}
    t0 = time.perf_counter()
    for i in range(posts):
        body = json.dumps({"run_id": "bench", "key": "loss", "value": i / 1000, "timestamp": int(time.time() * 1000),
                           "step": i})
        conn.request("POST", "/api/2.0/mlflow/runs/log-metric", body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed / posts * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1_000_000, help="log_metric calls per ML Lab run")
    parser.add_argument("--posts", type=int, default=2_000, help="HTTP POSTs per reference run")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side; the best counts")
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    home = tempfile.mkdtemp(prefix="mllab-bench-")
    try:
        bench_http(100, server.server_address[1])  # warm up
        bench_mllab(10_000, home)
        ours = min(bench_mllab(args.calls, home) for _ in range(args.repeat))
        ref = min(bench_http(args.posts, server.server_address[1]) for _ in range(args.repeat))
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(home, ignore_errors=True)

    print(f"Python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} CPUs; "
          f"{args.calls:,} log_metric calls vs {args.posts:,} HTTP POSTs, best of {args.repeat}")
    print(f"python log_metric, per call amortized: {ours:.2f} us (ML Lab) vs {ref:.1f} us "
          f"(a synchronous HTTP call per metric), ratio {ref / ours:.0f}x")
    print(f"requirement: at most 3 us per call: {'met' if ours <= 3 else 'NOT met'}")


if __name__ == "__main__":
    main()
