#!/usr/bin/env bash
# Checks the Prometheus and Alertmanager configuration in deploy/:
#   - promtool check rules   deploy/prometheus/rules/*.yml
#   - promtool test rules    deploy/prometheus/tests/*.yml   (unit tests of every alert)
#   - promtool check config  deploy/prometheus/prometheus.yml
#   - amtool check-config    deploy/alertmanager/alertmanager.example.yml
#   - amtool config routes test: critical -> PagerDuty, the rest -> Slack, all -> webhook
#   - lint: every alert has a severity (info|warning|error|critical), summary,
#     description, a runbook_url anchored at its lower-cased name, and a unit test
# Installs Debian's prometheus and prometheus-alertmanager packages when promtool or
# amtool is missing (needs root, as in CI). Exits non-zero on the first failure.
# Usage (from anywhere; paths are relative to the repo root): scripts/check-prometheus.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PROM_DIR=deploy/prometheus
AM_CONFIG=deploy/alertmanager/alertmanager.example.yml
RUNBOOK_BASE='https://github.com/hishamos/hishamos/blob/main/docs/runbooks.md#'

log() { printf '[check-prometheus] %s\n' "$*"; }
fail() {
  printf '[check-prometheus] FAILED: %s\n' "$*" >&2
  exit 1
}

# Runs a command; on failure prints its output and the step that failed.
step() {
  local name="$1" out
  shift
  log "$name: $*"
  if ! out="$("$@" 2>&1)"; then
    printf '%s\n' "$out" >&2
    fail "$name ($*)"
  fi
  STEP_OUTPUT="$out"
}

ensure_tools() {
  if command -v promtool >/dev/null 2>&1 && command -v amtool >/dev/null 2>&1; then
    return 0
  fi
  log "promtool/amtool not found: installing Debian packages prometheus and prometheus-alertmanager"
  command -v apt-get >/dev/null 2>&1 || fail "promtool/amtool missing and apt-get is not available; install Prometheus and Alertmanager"
  [ "$(id -u)" -eq 0 ] || fail "promtool/amtool missing; run as root or: sudo apt-get install -y prometheus prometheus-alertmanager"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || fail "apt-get update"
  apt-get install -y -qq prometheus prometheus-alertmanager >/dev/null || fail "apt-get install prometheus prometheus-alertmanager"
  command -v promtool >/dev/null 2>&1 || fail "promtool still not on PATH after installing prometheus"
  command -v amtool >/dev/null 2>&1 || fail "amtool still not on PATH after installing prometheus-alertmanager"
}

ensure_tools
log "$(promtool --version 2>&1 | head -n1)"
log "$(amtool --version 2>&1 | head -n1)"

