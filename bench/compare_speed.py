#!/usr/bin/env python3
"""Measures `repro compare` against public tools on the same files.

Goals (issue: the repro tool):
  large: 2 x 400 MiB compared in at most 0.75 x the wall time of one
         `openssl dgst -sha256` over the same two files;
  small: 2 x 3000 small files in at most 2 x the time of one `sha256sum`
         over them;
  memory: peak RSS of compare flat in file size (2 x 40 MiB vs 2 x 400 MiB).

All runs are warm-cache (files read once before timing), median of --runs.
Usage: bench/compare_speed.py [--repro target/release/repro] [--runs 5] [--mib 400]
Prints one line per measurement and a verdict per goal; exits 0 either way,
since a benchmark informs, it does not gate.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TRIPLE = "x86_64-unknown-linux-gnu"


def write_build(folder, names):
    """Writes manifest.json for files already at <folder>/<TRIPLE>/<name>."""
    artifacts = [{
        "package": name, "target": TRIPLE, "bin": name,
        "bin_path": f"{TRIPLE}/{name}", "crate": name, "version": "0.1.0",
        "crate_lock_sha256": "0" * 64, "rust_digest": "bench",
    } for name in names]
    manifest = {"build": {"target": "bench", "profile": "bench", "run_id": "1",
                          "timestamp": "1970-01-01T00:00:00Z"},
                "artifacts": artifacts}
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        json.dump(manifest, f)


def twin_builds(tmp, label, sizes):
    """Two build folders holding identical random files of the given sizes
    (name -> bytes). Content is streamed in 1 MiB chunks: this process must
    stay small, because a child forked from it inherits its peak RSS in
    ru_maxrss and would be charged for it."""
    folders = [os.path.join(tmp, f"{label}-{side}") for side in "ab"]
    for folder in folders:
        os.makedirs(os.path.join(folder, TRIPLE))
    for name, size in sizes.items():
        first = os.path.join(folders[0], TRIPLE, name)
        with open(first, "wb") as f:
            left = size
            while left:
                chunk = min(left, 1 << 20)
                f.write(os.urandom(chunk))  # random: no layer can shortcut on repetition
                left -= chunk
        shutil.copyfile(first, os.path.join(folders[1], TRIPLE, name))
    for folder in folders:
        write_build(folder, sizes)
    return folders, [os.path.join(f, TRIPLE, n) for f in folders for n in sizes]


GNU_TIME = "/usr/bin/time"


def run_once(argv):
    """Wall seconds and peak RSS (KiB) of one run; output discarded. The RSS
    comes from GNU time, which forks the command from its own small process:
    ru_maxrss of a child forked from this Python would include Python's own
    high-water mark (Linux keeps it across exec)."""
    measured = [GNU_TIME, "-f", "%M", *argv] if os.path.exists(GNU_TIME) else argv
    start = time.perf_counter()
    proc = subprocess.run(measured, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{argv[0]} exited {proc.returncode}: {proc.stderr.decode()}")
    rss = int(proc.stderr.decode().split()[-1]) if measured is not argv else 0
    return wall, rss


def median_run(argv, runs):
    results = [run_once(argv) for _ in range(runs)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results)


def warm(paths):
    for p in paths:
        with open(p, "rb") as f:
            while f.read(1 << 24):
                pass


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repro", default="target/release/repro")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--mib", type=int, default=400)
    ap.add_argument("--small-files", type=int, default=3000)
    args = ap.parse_args()
    repro = os.path.abspath(args.repro)
    print(f"machine: {os.cpu_count()} cores; repro: {repro}; median of {args.runs} warm runs")
    if not os.path.exists(GNU_TIME):
        print("memory: not measured (install GNU time: apt-get install -y time)")

    with tempfile.TemporaryDirectory(prefix="repro-bench-") as tmp:
        (a, b), files = twin_builds(tmp, "big", {"big": args.mib << 20})
        warm(files)
        openssl, _ = median_run(["openssl", "dgst", "-sha256", *files], args.runs)
        ours, rss_big = median_run([repro, "compare", a, b], args.runs)
        ratio = ours / openssl
        print(f"large: openssl dgst -sha256 over 2 x {args.mib} MiB: {openssl:.3f} s")
        print(f"large: repro compare over 2 x {args.mib} MiB:        {ours:.3f} s "
              f"({ratio:.2f} x openssl; goal <= 0.75: {'met' if ratio <= 0.75 else 'NOT met'})")

        small_mib = max(1, args.mib // 10)
        (sa, sb), files = twin_builds(tmp, "mid", {"big": small_mib << 20})
        warm(files)
        _, rss_small = median_run([repro, "compare", sa, sb], args.runs)
        flat = rss_big <= rss_small * 1.25 + 1024
        print(f"memory: peak RSS {rss_small} KiB at 2 x {small_mib} MiB, {rss_big} KiB at 2 x {args.mib} MiB "
              f"(goal flat: {'met' if flat else 'NOT met'})")

        sizes = {f"bin{i:04d}": 4096 + (i * 97) % 60000 for i in range(args.small_files)}
        (ma, mb), paths = twin_builds(tmp, "many", sizes)
        warm(paths)
        sha256sum, _ = median_run(["sha256sum", *paths], args.runs)
        ours, _ = median_run([repro, "compare", ma, mb], args.runs)
        ratio = ours / sha256sum
        print(f"small: sha256sum over 2 x {args.small_files} files:   {sha256sum:.3f} s")
        print(f"small: repro compare over 2 x {args.small_files} files: {ours:.3f} s "
              f"({ratio:.2f} x sha256sum; goal <= 2: {'met' if ratio <= 2 else 'NOT met'})")


if __name__ == "__main__":
    main()
