#!/usr/bin/env bash
# Times the reference fit (10000 Adam steps, kl loss, 1000 grid points) in autokl and in
# PyTorch side by side, in one run, on this machine. Needs Debian's python3-torch
# (`apt-get install -y python3-torch`) run with /usr/bin/python3.
# Usage: src/AutoKl.Cli/compare-with-pytorch.sh [repeats]   (default 3; the best of each is shown)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repeats="${1:-3}"
dotnet build "$here" -c Release -v quiet -nologo >/dev/null
autokl="$here/bin/Release/net10.0/AutoKl.Cli"

best_autokl() {  # $1 = dtype; prints the best loop time, its processor time, and the whole process's wall time
  local best_compute=999 best_cpu=999 best_process=999
  for _ in $(seq "$repeats"); do
    local start end json compute cpu process
    start=$(date +%s.%N)
    json="$("$autokl" fit --dtype "$1" --json --quiet)"
    end=$(date +%s.%N)
    compute=$(printf '%s' "$json" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["compute_seconds"])')
    cpu=$(printf '%s' "$json" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["cpu_seconds"])')
    process=$(echo "$end - $start" | bc)
    best_compute=$(echo "if ($compute < $best_compute) $compute else $best_compute" | bc)
    best_cpu=$(echo "if ($cpu < $best_cpu) $cpu else $best_cpu" | bc)
    best_process=$(echo "if ($process < $best_process) $process else $best_process" | bc)
  done
  printf '%s %s %s\n' "$best_compute" "$best_cpu" "$best_process"
}

best_torch() {  # $1 = dtype, $2 = threads
  /usr/bin/python3 - "$1" "$2" "$repeats" <<'PY'
import sys, time, warnings, torch
warnings.filterwarnings("ignore")
import torch.nn.functional as F
from torch import distributions as D
dtype = {"float32": torch.float32, "float64": torch.float64}[sys.argv[1]]
torch.set_num_threads(int(sys.argv[2]))
best, best_cpu = 1e9, 1e9
for _ in range(int(sys.argv[3])):
    t = lambda v: torch.tensor(v, dtype=dtype)
    x = torch.linspace(-15, 15, 1000, dtype=dtype)
    p = D.Normal(t(-5.0), t(1.0)).log_prob(x).exp() + D.Normal(t(10.0), t(1.0)).log_prob(x).exp()
    mu = torch.tensor(0.0, dtype=dtype, requires_grad=True)
    sigma = torch.tensor(1.0, dtype=dtype, requires_grad=True)
    opt = torch.optim.Adam([mu, sigma], lr=1e-3)
    start, start_cpu = time.perf_counter(), time.process_time()
    for step in range(10000):
        opt.zero_grad()
        loss = F.kl_div(D.Normal(mu, sigma).log_prob(x), p, reduction="mean")
        loss.backward()
        opt.step()
    best = min(best, time.perf_counter() - start)
    best_cpu = min(best_cpu, time.process_time() - start_cpu)
print("%.4f %.4f mu=%.6f sigma=%.6f" % (best, best_cpu, mu.item(), sigma.item()))
PY
}

echo "reference fit, 10000 steps, best of $repeats (seconds; machine load: $(cut -d' ' -f1-3 /proc/loadavg))"
torch_version=$(/usr/bin/python3 -c 'import torch; print(torch.__version__)')
for dtype in float32 float64; do
  read -r compute cpu process < <(best_autokl "$dtype")
  read -r torch1 torch1cpu rest1 < <(best_torch "$dtype" 1)
  read -r torchn torchncpu _ < <(best_torch "$dtype" "$(nproc)")
  printf '%-8s autokl: loop %.3f (cpu %.3f), whole process %.3f | PyTorch %s loop: 1 thread %.3f (cpu %.3f), %d threads %.3f (cpu %.3f)  [torch final %s]\n' \
    "$dtype" "$compute" "$cpu" "$process" "$torch_version" "$torch1" "$torch1cpu" "$(nproc)" "$torchn" "$torchncpu" "$rest1"
done
