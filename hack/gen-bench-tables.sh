#!/usr/bin/env bash
# Writes the approval table of docs/benchmarks.md from bench/results/approval.json (written
# by bench/approval.sh): the lines between <!-- approval-table:begin --> and
# <!-- approval-table:end --> are replaced.
#
# Usage: hack/gen-bench-tables.sh            rewrite docs/benchmarks.md
#        hack/gen-bench-tables.sh --check    exit 1 if docs/benchmarks.md is not up to date
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
json="$root/bench/results/approval.json"
doc="$root/docs/benchmarks.md"
mode="${1:-write}"
[[ -f "$json" ]] || { echo "no $json: run make bench-approval" >&2; exit 1; }

table="$(jq -r '
  def f(d): if type == "number" then (. * pow(10; d) | round / pow(10; d) | tostring) else "-" end;
  def s: if type == "number" then (f(1) + " s") else "-" end;
  def ms: if type == "number" then ((. / 1000) | f(2)) + " s" else "-" end;
  def mib: if type == "number" then (f(1) + " MiB") else "-" end;
  def x: if type == "number" then (f(2) + "x") else "-" end;
  "Measured \(.meta.date // "?") on \(.meta.machine // "?"), commit \(.meta.commit // "?"); peers built from \(.meta.peer_source // "?"). \(.csrs) serving CSRs from \(.nodes) node identities; loaded: +\(.load_nodes) Nodes and +\(.load_csrs) decided CSRs. Ratios are to the best peer on each figure (throughput: higher is better; the others: lower).",
  "",
  "| approver | status | \(.csrs) CSRs decided in | CSRs/s | p50 | p99 | RSS idle | RSS busy | loaded: start-up to first decision | loaded: RSS | throughput | p99 | RSS idle | loaded start-up | loaded RSS |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  (.approvers[] |
    "| \(.name) | \(.status)\(if .status != "ok" then ": " + ((.reason // "") | .[0:120] | gsub("\\|"; "/") | gsub("\n"; " ")) else "" end) | \(.all_decided_seconds | s) | \(.csrs_per_second | f(1)) | \(.p50_ms | ms) | \(.p99_ms | ms) | \(.rss_idle_mib | mib) | \(.rss_busy_peak_mib | mib) | \(.loaded.ready_seconds | s) | \(.loaded.rss_mib | mib) | \(.throughput_vs_best_peer | x) | \(.p99_vs_best_peer | x) | \(.idle_rss_vs_lightest_peer | x) | \(.loaded_start_vs_best_peer | x) | \(.loaded_rss_vs_lightest_peer | x) |")
' "$json")"

new="$(awk -v table="$table" '
  /<!-- approval-table:begin -->/ { print; print table; skip = 1; next }
  /<!-- approval-table:end -->/ { skip = 0 }
  !skip { print }
' "$doc")"
grep -q '<!-- approval-table:begin -->' "$doc" || { echo "docs/benchmarks.md has no approval-table markers" >&2; exit 1; }
if [[ "$mode" == --check ]]; then
  [[ "$new" == "$(cat "$doc")" ]] || { echo "docs/benchmarks.md's approval table is stale: run hack/gen-bench-tables.sh" >&2; exit 1; }
  exit 0
fi
printf '%s\n' "$new" >"$doc"
