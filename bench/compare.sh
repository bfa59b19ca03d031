#!/usr/bin/env bash
# AutoKl against PyTorch on the same workloads, measured side by side in one run, printed as
# ratios (AutoKl time / PyTorch time; below 1 means AutoKl is faster). Ratios, not absolute
# times, because a shared machine is noisy: both sides run alternately, several times. Two
# ratios per workload: of the fastest batches (over all passes), and of the median batches
# (the median over the passes of each pass's median batch).
#
# Usage: bench/compare.sh [passes=2] [rounds=5] [threads=1] [--large]
#   AUTOKL_BENCH_ONLY=pattern[,pattern...] (environment) times only the matching workloads, on both
#     sides: names containing a pattern, or starting with one written ^prefix
#     (e.g. AUTOKL_BENCH_ONLY='^hessian,^jac,^forward_,^jvp_' for the transforms).
#   threads: for both sides; --large adds log_softmax + kl_div at [1024, 32768] (about 1 GB per side).
# PyTorch runs at its best: OpenBLAS with OPENBLAS_NUM_THREADS = threads, and glibc malloc told to
# keep freed memory (MALLOC_*; otherwise large steps pay for memory new to the process every time).
# A PyTorch row named base+variant (another PyTorch way to compute the same thing) is set against
# AutoKl's base in a row of its own; after the table, each side's jvp_X / forward_X.
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
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS="$threads" \
    MALLOC_MMAP_THRESHOLD_=1000000000 MALLOC_TRIM_THRESHOLD_=4000000000 MALLOC_TOP_PAD_=200000000 "$python" "$root/bench/pytorch_bench.py" "$rounds" "$threads" $large 2>/dev/null | sed 's/^/pytorch /' >> "$results"
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
    if ($1 == "pytorch" && index(key, "+")) { if (!(key in pord)) { pord[key] = ++pn; pnames[pn] = key } }
    else if (!(key in order)) { order[key] = ++n; names[n] = key }
    if ($1 == "autokl") { if (!(key in a) || t < a[key]) a[key] = t; am[key] = am[key] " " m }
    else                { if (!(key in p) || t < p[key]) p[key] = t; pm[key] = pm[key] " " m }
  }
  END {
    printf "%-42s %11s %11s %7s %11s %11s %7s\n", "workload", "AutoKl min", "PyTorch min", "ratio", "AutoKl med", "PyTorch med", "ratio"
    for (i = 1; i <= n; i++) {
      k = names[i]
      # AutoKl-only variants (..._nochecks: argument checks off; ..._noscope: no TensorScope; ..._auto:
      # JacobianMode.Auto) compare with the base workload.
      base = k; sub(/_nochecks$/, "", base); sub(/_noscope$/, "", base); sub(/_auto$/, "", base)
      if ((k in a) && (base in p)) {
        ma = median(am[k]); mp = median(pm[base])
        printf "%-42s %11.3e %11.3e %7.3f %11.3e %11.3e %7.3f\n", k, a[k], p[base], a[k] / p[base], ma, mp, ma / mp
      }
      else { printf "%-42s missing on one side\n", k; bad = 1 }
      # other PyTorch ways to compute the same (base+variant), against the AutoKl base row
      for (j = 1; j <= pn; j++) {
        pk = pnames[j]
        if (k in a && index(pk, k "+") == 1) {
          ma = median(am[k]); mp = median(pm[pk])
          printf "%-42s %11.3e %11.3e %7.3f %11.3e %11.3e %7.3f\n", "  vs " substr(pk, length(k) + 2), a[k], p[pk], a[k] / p[pk], ma, mp, ma / mp
        }
      }
    }
    # each side against itself: jvp_X / forward_X
    for (i = 1; i <= n; i++) {
      k = names[i]
      if (k !~ /^jvp_/) continue
      f = "forward_" substr(k, 5)
      if ((k in a) && (f in a) && (k in p) && (f in p)) {
        if (!header++) printf "\n%-42s %11s %11s %11s %11s\n", "each side against itself", "AutoKl min", "PyTorch min", "AutoKl med", "PyTorch med"
        printf "%-42s %11.3f %11.3f %11.3f %11.3f\n", k " / forward", a[k] / a[f], p[k] / p[f], median(am[k]) / median(am[f]), median(pm[k]) / median(pm[f])
      }
    }
    exit bad
  }' "$results"
