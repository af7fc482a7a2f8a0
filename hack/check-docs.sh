#!/usr/bin/env bash
# Checks the documentation's links, so that a newcomer can walk it from the README:
#   1. every docs/**/*.md is linked from README.md directly;
#   2. every relative link in README.md and docs/**/*.md points to a file that exists;
#   3. every #anchor of such a link (or of a link within the same page) is a heading of
#      its target, slugged as GitHub does: lower-cased, punctuation dropped except '-'
#      and '_', spaces turned into '-', a repeated heading suffixed -1, -2, ...
#   4. the benchmark tables of docs/benchmarks.md are those bench/results/*.json give
#      (hack/gen-bench-tables.sh --check).
# Links inside fenced code blocks and inline code are not links and are skipped;
# http(s) and mailto links are not checked.
#
# Usage: hack/check-docs.sh    exit 0 when every check passes, else 1 with one line per problem
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C

mapfile -t pages < <({ echo README.md; find docs -name '*.md' 2>/dev/null; } | sort)
errors=0
fail() { echo "check-docs: $*" >&2; errors=$((errors + 1)); }

# The link targets of a Markdown file, one "LINE TARGET" per line: the part in
# parentheses of every ](...) outside fenced code blocks and inline code spans.
links() {
  awk '
    /^[ \t]*(```|~~~)/ { fence = !fence; next }
    fence { next }
    {
      line = $0
      gsub(/`[^`]*`/, "", line)
      while (match(line, /\]\([^) \t]+\)/)) {
        print NR, substr(line, RSTART + 2, RLENGTH - 3)
        line = substr(line, RSTART + RLENGTH)
      }
    }
  ' "$1"
}

# The anchors of a Markdown file's headings (ATX headings outside fenced code).
anchors() {
  awk '
    /^[ \t]*(```|~~~)/ { fence = !fence; next }
    fence { next }
    /^#+[ \t]/ && match($0, /^#+/) && RLENGTH <= 6 {
      h = $0
      sub(/^#+[ \t]+/, "", h); sub(/[ \t]+#+[ \t]*$/, "", h); sub(/[ \t]+$/, "", h)
      h = tolower(h)
      gsub(/[^a-z0-9 _-]/, "", h)
      gsub(/ /, "-", h)
      if (h in seen) { n = seen[h]++; print h "-" n } else { seen[h] = 1; print h }
    }
  ' "$1"
}

# A path relative to the repository root, with . and .. resolved ("" when it leaves the root).
normalize() {
  local IFS=/ part out=()
  for part in $1; do
    case "$part" in
      '' | .) ;;
      ..) ((${#out[@]})) || { echo ""; return; }; unset 'out[${#out[@]}-1]' ;;
      *) out+=("$part") ;;
    esac
  done
  echo "${out[*]}"
}

declare -A readme_targets=()
for page in "${pages[@]}"; do
  dir=$(dirname "$page")
  while read -r line target; do
    case "$target" in
      http://* | https://* | mailto:*) continue ;;
    esac
    path=${target%%#*}
    anchor=""
    [[ "$target" == *"#"* ]] && anchor=${target#*#}
    if [[ -z "$path" ]]; then
      file=$page
    else
      file=$(normalize "$dir/$path")
      if [[ -z "$file" || ! -e "$file" ]]; then
        fail "$page:$line: link to $target: no such file ($dir/$path)"
        continue
      fi
    fi
    [[ "$page" == README.md ]] && readme_targets[$file]=1
    if [[ -n "$anchor" ]]; then
      if [[ "$file" != *.md ]]; then
        fail "$page:$line: link to $target: an anchor into a file that is not Markdown"
      elif ! anchors "$file" | grep -qxF -- "$anchor"; then
        fail "$page:$line: link to $target: $file has no heading whose anchor is #$anchor"
      fi
    fi
  done < <(links "$page")
done

for page in "${pages[@]}"; do
  [[ "$page" == docs/* ]] || continue
  [[ -n "${readme_targets[$page]:-}" ]] || fail "$page is not linked from README.md (add it to its Documentation section)"
done

bash hack/gen-bench-tables.sh --check || fail "docs/benchmarks.md: its tables are not those of bench/results/*.json"

if ((errors)); then
  echo "check-docs: $errors problem(s) in the documentation" >&2
  exit 1
fi
echo "check-docs: ${#pages[@]} pages, every link and anchor resolves, every page under docs/ is linked from README.md, the benchmark tables match bench/results/"
