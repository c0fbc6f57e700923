#!/usr/bin/env bash
# The cluster's cost on one machine (docs/cluster.md, "Measured"): the default run (CNN, 8 clients, TNQSGD b = 3 per
# tensor with error feedback) for ROUNDS rounds in one process, then with its server and clients on K local silos;
# rounds/s, the median wall time of a round, where the time went (summary.json) and the bytes that crossed loopback.
# Build first (dotnet build Verified.sln -c Release); run on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${ROUNDS:-100}
silos=${SILOS:-3}
bin=src/Host/bin/Release/net10.0/verified
out=$(mktemp -d)
loopback() { cat /sys/class/net/lo/statistics/tx_bytes; }
echo "cores: $(nproc); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

common=(--rounds "$rounds" --no-baseline --seed 1 --checkpoint-every 0 --quiet)
"$bin" run "${common[@]}" --out "$out/one" | grep -E "rounds/s"
before=$(loopback)
"$bin" run "${common[@]}" --cluster "local:$silos" --out "$out/cluster" | grep -E "rounds/s"
after=$(loopback)
echo "loopback bytes during the cluster run (silo start-up included): $((after - before))"

python3 - "$out" "$rounds" <<'PY'
import csv, json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
for name in ("one", "cluster"):
    rows = list(csv.DictReader(open(f"{out}/{name}/metrics.csv")))
    t = [float(r["elapsed_seconds"]) for r in rows]
    # Rounds after which the server evaluated carry the evaluation: leave them (and the warm-up's first 10) out.
    steps = [b - a for a, b, r in zip(t, t[1:], rows[1:]) if not r["test_accuracy"]][10:]
    summary = json.load(open(f"{out}/{name}/summary.json"))
    run = summary["runs"][0] if "runs" in summary else summary
    print(f"{name}: median round {1000 * statistics.median(steps):.1f} ms over {len(steps)} rounds; "
          f"uploaded {int(rows[-1]['total_bytes']) / rounds / 1e6:.3f} MB per round (payload lengths)")
    print(f"  time (s): {json.dumps(run.get('timeSeconds', {}))}")
PY
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -rf "$out"
