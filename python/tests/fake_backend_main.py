"""A stand-in for dist/backend.js, started by the client from launcher.json in the launcher tests.

Usage: python fake_backend_main.py --home HOME --idle-exit SECONDS [--fail]
Registers with port 0 first (still starting), then with the real port, like the backend.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time

import support  # noqa: E402  (this script's folder is on sys.path)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", required=True)
    parser.add_argument("--idle-exit", type=float, default=300)
    parser.add_argument("--fail", action="store_true")
    args = parser.parse_args()
    if args.fail:
        sys.stderr.write("fake backend: cannot open the database: disk I/O error\n")
        return 2
    with open(os.path.join(args.home, "launch-args.txt"), "w") as f:
        f.write("\n".join(sys.argv[1:] + [f"ELECTRON_RUN_AS_NODE={os.environ.get('ELECTRON_RUN_AS_NODE')}"]))
    store = support.FakeStore(os.path.join(args.home, "fake-store"))
    store.add(os.path.join(args.home, "seed.txt"), name="seed")
    support.write_registration(args.home, pid=os.getpid(), port=0, token="launched-token")
    time.sleep(0.3)  # "still starting"
    backend = support.FakeBackend(store, token="launched-token")
    support.write_registration(args.home, pid=os.getpid(), port=backend.port, token="launched-token")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait(args.idle_exit if args.idle_exit > 0 else None)
    backend.close()
    os.remove(os.path.join(args.home, "run", "backend.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
