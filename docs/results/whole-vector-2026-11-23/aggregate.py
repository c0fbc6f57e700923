#!/usr/bin/env python3
"""Mean ± sd of final test accuracy and bytes per label over the runs in one or more `verified run` summary.json files.

Usage: python3 docs/results/aggregate.py DIR_OR_SUMMARY [...]   (prints a Markdown table)

`verified run --seeds K` prints the same table itself; this script exists because the runs behind docs/results.md
were split over several processes (seeds 1-2 in one, seed 3 in another) to use both cores. Only runs that completed
all their rounds count.
"""
import json
import os
import statistics
import sys
from collections import OrderedDict


def load(path):
    if os.path.isdir(path):
        path = os.path.join(path, "summary.json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)["runs"]


def main(paths):
    groups = OrderedDict()
    seen = set()
    for path in paths:
        for run in load(path):
            config = run["config"]
            key = (run["label"], config["seed"])
            # A (label, seed) pair counts once: the first file that has it completed wins.
            if run["finalAccuracy"] is None or run["roundsCompleted"] != config["rounds"] or key in seen:
                continue
            seen.add(key)
            groups.setdefault(run["label"], []).append(run)
    fp = groups.get("fp")
    fp_bytes = statistics.mean(r["totalBytes"] for r in fp) if fp else None
    fp_accuracy = statistics.mean(r["finalAccuracy"] for r in fp) if fp else None
    print("| label | bits/coord | seeds | final test accuracy (mean ± sd) | uploaded MB | vs fp: bytes, accuracy |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label, runs in groups.items():
        accuracies = [r["finalAccuracy"] for r in runs]
        mean = statistics.mean(accuracies)
        sd = statistics.stdev(accuracies) if len(accuracies) > 1 else float("nan")
        megabytes = statistics.mean(r["totalBytes"] for r in runs) / 1e6
        bits = statistics.mean(r["bitsPerCoordinate"] for r in runs)
        seeds = ",".join(str(r["config"]["seed"]) for r in runs)
        versus = ""
        if fp_bytes and label != "fp":
            versus = f"{fp_bytes / (megabytes * 1e6):.1f}× fewer, {100 * (mean - fp_accuracy):+.2f} points"
        print(f"| {label} | {bits:.3f} | {seeds} | {mean:.4f} ± {sd:.4f} | {megabytes:.1f} | {versus} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
