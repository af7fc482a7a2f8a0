#!/usr/bin/env bash
# Writes the benchmark tables of docs/benchmarks.md from bench/results/*.json,
# each between <!-- NAME-table:begin --> and <!-- NAME-table:end -->:
#   approval   bench/results/approval.json   (bench/approval.sh, make bench-approval)
#   kubelets   bench/results/kubelets.json   (bench/kubelets.sh, make bench-kubelets)
#   metrics    bench/results/metrics.json    (bench/metrics.sh, make bench-metrics)
#   trust      bench/results/trust.json      (bench/trust.sh, make bench-trust)
# A results file without its markers, or markers without their results file, is an error:
# no table is left unchecked.
#
# Usage: hack/gen-bench-tables.sh            rewrite docs/benchmarks.md
#        hack/gen-bench-tables.sh --check    exit 1 if docs/benchmarks.md is not up to date
#                                            (hack/check-docs.sh runs it)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
doc="${BENCH_TABLES_DOC:-$root/docs/benchmarks.md}"
results="${BENCH_TABLES_RESULTS:-$root/bench/results}"
mode="${1:-write}"
# Formats shared by the tables: a number rounded to D places, seconds,
# milliseconds as seconds, MiB, a ratio; "-" when there is no number.
defs='
  def f(d): if type == "number" then (. * pow(10; d) | round / pow(10; d) | tostring) else "-" end;
  def s: if type == "number" then (f(1) + " s") else "-" end;
  def ms: if type == "number" then ((. / 1000) | f(2)) + " s" else "-" end;
  def mib: if type == "number" then (f(1) + " MiB") else "-" end;
  def x: if type == "number" then (f(2) + "x") else "-" end;
  def status: .status + (if .status != "ok" then ": " + ((.reason // "") | .[0:120] | gsub("\\|"; "/") | gsub("\n"; " ")) else "" end);
'

# TABLE NAME: the markdown of NAME's table, from bench/results/NAME.json.
table() {
  local program
  case "$1" in
    approval) program="$approval" ;;
    kubelets) program="$kubelets" ;;
    metrics) program="$metrics" ;;
    trust) program="$trust" ;;
  esac
  jq -r "$defs$program" "$results/$1.json"
}
approval='
  "Measured \(.meta.date // "?") on \(.meta.machine // "?"), commit \(.meta.commit // "?"); peers built from \(.meta.peer_source // "?"). \(.csrs) serving CSRs from \(.nodes) node identities\(if (.rounds // 1) > 1 then ", each approver'"'"'s median of \(.rounds) rounds" else "" end); loaded: +\(.load_nodes) Nodes and +\(.load_csrs) decided CSRs. Plane floor: the CPU that everything but the approver spent over its round, spread over \(.cores // "all the") cores: the round an approver costing no CPU could have had. Ratios are to the best peer on each figure (throughput: higher is better; the others: lower).",
  "",
  "| approver | status | \(.csrs) CSRs decided in | plane floor | CSRs/s | p50 | p99 | CPU | API requests per CSR | RSS idle | RSS busy | loaded: start-up to first decision | loaded: RSS | throughput | p99 | CPU | RSS idle | loaded start-up | loaded RSS |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  (.approvers[] |
    "| \(.name) | \(.status)\(if .status != "ok" then ": " + ((.reason // "") | .[0:120] | gsub("\\|"; "/") | gsub("\n"; " ")) else "" end) | \(.all_decided_seconds | s) | \(.plane_floor_seconds | s) | \(.csrs_per_second | f(1)) | \(.p50_ms | ms) | \(.p99_ms | ms) | \(.cpu_seconds | s) | \(.api_requests_per_csr | f(2)) | \(.rss_idle_mib | mib) | \(.rss_busy_peak_mib | mib) | \(.loaded.ready_seconds | s) | \(.loaded.rss_mib | mib) | \(.throughput_vs_best_peer | x) | \(.p99_vs_best_peer | x) | \(.cpu_vs_best_peer | x) | \(.idle_rss_vs_lightest_peer | x) | \(.loaded_start_vs_best_peer | x) | \(.loaded_rss_vs_lightest_peer | x) |")
'
kubelets='
  def n(k): (.csrs // {})[k] // {};
  "Measured \(.meta.date // "?") on \(.meta.machine // "?") (load average \(.meta.load // "?")), commit \(.meta.commit // "?"); peers built from \(.meta.peer_source // "?"). \(.kubelets) kubelets starting at once from their bootstrap kubeconfig; times from their start. Ratio: the time to the last node holding both certificates, to the best peer'"'"'s (lower is faster).",
  "",
  "| approver | status | client CSRs approved by | last client certificate | last node with both | median node | approver peak RSS | CSRs approved (client / serving) | last node vs best peer |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  (.approvers[] |
    "| \(.name) | \(.status)\(if .status != "ok" then ": " + ((.reason // "") | .[0:120] | gsub("\\|"; "/") | gsub("\n"; " ")) else "" end) | \(.client_csrs_approved_by // "-") | \(.all_client_seconds | s) | \(.all_both_seconds | s) | \(.median_both_seconds | s) | \(if .rss_peak_mib then (.rss_peak_mib | f(1)) + " MiB" else "-" end) | \(n("client").approved // "-") / \(n("serving").approved // "-") | \(.all_both_vs_best_peer | x) |")
