#!/usr/bin/env bash
# Set up (first time) and open TorchScope on a bundled sample run.
# With no display it prints the headless report of that sample instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
sample=${1:-}
if [ -z "$sample" ]; then
  sample=sample_traces/slow_loader_workers0   # a run with a real bottleneck (data-loading stall)
  [ -d "$sample" ] || sample=$(ls -d sample_traces/*/ 2>/dev/null | head -1)
fi
exec .venv/bin/torchscope gui ${sample:+"$sample"}
