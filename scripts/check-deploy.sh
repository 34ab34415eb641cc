#!/usr/bin/env bash
# Prepares and checks the deployment files without a cluster or a Docker engine:
#   1. installs Helm 3 into .hishamos/tools/bin (scripts/install-helm.sh; no-op when present)
#   2. copies deploy/prometheus/rules/*.yml into the chart (files/prometheus-rules/), the copy
#      the PrometheusRule template reads and `helm package` ships; stale copies are removed
#   3. helm lint --strict with the default, production and kind dev values
#   4. promtool / amtool checks of the compose and kind configs, when those tools are installed
# Idempotent. The full test suite is `npx jest -c deploy/jest.config.js`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHART="$ROOT/deploy/helm/hishamos"
RULES_SRC="$ROOT/deploy/prometheus/rules"
RULES_DST="$CHART/files/prometheus-rules"
KUBE_VERSION="${KUBE_VERSION:-1.33.0}"
log() { printf '[check-deploy] %s\n' "$*" >&2; }

HELM="$("$ROOT/scripts/install-helm.sh")"
log "helm: $("$HELM" version --short)"

shopt -s nullglob
rules=("$RULES_SRC"/*.yml)
[ "${#rules[@]}" -gt 0 ] || { log "no rule files in $RULES_SRC"; exit 1; }
mkdir -p "$RULES_DST"
for f in "$RULES_DST"/*.yml; do
  [ -f "$RULES_SRC/$(basename "$f")" ] || { log "removing stale $(basename "$f") from the chart"; rm -f "$f"; }
done
for f in "${rules[@]}"; do
  if ! cmp -s "$f" "$RULES_DST/$(basename "$f")"; then
    cp "$f" "$RULES_DST/"
    log "copied $(basename "$f") into the chart"
  fi
done
log "chart rules in sync with deploy/prometheus/rules (${#rules[@]} files)"

lint() {
  log "helm lint --strict $*"
  "$HELM" lint "$CHART" --strict --kube-version "$KUBE_VERSION" "$@"
}
lint
lint -f "$CHART/values-production.yaml"
lint -f "$ROOT/deploy/k8s/values-dev.yaml"
lint --set serviceMonitor.enabled=true --set prometheusRule.enabled=true

if command -v promtool >/dev/null; then
  promtool check rules "$RULES_DST"/*.yml
  promtool check config --syntax-only "$ROOT/deploy/compose/prometheus.yml"
  promtool check config --syntax-only "$ROOT/deploy/k8s/prometheus/prometheus.yml"
else
  log "promtool not installed: Prometheus config checks left to deploy/test (apt-get install prometheus)"
fi
if command -v amtool >/dev/null; then
  amtool check-config "$ROOT/deploy/compose/alertmanager.yml" "$ROOT/deploy/k8s/alertmanager/alertmanager.yml"
else
  log "amtool not installed: Alertmanager config checks skipped (apt-get install prometheus-alertmanager)"
fi
log "ok"
