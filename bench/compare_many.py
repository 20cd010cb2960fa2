#!/usr/bin/env python3
"""Measures `repro compare` on manifests with many artifacts: wall time and
peak RSS at two sizes, and the memory each extra artifact costs.

Two identical build folders of N tiny artifacts each (Secluso's newer layout:
artifacts/<triple>/<bin>, every artifact with its sha256) are compared at
--small and --large artifact counts; the per-artifact figure is
(RSS at large - RSS at small) / (large - small).

Usage: bench/compare_many.py [--repro target/release/repro] [--small 10000]
                             [--large 100000] [--runs 3]
Needs GNU time (/usr/bin/time; apt-get install -y time). Prints the figures;
exits 0 either way, since a benchmark informs, it does not gate.
"""

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

TRIPLE = "x86_64-unknown-linux-gnu"
GNU_TIME = "/usr/bin/time"


def build(folder, count):
    """A build folder of `count` artifacts, each a distinct 32-byte file."""
    os.makedirs(os.path.join(folder, "artifacts", TRIPLE))
    artifacts = []
    for i in range(count):
        name = f"bin{i:06d}"
        content = f"artifact {i:06d} of the benchmark\n".encode()[:32]
        with open(os.path.join(folder, "artifacts", TRIPLE, name), "wb") as f:
            f.write(content)
        artifacts.append({
            "package": f"package{i:06d}", "target": TRIPLE, "bin": name,
            "bin_path": f"artifacts/{TRIPLE}/{name}",
            "sha256": hashlib.sha256(content).hexdigest(),
            "crate": f"crate{i:06d}", "version": "0.1.0",
            "crate_lock_sha256": "0" * 64, "rust_digest": "sha256:" + "1" * 64,
        })
    manifest = {"build": {"target": "bench", "profile": "bench", "run_id": "1",
                          "timestamp": "1970-01-01T00:00:00Z"},
                "artifacts": artifacts}
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)


def measure(repro, a, b, runs):
    """Median wall seconds and the largest peak RSS (KiB) over `runs` runs."""
    walls, rss = [], []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run([GNU_TIME, "-f", "%M", repro, "compare", a, b],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        walls.append(time.perf_counter() - start)
        if proc.returncode != 0:
            sys.exit(f"repro compare exited {proc.returncode}: {proc.stderr.decode()[-2000:]}")
        rss.append(int(proc.stderr.decode().split()[-1]))
    return statistics.median(walls), max(rss)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repro", default="target/release/repro")
    ap.add_argument("--small", type=int, default=10000)
    ap.add_argument("--large", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if not os.path.exists(GNU_TIME):
        sys.exit("needs GNU time: apt-get install -y time")
    repro = os.path.abspath(args.repro)
    print(f"machine: {os.cpu_count()} cores; repro: {repro}; median wall, max RSS of {args.runs} runs")
    figures = {}
    with tempfile.TemporaryDirectory(prefix="repro-bench-many-") as tmp:
        for count in (args.small, args.large):
            a, b = (os.path.join(tmp, f"{count}-{side}") for side in "ab")
            build(a, count)
            build(b, count)
            wall, rss = measure(repro, a, b, args.runs)
            figures[count] = rss
            print(f"{count:>7} artifacts: {wall:.2f} s, peak RSS {rss / 1024:.1f} MiB")
    per = (figures[args.large] - figures[args.small]) * 1024 / (args.large - args.small)
    print(f"memory per extra artifact: {per:.0f} bytes")


if __name__ == "__main__":
    main()
