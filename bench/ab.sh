#!/usr/bin/env bash
# A/B ingest comparison of two builds of Almanac on this machine: builds each revision in Release (the working tree
# for "WORKTREE"), then runs the same realistic load against a fresh Almanac of each, alternating A, B, A, B, ...
# so that drift of the machine hits both alike. Prints one line per run and the mean of each: spans/s acknowledged,
# Almanac's CPU (cores and µs per span), and how busy the whole machine was. On a 2-core machine two runs of one
# build differ by ±5–10%: take at least three runs each before believing a difference of that size.
# Usage: bench/ab.sh <rev-a> <rev-b|WORKTREE> [runs per build] [duration] [exporters]
#   e.g. bench/ab.sh HEAD WORKTREE 3 30s 4
set -euo pipefail
A=${1:?usage: bench/ab.sh <rev-a> <rev-b|WORKTREE> [runs] [duration] [exporters]}
B=${2:?usage: bench/ab.sh <rev-a> <rev-b|WORKTREE> [runs] [duration] [exporters]}
RUNS=${3:-3}
DURATION=${4:-30s}
EXPORTERS=${5:-4}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/almanac-ab.XXXXXX)
trap 'git -C "$ROOT" worktree prune; rm -rf "$WORK"' EXIT

dotnet build -c Release "$ROOT/tools/Almanac.Load" -v q -nologo >/dev/null
LOAD="$ROOT/tools/Almanac.Load/bin/Release/net10.0/almanac-load.dll"
# shellcheck source=bench/ports.sh
. "$ROOT/bench/ports.sh"

# Builds revision $1 into $WORK/$2.
build() {
  local rev=$1 name=$2 src
  if [ "$rev" = WORKTREE ]; then
    src=$ROOT
  else
    src=$WORK/src-$name
    git -C "$ROOT" worktree add --detach -q "$src" "$rev"
  fi
  dotnet build -c Release "$src/src/Almanac.Server" -v q -nologo -o "$WORK/$name" >/dev/null
  if [ "$rev" != WORKTREE ]; then git -C "$ROOT" worktree remove --force "$src"; fi
}

# cpu ticks of the whole machine: "busy total"
machine() { awk '/^cpu /{busy=$2+$3+$4+$7+$8+$9; print busy, busy+$5+$6}' /proc/stat; }

# One run of build $1; prints "spans/s cores us/span busy%".
run() {
  local name=$1 data=$WORK/data-$1 g h u pid t0 t1 m0 m1
  rm -rf "$data"
  read -r g h u <<<"$(free_ports 3)"
  dotnet "$WORK/$name/almanac.dll" --data-dir "$data" --otlp-grpc-port "$g" --otlp-http-port "$h" --ui-port "$u" \
    >"$WORK/$name.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$u/readyz" >/dev/null && break; sleep 0.5; done
  t0=$(awk '{print $14+$15}' "/proc/$pid/stat"); m0=$(machine)
  timeout 900 dotnet "$LOAD" traces --endpoint "http://127.0.0.1:$g" --protocol grpc --shape realistic \
    --exporters "$EXPORTERS" --duration "$DURATION" --json-summary "$WORK/$name.json" --no-progress >/dev/null 2>&1 || true
  t1=$(awk '{print $14+$15}' "/proc/$pid/stat"); m1=$(machine)
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  python3 - "$WORK/$name.json" "$t0" "$t1" "$m0" "$m1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
cpu = (int(sys.argv[3]) - int(sys.argv[2])) / 100  # clock ticks of 1/100 s
b0, n0 = map(int, sys.argv[4].split()); b1, n1 = map(int, sys.argv[5].split())
spans = max(1, d["spans_accepted"])
print(f'{d["spans_per_s"]:.0f} {cpu / d["elapsed_s"]:.2f} {cpu * 1e6 / spans:.2f} {100 * (b1 - b0) / max(1, n1 - n0):.0f}')
EOF
}

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); A = $A, B = $B; $RUNS runs of $DURATION each, $EXPORTERS exporters"
build "$A" a
build "$B" b
: >"$WORK/results"
for i in $(seq 1 "$RUNS"); do
  for name in a b; do
    line=$(run "$name")
    echo "$name $line" >>"$WORK/results"
    read -r rate cores us busy <<<"$line"
    printf '%s run %d: %8s spans/s  %s cores  %s µs/span  machine %s%% busy\n' "$name" "$i" "$rate" "$cores" "$us" "$busy"
  done
done
awk '{n[$1]++; r[$1]+=$2; c[$1]+=$4} END {for (k in n) printf "%s mean: %.0f spans/s, %.2f µs/span (%d runs)\n", k, r[k]/n[k], c[k]/n[k], n[k]}' "$WORK/results" | sort
