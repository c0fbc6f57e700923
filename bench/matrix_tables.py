#!/usr/bin/env python3
"""Pivot BenchmarkDotNet's joined codec matrix into Markdown tables, one per d.

Usage: python3 bench/matrix_tables.py bench/Verified.Benchmarks/BenchmarkDotNet.Artifacts/results/BenchmarkRun-joined-*-report.csv

Rows: the cases (tnq-1 … fp); columns: encode, decode and decode-accumulate of each path (scalar, the vector path,
torch: the same quantizer in TorchSharp tensor ops), in million coordinates per second (d / mean time, the report's
Mcoords/s column). The memory copy of the same run heads each table.
"""
import csv
import sys
from collections import defaultdict

ORDER = [f"{s}-{b}" for s in ("tnq", "tuq", "tbq") for b in (1, 2, 3, 4, 8)] + \
        [f"{s}-{b}" for s in ("qsgd", "nuqsgd") for b in (2, 3, 4, 8)] + ["sign", "fp"]
OPS = ["Encode", "Decode", "DecodeAccumulate"]


def main(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    table = defaultdict(dict)   # (d, case) -> {(path, op): value}
    copies = {}
    paths = set()
    for r in rows:
        d = int(r["D"].replace(",", ""))
        value = r.get("Mcoords/s", "-")
        if r["Type"] == "MemoryCopyBenchmarks":
            copies[d] = value
            continue
        path_name = "torch" if r["Type"] == "TorchBaselineBenchmarks" else r["Path"]
        paths.add(path_name)
        table[(d, r["Case"])][(path_name, r["Method"])] = value
    ordered_paths = sorted(paths, key=lambda p: {"scalar": 0, "torch": 9}.get(p, 5))
    for d in sorted({k[0] for k in table}):
        print(f"\n**d = {d:,}** (memory copy: {copies.get(d, '-')} M floats/s)\n")
        header = ["case"] + [f"{p} {o.replace('DecodeAccumulate', 'dec+acc').lower()}" for p in ordered_paths for o in OPS]
        print("| " + " | ".join(header) + " |")
        print("| --- " + "| ---: " * (len(header) - 1) + "|")
        for case in ORDER:
            cells = table.get((d, case))
            if cells is None:
                continue
            print("| " + " | ".join([case] + [cells.get((p, o), "–") for p in ordered_paths for o in OPS]) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
