#!/usr/bin/env bash
# Checks and unit-tests the alert rules with promtool; run by ctest.
# promtool: $PROMTOOL, else $CERTGUARD_TOOLS/promtool, else the tool cache of
# hack/tools/build.sh (`make tools`), else promtool on PATH. A missing promtool
# is a failure, never a skip.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

promtool="${PROMTOOL:-}"
if [[ -z "$promtool" && -n "${CERTGUARD_TOOLS:-}" ]]; then promtool="$CERTGUARD_TOOLS/promtool"; fi
if [[ -z "$promtool" && -x "$root/hack/tools/build.sh" ]]; then
  promtool="$("$root/hack/tools/build.sh" -q)/promtool"
fi
if [[ -z "$promtool" ]]; then promtool="$(command -v promtool || true)"; fi
if [[ -z "$promtool" || ! -x "$promtool" ]]; then
  echo "FAIL: promtool not found (set PROMTOOL, or run make tools)" >&2
  exit 1
fi

"$root/hack/gen-alert-rules.sh" --check
"$promtool" check rules "$root/deploy/prometheus/certguard.rules.yaml"
cd "$here"
"$promtool" test rules certguard_rules_test.yaml