shopt -s nullglob
rule_files=("$PROM_DIR"/rules/*.yml)
test_files=("$PROM_DIR"/tests/*.yml)
shopt -u nullglob
[ "${#rule_files[@]}" -gt 0 ] || fail "no rule files in $PROM_DIR/rules/"
[ "${#test_files[@]}" -gt 0 ] || fail "no test files in $PROM_DIR/tests/"

# 1. rule syntax
step "rules syntax" promtool check rules "${rule_files[@]}"
rule_count=$(printf '%s\n' "$STEP_OUTPUT" | sed -n 's/.*SUCCESS: \([0-9][0-9]*\) rules found.*/\1/p' | awk '{s += $1} END {print s + 0}')
[ "$rule_count" -gt 0 ] || fail "promtool found no rules in ${rule_files[*]}"

# 2. lint the alerts: labels, annotations, runbook anchors, one unit test each
alerts=()
lint_errors=$(awk -v base="$RUNBOOK_BASE" '
  function finish() {
    if (name == "") return
    if (sev == "") printf "%s: %s has no labels.severity\n", file, name
    else if (sev !~ /^(info|warning|error|critical)$/) printf "%s: %s has severity \"%s\" (not info|warning|error|critical)\n", file, name, sev
    if (!summary) printf "%s: %s has no summary annotation\n", file, name
    if (!description) printf "%s: %s has no description annotation\n", file, name
    if (runbook != "\"" base tolower(name) "\"") printf "%s: %s runbook_url is %s, want \"%s%s\"\n", file, name, (runbook == "" ? "missing" : runbook), base, tolower(name)
    if (!hasfor) printf "%s: %s has no for: duration\n", file, name
    name = ""
  }
  FNR == 1 { finish() }
  /^[[:space:]]*- (alert|record):/ { finish(); if ($2 == "alert:") { name = $3; file = FILENAME; sev = ""; summary = 0; description = 0; runbook = ""; hasfor = 0 } }
  name != "" && /^[[:space:]]+severity:/ { sev = $2; gsub(/["'\'']/, "", sev) }
  name != "" && /^[[:space:]]+summary:/ { summary = 1 }
  name != "" && /^[[:space:]]+description:/ { description = 1 }
  name != "" && /^[[:space:]]+runbook_url:/ { runbook = $2 }
  name != "" && /^[[:space:]]+for:/ { hasfor = 1 }
  END { finish() }
' "${rule_files[@]}")
[ -z "$lint_errors" ] || { printf '%s\n' "$lint_errors" >&2; fail "alert lint"; }
while IFS= read -r a; do alerts+=("$a"); done < <(awk '/^[[:space:]]*- alert:/ {print $3}' "${rule_files[@]}")
[ "${#alerts[@]}" -eq "$rule_count" ] || fail "lint saw ${#alerts[@]} alerts but promtool counted $rule_count rules (recording rules are not expected here)"
for a in "${alerts[@]}"; do
  firing=$(awk -v a="$a" '
    $1 == "alertname:" && $2 == a { inrule = 1; next }
    $1 == "alertname:" || $1 == "-" && $2 == "eval_time:" { inrule = 0 }
    inrule && $1 == "exp_alerts:" && $2 != "[]" { n++ }
    END { print n + 0 }' "${test_files[@]}")
  quiet=$(awk -v a="$a" '
    $1 == "alertname:" && $2 == a { inrule = 1; next }
    $1 == "alertname:" || $1 == "-" && $2 == "eval_time:" { inrule = 0 }
    inrule && $1 == "exp_alerts:" && $2 == "[]" { n++ }
    END { print n + 0 }' "${test_files[@]}")
  [ "$firing" -gt 0 ] || fail "alert $a has no unit test case where it fires (deploy/prometheus/tests/)"
  [ "$quiet" -gt 0 ] || fail "alert $a has no unit test case where it stays quiet (deploy/prometheus/tests/)"
done
log "alert lint: ${#alerts[@]} alerts have severity, summary, description, runbook_url, for: and firing + quiet tests"

# 3. unit tests
step "rules unit tests" promtool test rules "${test_files[@]}"
test_groups=$(cat "${test_files[@]}" | grep -cE '^  - (name|interval):' || true)
test_checks=$(cat "${test_files[@]}" | grep -cE '^[[:space:]]+- eval_time:' || true)

# 4. Prometheus config (also loads the rule files it names)
step "prometheus config" promtool check config "$PROM_DIR/prometheus.yml"

# 5. Alertmanager config and its routing
step "alertmanager config" amtool check-config "$AM_CONFIG"
route_cases=0
expect_route() { # expected-receivers label=value...
  local want="$1"
  shift
  step "route $* -> $want" amtool config routes test --config.file="$AM_CONFIG" --verify.receivers="$want" "$@"
  route_cases=$((route_cases + 1))
}
expect_route hishamos-alerting,pagerduty-critical alertname=ServiceDown severity=critical service=orchestrator
expect_route hishamos-alerting,slack alertname=HighErrorRate severity=warning service=agent-gateway
expect_route hishamos-alerting,slack alertname=DLQReceivingMessages severity=error service=orchestrator
expect_route hishamos-alerting,slack alertname=UnpricedModelUsage severity=info service=usage-metering

log "OK: ${rule_count} alert rules in ${#rule_files[@]} files, ${test_groups} unit tests with ${test_checks} alert checks passed, prometheus.yml valid, alertmanager config valid with ${route_cases} routing cases"
