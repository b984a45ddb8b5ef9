#!/usr/bin/env bash
# The one-command benchmark: builds Almanac, almanac-load and the harness in Release, then runs the harness, which
# measures ingest (vs the null sink, same run), bytes per span, trace-by-id and search latencies, and the web UI
# opening big traces, and writes bench/results/<date>-<commit>.md with PNG plots. Options: see bench/README.md or
# `bench/run.sh --help`. A small run that takes minutes:
#   bench/run.sh --duration 20s --spans 1000000 --first-level 200000
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
dotnet build -c Release "$ROOT/src/Almanac.Server" -v q -nologo >/dev/null
dotnet build -c Release "$ROOT/bench/Almanac.Bench" -v q -nologo >/dev/null
exec dotnet "$ROOT/bench/Almanac.Bench/bin/Release/net10.0/Almanac.Bench.dll" "$@"
