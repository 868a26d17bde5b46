#!/usr/bin/env bash
# Sets up tripline on a Debian/Ubuntu host, as root: system packages, Node.js >= 22,
# npm dependencies, the BPF objects. Idempotent.
#   scripts/setup.sh          what the engine needs
#   scripts/setup.sh --test   plus what the test suite needs (redis-server, chromium, bpftrace, perf, prometheus, alertmanager)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

if [ "$(id -u)" -ne 0 ]; then
  echo "tripline setup: run as root (it installs packages; the engine needs CAP_BPF and CAP_PERFMON)" >&2
  exit 1
fi

pkgs=(clang llvm libbpf-dev bpftool ca-certificates)
# prometheus: promtool and a real Prometheus for deploy/prometheus and deploy/grafana; bsdutils: `script` (a terminal);
# prometheus-alertmanager: the real Alertmanager and amtool (test/alertmanager); python3, curl, openssl: HTTP(S)
# servers and clients of the http family's tests.
if [ $want_test -eq 1 ]; then pkgs+=(redis-server bpftrace chromium linux-perf procps iproute2 prometheus bsdutils prometheus-alertmanager python3 curl openssl); fi
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "tripline setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node.js >= 22: a privileged daemon must not run on an end-of-life runtime.
need_node=1
if command -v node >/dev/null 2>&1; then
  major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 22 ] && need_node=0
fi
if [ $need_node -eq 1 ] && [ ! -x .runtime/node_modules/node/bin/node ]; then
  if ! command -v npm >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  echo "tripline setup: installing Node.js 24 under .runtime/"
  npm install --prefix .runtime --no-audit --no-fund --loglevel=error node@24 >/dev/null
  if [ ! -x .runtime/node_modules/node/bin/node ]; then
    echo "tripline setup: npm did not install Node.js 24 (.runtime/node_modules/node/bin/node missing)" >&2
    exit 1
  fi
fi
echo "tripline setup: Node.js $(scripts/node --version)"

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

# tracefs: tracepoint programs attach through perf without it, but tools and tests read it.
if [ ! -d /sys/kernel/tracing/events ]; then
  if ! mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null; then
    echo "tripline setup: note: could not mount tracefs at /sys/kernel/tracing (tracepoints still attach through perf)"
  fi
fi

# The network side of `tripline run` (HTTP, Slack, Kubernetes, Redis) runs as this user, without capabilities.
if ! id -u tripline >/dev/null 2>&1; then
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin tripline
  echo "tripline setup: created the unprivileged user tripline (the network side runs as it)"
fi
command -v setpriv >/dev/null 2>&1 || { echo "tripline setup: setpriv missing; install util-linux" >&2; exit 1; }

# The network side runs this installation's code as that user: it must be able to reach and read it.
if ! setpriv --reuid=tripline --regid=tripline --clear-groups -- test -r "$root/src/cli/main.ts" 2>/dev/null; then
  if [ $want_test -eq 1 ]; then
    # A test checkout under a private folder: let others traverse (x only, no listing) the folders above it.
    d=$root
    while [ "$d" != "/" ]; do
      d=$(dirname "$d")
      perm=$(stat -c '%A' "$d")
      [ "${perm:9:1}" = "x" ] || [ "${perm:9:1}" = "t" ] || { chmod o+x "$d"; echo "tripline setup: chmod o+x $d (so the user tripline can reach $root)"; }
    done
  else
    echo "tripline setup: warning: the user tripline cannot read $root; tripline run needs it (install under /opt/tripline, or chmod o+rx the folders above it)" >&2
  fi
fi

scripts/build-bpf
scripts/build-js
echo "tripline setup: done"
