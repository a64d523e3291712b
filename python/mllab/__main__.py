"""``python -m mllab sync [--timeout SECONDS]``: sends the runs recorded for a remote lab (``MLLAB_URL``,
``MLLAB_TOKEN``) that it does not hold all of yet, from the local journal (``MLLAB_LOCAL_RUNS``, else
``~/.cache/mllab/runs``). ``python -m mllab sweep-controller --home H --sweep ID`` runs a sweep's trials
(the backend starts it; see docs/SWEEPS.md)."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from ._errors import MLLabError
from ._remote import local_runs_dir
from ._sync import sync


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mllab", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    send = commands.add_parser("sync", help="send the runs of the local journal that the lab lacks")
    send.add_argument("--timeout", type=float, default=60.0,
                      help="seconds to keep retrying an unreachable lab (default 60)")
    control = commands.add_parser("sweep-controller", help="run a sweep's trials (started by the backend)")
    control.add_argument("--home", required=True, help="the lab home")
    control.add_argument("--sweep", required=True, help="the sweep's id")
    args = parser.parse_args(argv)
    if args.command == "sweep-controller":
        from ._sweep_controller import main as control_sweep

        return control_sweep(args.home, args.sweep)
    journal = local_runs_dir()
    try:
        sent, left = sync(journal, timeout=max(0.0, args.timeout))
    except MLLabError as e:
        print(f"mllab: {e}", file=sys.stderr)
        return 2
    if not sent and not left:
        print(f"Nothing to send: the lab holds every run of {journal}.")
    elif left:
        print(f"{len(left)} run(s) are not all sent; they stay in {journal}: run `python -m mllab sync` again.",
              file=sys.stderr)
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