'
metrics='
  "Measured \(.meta.date // "?") on \(.meta.machine // "?"), commit \(.meta.commit // "?"); exporter built from \(.meta.peer_source // "?"). \(.secrets) TLS Secrets (one leaf certificate each) in \(.namespaces) namespaces; \(.scrapes) scrapes each, one after the other. Ratios: certguard / \(.ratios_against // "the exporter") (lower is better on each).",
  "",
  "| exporter | status | every certificate exported after | scrape p50 | scrape p99 | page | RSS idle | RSS peak | exported after | scrape p50 | scrape p99 | RSS idle | RSS peak |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  (.exporters[] | (.vs_exporter // {}) as $v |
    "| \(.name) | \(status) | \(.sync_seconds | s) | \(.scrape_p50_ms | f(1)) ms | \(.scrape_p99_ms | f(1)) ms | \(if .page_bytes then (.page_bytes / 1048576 | f(1)) + " MiB" else "-" end) | \(.rss_idle_mib | mib) | \(.rss_peak_mib | mib) | \($v.sync_seconds | x) | \($v.scrape_p50_ms | x) | \($v.scrape_p99_ms | x) | \($v.rss_idle_mib | x) | \($v.rss_peak_mib | x) |")
'
trust='
  def w(name): (.windows // []) | map(select(.window == name)) | first // {};
  def limit: if (.qps // 0) > 0 then "\(.qps) QPS, burst \(.burst)" else "default: no client limit" end;
  def who: if .controller == "trust-manager" then "trust-manager \(.version // "")" else .controller end;
  def ratio(r): "\(r["create: seconds"] | x) | \(r["change: seconds"] | x) | \(r["create: API requests"] | x) / \(r["change: API requests"] | x) | \(r["RSS idle (ready) MiB"] | x) | \(r["RSS at the end MiB"] | x) | \(r["RSS peak (VmHWM) MiB"] | x) |";
  "Measured \(.meta.date // "?") on \(.meta.machine // "?"), commit \(.meta.commit // "?"); trust-manager built from \(.meta.peer_source // "?"). One bundle to \(.namespaces) namespaces, one run after the other on the same plane (set-up \(.setup_seconds | s)). Floor: (namespaces - burst) / QPS, at a client limit. Ratios: certguard / trust-manager (lower is better).",
  "",
  "| run (client limit) | status | create | change | requests create / change | RSS ready | RSS end | RSS peak |",
  "| --- | --- | --- | --- | --- | --- | --- | --- |",
  (.runs[] | (.status // (if .ran then "ok" else "unavailable" end)) as $st |
    "| \(who) (\(limit)) | \($st)\(if $st != "ok" then ": " + ((.reason // .why // "") | .[0:120] | gsub("\\|"; "/") | gsub("\n"; " ")) else "" end) | \(w("create").seconds | s) \(if w("create").qps_floor_seconds then "(floor \(w("create").qps_floor_seconds | s))" else "(no floor)" end) | \(w("change").seconds | s) | \(w("create").api_requests // "-") / \(w("change").api_requests // "-") | \(.rss_mib_idle | mib) | \(.rss_mib_end | mib) | \(.rss_mib_peak | mib) |"),
  "| ratio certguard / trust-manager, same limit | | \(ratio(.ratio_certguard_to_trust_manager_same_limit // {}))",
  "| ratio certguard at its default / trust-manager | | \(ratio(.ratio_certguard_default_to_trust_manager // {}))"
'

# The document with the lines between NAME's markers replaced by TABLE.
replace() {
  local name="$1" table="$2" text="$3"
  awk -v table="$table" -v begin="<!-- $name:begin -->" -v end="<!-- $name:end -->" '
    $0 == begin { print; print table; skip = 1; next }
    $0 == end { skip = 0 }
    !skip { print }
  ' <<<"$text"
}

text="$(cat "$doc")"
new="$text"
for name in approval kubelets metrics trust; do
  has_json=0 has_markers=0
  [[ -f "$results/$name.json" ]] && has_json=1
  grep -qxF "<!-- $name-table:begin -->" <<<"$text" && grep -qxF "<!-- $name-table:end -->" <<<"$text" &&
    has_markers=1
  if ((has_json && !has_markers)); then
    echo "$doc has no <!-- $name-table:begin --> ... <!-- $name-table:end --> for bench/results/$name.json" >&2
    exit 1
  fi
  if ((has_markers && !has_json)); then
    echo "$doc has a $name table but there is no bench/results/$name.json: run make bench-$name" >&2
    exit 1
  fi
  ((has_json)) || continue
  rendered="$(table "$name")" || { echo "bench/results/$name.json: cannot render its table" >&2; exit 1; }
  new="$(replace "$name-table" "$rendered" "$new")"
done
if [[ "$mode" == --check ]]; then
  [[ "$new" == "$text" ]] || {
    echo "$doc: its tables differ from bench/results/*.json: run hack/gen-bench-tables.sh" >&2
    diff <(printf '%s\n' "$text") <(printf '%s\n' "$new") >&2 || true
    exit 1
  }
  exit 0
fi
printf '%s\n' "$new" >"$doc"
