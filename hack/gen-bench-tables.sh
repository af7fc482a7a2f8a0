#!/usr/bin/env bash
# Writes the benchmark tables of docs/benchmarks.md from bench/results/*.json: the
# approval table from approval.json (bench/approval.sh) between
# <!-- approval-table:begin --> and <!-- approval-table:end -->, the mass-restart table
# from kubelets.json (bench/kubelets.sh) between <!-- kubelets-table:begin --> and
# <!-- kubelets-table:end -->.
#
# Usage: hack/gen-bench-tables.sh            rewrite docs/benchmarks.md
#        hack/gen-bench-tables.sh --check    exit 1 if docs/benchmarks.md is not up to date
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
doc="$root/docs/benchmarks.md"
mode="${1:-write}"
for f in approval kubelets; do
  [[ -f "$root/bench/results/$f.json" ]] || { echo "no bench/results/$f.json: run make bench-$f" >&2; exit 1; }
done
json="$root/bench/results/approval.json"

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

kubelets="$(jq -r '
  def f(d): if type == "number" then (. * pow(10; d) | round / pow(10; d) | tostring) else "-" end;
  def s: if type == "number" then (f(1) + " s") else "-" end;
  def x: if type == "number" then (f(2) + "x") else "-" end;
  def n(k): (.csrs // {})[k] // {};
  "Measured \(.meta.date // "?") on \(.meta.machine // "?") (load average \(.meta.load // "?")), commit \(.meta.commit // "?"); peers built from \(.meta.peer_source // "?"). \(.kubelets) kubelets starting at once from their bootstrap kubeconfig; times from their start. Ratio: the time to the last node holding both certificates, to the best peer'"'"'s (lower is faster).",
  "",
  "| approver | status | client CSRs approved by | last client certificate | last node with both | median node | approver peak RSS | CSRs approved (client / serving) | last node vs best peer |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  (.approvers[] |
    "| \(.name) | \(.status)\(if .status != "ok" then ": " + ((.reason // "") | .[0:120] | gsub("\\|"; "/") | gsub("\n"; " ")) else "" end) | \(.client_csrs_approved_by // "-") | \(.all_client_seconds | s) | \(.all_both_seconds | s) | \(.median_both_seconds | s) | \(if .rss_peak_mib then (.rss_peak_mib | f(1)) + " MiB" else "-" end) | \(n("client").approved // "-") / \(n("serving").approved // "-") | \(.all_both_vs_best_peer | x) |")
' "$root/bench/results/kubelets.json")"

# The document with the lines between NAME's markers replaced by TABLE.
replace() {
  local name="$1" table="$2" text="$3"
  grep -q "<!-- $name:begin -->" <<<"$text" || { echo "docs/benchmarks.md has no $name markers" >&2; exit 1; }
  awk -v table="$table" -v begin="<!-- $name:begin -->" -v end="<!-- $name:end -->" '
    $0 == begin { print; print table; skip = 1; next }
    $0 == end { skip = 0 }
    !skip { print }
  ' <<<"$text"
}
new="$(replace approval-table "$table" "$(cat "$doc")")"
new="$(replace kubelets-table "$kubelets" "$new")"
if [[ "$mode" == --check ]]; then
  [[ "$new" == "$(cat "$doc")" ]] || { echo "docs/benchmarks.md's tables are stale: run hack/gen-bench-tables.sh" >&2; exit 1; }
  exit 0
fi
printf '%s\n' "$new" >"$doc"
