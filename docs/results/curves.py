#!/usr/bin/env python3
"""Compare two arms' test-accuracy curves, paired by seed, optionally with the second arm's rounds rescaled.

Usage:
  python3 docs/results/curves.py EVALUATIONS.csv [...] --pair A B [FACTOR] [--pair ...]

EVALUATIONS.csv are the files `verified plot` writes (label,seed,round,total_bytes,test_accuracy,test_loss); several
files are merged. For each --pair, every evaluated round r of arm A is matched with round FACTOR * r of arm B
(FACTOR defaults to 1) in the seeds both have, and the script prints a Markdown table: r, FACTOR * r, A's and B's
mean accuracy over those seeds, and the paired difference A - B with its standard error (sd of the per-seed
differences / sqrt(pairs)), in accuracy points.

Used by docs/results.md for the SDE paper's scaling rules: the sparsifier's batch rule is a pair with factor 1
(bernoulli at B/q against fp at B), and DSignSGD's square-root rule (k*eta, k^2*B) a pair against (eta, B) with
factor k (far from the optimum) and k^2 (the linear regime of spec section 4.4).
"""
import csv
import math
import statistics
import sys


def load(paths):
    accuracy = {}
    for path in paths:
        with open(path, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                key = (row["label"], int(row["seed"]), int(row["round"]))
                accuracy.setdefault(key, float(row["test_accuracy"]))
    return accuracy


def table(accuracy, a, b, factor):
    rounds_a = sorted({r for (label, _, r) in accuracy if label == a})
    lines = [
        f"| {a} round | {b} round | {a} | {b} | {a} − {b}, points (paired ± se, pairs) |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rounds_a:
        rb = round(factor * r)
        seeds = sorted(s for (label, s, rr) in accuracy if label == a and rr == r and (b, s, rb) in accuracy)
        if not seeds:
            continue
        xa = [accuracy[(a, s, r)] for s in seeds]
        xb = [accuracy[(b, s, rb)] for s in seeds]
        d = [100 * (x - y) for x, y in zip(xa, xb)]
        se = f" ± {statistics.stdev(d) / math.sqrt(len(d)):.2f}" if len(d) > 1 else ""
        lines.append(f"| {r} | {rb} | {statistics.mean(xa):.4f} | {statistics.mean(xb):.4f} | "
                     f"{statistics.mean(d):+.2f}{se} ({len(d)}) |")
    return "\n".join(lines)


def main(argv):
    files, pairs, i = [], [], 0
    while i < len(argv):
        if argv[i] == "--pair":
            a, b = argv[i + 1], argv[i + 2]
            factor = 1.0
            if i + 3 < len(argv) and not argv[i + 3].startswith("--"):
                try:
                    factor = float(argv[i + 3])
                    i += 1
                except ValueError:
                    pass
            pairs.append((a, b, factor))
            i += 3
        else:
            files.append(argv[i])
            i += 1
    if not files or not pairs:
        sys.exit(__doc__)
    accuracy = load(files)
    for a, b, factor in pairs:
        print(f"{a} against {b}" + (f", {b}'s round = {factor:g} × {a}'s" if factor != 1 else ", same rounds") + ":")
        print()
        print(table(accuracy, a, b, factor))
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
