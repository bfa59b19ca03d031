#!/usr/bin/env bash
# AutoKl against PyTorch on the same workloads, measured side by side in one run, printed as
# ratios (AutoKl time / PyTorch time; below 1 means AutoKl is faster). Ratios, not absolute
# times, because a shared machine is noisy: both sides run alternately, several times. Two
# ratios per workload: of the fastest batches (over all passes), and of the median batches
# (the median over the passes of each pass's median batch).
#
# Usage: bench/compare.sh [passes=2] [rounds=5] [threads=1] [--large]
#   AUTOKL_BENCH_ONLY=substring (environment) times only the matching workloads, on both sides.
#   threads: for both sides; --large adds log_softmax + kl_div at [1024, 32768] (about 1 GB per side).
# Needs: the .NET SDK, and /usr/bin/python3 with torch (Debian: apt-get install python3-torch).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
large=""
args=()
for a in "$@"; do
  if [ "$a" = "--large" ]; then large="--large"; else args+=("$a"); fi
done
passes="${args[0]:-2}"
rounds="${args[1]:-5}"
threads="${args[2]:-1}"
python="${PYTHON:-/usr/bin/python3}"

dotnet build -c Release "$root/bench/AutoKl.Benchmarks" -v quiet -nologo >/dev/null
dll="$root/bench/AutoKl.Benchmarks/bin/Release/net10.0/AutoKl.Benchmarks.dll"
"$python" -c "import torch" 2>/dev/null || { echo "compare.sh: $python cannot import torch" >&2; exit 1; }

results="$(mktemp)"
trap 'rm -f "$results"' EXIT
for pass in $(seq 1 "$passes"); do
  echo "pass $pass/$passes: AutoKl" >&2
  dotnet "$dll" --timing "$rounds" "$threads" $large 2>/dev/null | sed 's/^/autokl /' >> "$results"
  echo "pass $pass/$passes: PyTorch ($threads thread(s))" >&2
  # OpenBLAS tuning variables that some machines set slow torch down; not ours to keep
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$python" "$root/bench/pytorch_bench.py" "$rounds" "$threads" $large 2>/dev/null | sed 's/^/pytorch /' >> "$results"
done

echo "AutoKl and PyTorch $("$python" -c 'import torch; print(torch.__version__)') each with $threads thread(s); .NET $(dotnet --version); $(nproc) cores"
awk '
  function median(list,   n, v, i, j, t) {
    n = split(list, v, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  $1 == "autokl" || $1 == "pytorch" {
    key = $2; t = $3 + 0; m = $4 + 0
    if (!(key in order)) { order[key] = ++n; names[n] = key }
    if ($1 == "autokl") { if (!(key in a) || t < a[key]) a[key] = t; am[key] = am[key] " " m }
    else                { if (!(key in p) || t < p[key]) p[key] = t; pm[key] = pm[key] " " m }
  }
  END {
    printf "%-42s %11s %11s %7s %11s %11s %7s\n", "workload", "AutoKl min", "PyTorch min", "ratio", "AutoKl med", "PyTorch med", "ratio"
    for (i = 1; i <= n; i++) {
      k = names[i]
      # AutoKl-only variants (..._nochecks: argument checks off; ..._noscope: no TensorScope) compare with the base workload.
      base = k; sub(/_nochecks$/, "", base); sub(/_noscope$/, "", base)
      if ((k in a) && (base in p)) {
        ma = median(am[k]); mp = median(pm[base])
        printf "%-42s %11.3e %11.3e %7.3f %11.3e %11.3e %7.3f\n", k, a[k], p[base], a[k] / p[base], ma, mp, ma / mp
      }
      else { printf "%-42s missing on one side\n", k; bad = 1 }
    }
    exit bad
  }' "$results"
