"""Run the fuzz tests (``tests/fuzz``) as separate pytest processes, ``--jobs`` at a time, for ``make fuzz``.

Each reader's long run is one test taking 15 to 30 minutes on one core; run one after another they take
about three hours on a 2-core machine. Here each test id is its own process (Hypothesis holds up to 4 GB per
process at the long budget, so keep ``--jobs`` within memory / 4 GB), and each one's output is printed
whole as it ends. Exits 1 when any test failed, naming them.

Run: ``make fuzz`` (``FUZZ_JOBS=N`` to choose), or ``.venv/bin/python -m tests.fuzz.parallel --jobs 2``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

PYTEST = [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:randomly", "-p", "no:cacheprovider"]


def test_ids(paths: list[str]) -> list[str]:
    """The node ids pytest collects under ``paths``."""
    done = subprocess.run([*PYTEST, "--collect-only", *paths], capture_output=True, text=True, check=True)
    return [line for line in done.stdout.splitlines() if "::" in line]


def run(node: str) -> tuple[str, int, float, str]:
    start = time.perf_counter()
    done = subprocess.run([*PYTEST, "-W", "ignore::UserWarning", node], capture_output=True, text=True)
    return node, done.returncode, time.perf_counter() - start, done.stdout + done.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("paths", nargs="*", default=["tests/fuzz"])
    args = parser.parse_args()
    nodes = test_ids(args.paths)
    print(f"{len(nodes)} fuzz tests, {args.jobs} at a time", flush=True)
    failed: list[str] = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for future in as_completed([pool.submit(run, node) for node in nodes]):
            node, code, seconds, output = future.result()
            print(f"== {node}: {'passed' if code == 0 else 'FAILED'} in {seconds:.0f} s\n{output.strip()}", flush=True)
            if code != 0:
                failed.append(node)
    if failed:
        print(f"{len(failed)} of {len(nodes)} failed: {', '.join(failed)}")
        return 1
    print(f"all {len(nodes)} passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
