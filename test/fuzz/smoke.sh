#!/usr/bin/env bash
# Runs every fuzz target for a short while from a freshly minted seed corpus.
# Usage: test/fuzz/smoke.sh BUILD_DIR [SECONDS_PER_TARGET]
# Inputs under test/fuzz/regressions/TARGET/ are replayed as seeds.
# Fails if any target finds a crash, leak, timeout or broken invariant; the
# input that did it is left in BUILD_DIR/fuzz-artifacts/.
# csr_parity needs the Go oracle: $CERTGUARD_CSR_ORACLE, else csr-oracle of the
# tool set (hack/tools/build.sh -q); a missing oracle fails the run.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build=${1:?usage: smoke.sh BUILD_DIR [SECONDS]}
seconds=${2:-20}
work="$build/fuzz-run"
rm -rf "$work"
mkdir -p "$work" "$build/fuzz-artifacts"
"$build/test/fuzz/fuzz_seeds" "$work/seeds"
if [[ -z "${CERTGUARD_CSR_ORACLE:-}" ]]; then
  CERTGUARD_CSR_ORACLE="$(bash "$root/hack/tools/build.sh" -q)/csr-oracle"
fi
if [[ ! -x "$CERTGUARD_CSR_ORACLE" ]]; then
  echo "fuzz: FAILED: no csr-oracle at '$CERTGUARD_CSR_ORACLE' (run hack/tools/build.sh)" >&2
  exit 1
fi
export CERTGUARD_CSR_ORACLE

status=0
for target in "$build"/test/fuzz/*_fuzz; do
  name=$(basename "$target" _fuzz)
  corpus="$work/corpus-$name"
  mkdir -p "$corpus"
  log="$work/$name.log"
  # Inputs that once failed replay first, from test/fuzz/regressions/NAME.
  regressions=()
  [[ -d "$root/test/fuzz/regressions/$name" ]] && regressions=("$root/test/fuzz/regressions/$name")
  if "$target" "$corpus" "$work/seeds/$name" "${regressions[@]}" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
      -artifact_prefix="$build/fuzz-artifacts/$name-" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    echo "fuzz $name: ok, $runs runs in ${seconds}s, coverage $cov, corpus $(ls "$corpus" | wc -l) inputs"
  else
    echo "fuzz $name: FAILED (log: $log)"
    tail -40 "$log"
    status=1
  fi
done
exit $status
