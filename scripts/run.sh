#!/usr/bin/env bash
# Set up (first time) and open TorchScope on a bundled sample run.
# With no display it prints the headless report of that sample instead.
# On Linux with an X display it first checks the system libraries of Qt's xcb plugin:
# as root with apt-get it installs the missing ones, otherwise it prints the command that does.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
if ! .venv/bin/python -m profiler_gui.qt_libs 2>/dev/null; then
  pkgs=$(.venv/bin/python -m profiler_gui.qt_libs --apt || true)
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && [ -z "${TORCHSCOPE_NO_INSTALL:-}" ]; then
    echo "torchscope: installing the system libraries of Qt's xcb plugin: $pkgs" >&2
    # shellcheck disable=SC2086
    apt-get install -y -q $pkgs >&2 || { apt-get update -q >&2 && apt-get install -y -q $pkgs >&2; } || true
  fi
  if ! .venv/bin/python -m profiler_gui.qt_libs; then   # prints the one command that installs them
    exit 2
  fi
fi
sample=${1:-}
if [ -z "$sample" ]; then  # a run with a real bottleneck (data-loading stall)
  sample=$(.venv/bin/python -c "from profiler_gui.samples import default_sample; print(default_sample() or '')")
fi
exec .venv/bin/torchscope gui ${sample:+"$sample"}
