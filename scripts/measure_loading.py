"""Time the server's loading (index + model) the way the server does it, in this process.

    python scripts/measure_loading.py --index /tmp/scratch-index [--sequential] [--llm bundled]

An empty --index folder measures a first start's index build; a built one, a warm start.
COPYADVISOR_CACHE pointing at an empty folder (with models/embeddinggemma-300m linked in)
measures the model's first preparation too. Prints one JSON line: seconds to ready, each
task's seconds and stage seconds, and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from dataclasses import replace

from copyadvisor.config import load_config
from copyadvisor.web.services import Services


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", required=True)
    parser.add_argument("--llm", default=None)
    parser.add_argument("--sequential", action="store_true", help="index, then model (default: both at once)")
    args = parser.parse_args()
    config = replace(load_config({"index": args.index, "llm": args.llm}))
    load_before = os.getloadavg()
    services = Services(config, parallel=not args.sequential)
    started, cpu = time.perf_counter(), cpu_seconds()
    services.load_in_background().join()  # in a thread, as the server does
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    health = services.health()
    print(json.dumps({
        "mode": "sequential" if args.sequential else "parallel", "ready_s": round(seconds, 1), "cpu_s": round(cpu, 1), "status": health["status"],
        "error": services.error, "rebuilt_index": bool(services.library and services.library.index.rebuilt),
        "tasks": {t["task"]: {"seconds": t["seconds"], "stages": t["stages"]} for t in health["loading"]["tasks"]},
        "loadavg_before": [round(x, 2) for x in load_before], "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }))


def cpu_seconds() -> float:
    """User + system CPU time of this process: what the loading costs whatever else the machine runs."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
