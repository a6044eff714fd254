"""`make bench`: run every benchmark on this machine, print their tables, save JSON in .bench/.

Each benchmark is a standalone script (benchmarks/bench_*.py) run in its own process so that
memory figures are its own. Pass names to run only some: `python -m benchmarks consent audit`.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["adapters", "consent", "audit", "sealing", "gateway"]


def main(argv: list[str]) -> int:
    names = argv or ORDER
    out = Path(".bench")
    out.mkdir(exist_ok=True)
    summary: dict[str, object] = {
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
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
            [sys.executable, str(script), "--json", str(out / f"{name}.json")], check=False
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
