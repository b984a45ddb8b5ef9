#!/usr/bin/env bash
# Same-run ingest comparison: almanac-load against the null sink, then against a fresh Almanac, on free loopback
# ports. Usage: bench/load.sh [duration] [protocol] [shape] [exporters] [out-dir]
#   e.g. bench/load.sh 20s grpc realistic 4 /tmp/load-results
# Writes sink.json and almanac.json (almanac-load summaries) and almanac.log into out-dir.
set -euo pipefail
DURATION=${1:-20s}
PROTOCOL=${2:-grpc}
SHAPE=${3:-realistic}
EXPORTERS=${4:-4}
OUT=${5:-$(mktemp -d /tmp/almanac-load.XXXXXX)}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$OUT"

dotnet build -c Release "$ROOT/tools/Almanac.Load" -v q -nologo >/dev/null
dotnet build -c Release "$ROOT/src/Almanac.Server" -v q -nologo >/dev/null
LOAD="$ROOT/tools/Almanac.Load/bin/Release/net10.0/almanac-load.dll"
SRV="$ROOT/src/Almanac.Server/bin/Release/net10.0/almanac.dll"
# shellcheck source=bench/ports.sh
. "$ROOT/bench/ports.sh"
target() { if [ "$PROTOCOL" = grpc ]; then echo "http://127.0.0.1:$1"; else echo "http://127.0.0.1:$2"; fi; }
SECONDS_LIMIT=600  # hard bound on every step

echo "machine: $(nproc) cores, $(lscpu | grep 'Model name' | sed 's/.*: *//'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit: $(git -C "$ROOT" rev-parse --short HEAD)"

read -r G H <<<"$(free_ports 2)"
timeout "$SECONDS_LIMIT" dotnet "$LOAD" sink --grpc-port "$G" --http-port "$H" --duration "$SECONDS_LIMIT"s >"$OUT/sink-counts.json" 2>/dev/null &
SINK=$!
sleep 3
echo "== null sink"
timeout "$SECONDS_LIMIT" dotnet "$LOAD" traces --endpoint "$(target "$G" "$H")" --protocol "$PROTOCOL" --shape "$SHAPE" \
  --exporters "$EXPORTERS" --duration "$DURATION" --json-summary "$OUT/sink.json" --no-progress || true
kill "$SINK" 2>/dev/null || true
wait "$SINK" 2>/dev/null || true

read -r G H U <<<"$(free_ports 3)"
DATA="$OUT/almanac-data"
rm -rf "$DATA"
dotnet "$SRV" --data-dir "$DATA" --otlp-grpc-port "$G" --otlp-http-port "$H" --ui-port "$U" >"$OUT/almanac.log" 2>&1 &
ALMANAC=$!
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$U/readyz" >/dev/null && break; sleep 0.5; done
echo "== almanac"
timeout "$SECONDS_LIMIT" dotnet "$LOAD" traces --endpoint "$(target "$G" "$H")" --protocol "$PROTOCOL" --shape "$SHAPE" \
  --exporters "$EXPORTERS" --duration "$DURATION" --json-summary "$OUT/almanac.json" --no-progress || true
du -sh "$DATA"
kill -TERM "$ALMANAC"
wait "$ALMANAC" || true
rm -rf "$DATA"
echo "summaries in $OUT"
