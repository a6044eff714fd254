"""`make bench`: run every benchmark on this machine, print their tables, save JSON in .bench/.

Each benchmark is a standalone script (benchmarks/bench_*.py) run in its own process so that
memory figures are its own. Pass names to run only some: `python -m benchmarks consent audit`.
`make bench` uses sizes that keep the whole run to a few minutes on a 2-core machine (QUICK);
`--full` runs every script at its own defaults (DESIGN §11's sizes: a million consents, …).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["adapters", "consent", "audit", "sealing", "gateway"]
QUICK = {
    "adapters": ["--mb", "1", "--repeat", "1"],
    "consent": ["--consents", "200000", "--decisions", "50000"],
    "audit": ["--entries", "50000"],
    "sealing": ["--seconds", "1"],
    "gateway": [],
}


def main(argv: list[str]) -> int:
    full = "--full" in argv
    names = [name for name in argv if name != "--full"] or ORDER
    out = Path(".bench")
    out.mkdir(exist_ok=True)
    summary: dict[str, object] = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "sizes": "full" if full else "quick",
    }
    failed = []
    for name in names:
        script = HERE / f"bench_{name}.py"
        if not script.is_file():
            print(f"no benchmark named {name!r} ({', '.join(ORDER)})", file=sys.stderr)
            return 2
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        result = subprocess.run(  # our own scripts
            [
                sys.executable,
                str(script),
                "--json",
                str(out / f"{name}.json"),
                *([] if full else QUICK.get(name, [])),
            ],
            check=False,
        )
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            failed.append(name)
            continue
        summary[name] = {
            "seconds": round(elapsed, 1),
            "results": json.loads((out / f"{name}.json").read_text()),
        }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"\nresults: {out.resolve()}/*.json (summary.json has them all)")
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
