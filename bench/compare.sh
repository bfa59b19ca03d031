#!/usr/bin/env bash
# AutoKl against PyTorch on the same workloads, measured side by side in one run, printed as
# ratios (AutoKl time / PyTorch time; below 1 means AutoKl is faster). Ratios, not absolute
# times, because a shared machine is noisy: both sides run alternately, several times, and
# each keeps its fastest batch, so a slow patch of time hurts neither.
#
# Usage: bench/compare.sh [passes=2] [rounds=5] [threads=1]  (threads: for both sides)
# Needs: the .NET SDK, and /usr/bin/python3 with torch (Debian: apt-get install python3-torch).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
passes="${1:-2}"
rounds="${2:-5}"
threads="${3:-1}"
python="${PYTHON:-/usr/bin/python3}"

dotnet build -c Release "$root/bench/AutoKl.Benchmarks" -v quiet -nologo >/dev/null
dll="$root/bench/AutoKl.Benchmarks/bin/Release/net10.0/AutoKl.Benchmarks.dll"
"$python" -c "import torch" 2>/dev/null || { echo "compare.sh: $python cannot import torch" >&2; exit 1; }

results="$(mktemp)"
trap 'rm -f "$results"' EXIT
for pass in $(seq 1 "$passes"); do
  echo "pass $pass/$passes: AutoKl" >&2
  dotnet "$dll" --timing "$rounds" "$threads" 2>/dev/null | sed 's/^/autokl /' >> "$results"
  echo "pass $pass/$passes: PyTorch ($threads thread(s))" >&2
  "$python" "$root/bench/pytorch_bench.py" "$rounds" "$threads" 2>/dev/null | sed 's/^/pytorch /' >> "$results"
done

echo "AutoKl and PyTorch $("$python" -c 'import torch; print(torch.__version__)') each with $threads thread(s); .NET $(dotnet --version); $(nproc) cores"
awk '
  $1 == "autokl" || $1 == "pytorch" {
    key = $2; t = $3 + 0
    if (!(key in order)) { order[key] = ++n; names[n] = key }
    if ($1 == "autokl") { if (!(key in a) || t < a[key]) a[key] = t }
    else                { if (!(key in p) || t < p[key]) p[key] = t }
  }
  END {
    printf "%-40s %12s %12s %7s\n", "workload", "AutoKl (s)", "PyTorch (s)", "ratio"
    for (i = 1; i <= n; i++) {
      k = names[i]
      # AutoKl-only variants (e.g. ..._nochecks: argument checks off) compare with the base workload.
      base = k; sub(/_nochecks$/, "", base)
      if ((k in a) && (base in p)) printf "%-40s %12.3e %12.3e %7.2f\n", k, a[k], p[base], a[k] / p[base]
      else { printf "%-40s missing on one side\n", k; bad = 1 }
    }
    exit bad
  }' "$results"
