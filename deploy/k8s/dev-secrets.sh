#!/usr/bin/env bash
# Creates the Secrets of the kind dev cluster with random values (never committed):
#   postgres-admin    POSTGRES_PASSWORD                 (postgres.yaml)
#   vault-dev         root-token                        (vault.yaml)
#   hishamos-secrets  every key the chart reads (values-dev.yaml), DATABASE_ADMIN_URL and one
#                     DATABASE_URL_<SERVICE> per service role hishamos_<schema>
# Idempotent: an existing Secret is kept as it is, so passwords stay stable across runs.
# Usage: deploy/k8s/dev-secrets.sh            (NAMESPACE defaults to hishamos-dev)
set -euo pipefail
NS="${NAMESPACE:-hishamos-dev}"
command -v kubectl >/dev/null || { echo "kubectl not found" >&2; exit 1; }
rand() { od -An -tx1 -N"${1:-24}" /dev/urandom | tr -d ' \n'; }
has() { kubectl -n "$NS" get secret "$1" >/dev/null 2>&1; }
get() { kubectl -n "$NS" get secret "$1" -o "jsonpath={.data.$2}" | base64 -d; }

kubectl get namespace "$NS" >/dev/null 2>&1 || kubectl create namespace "$NS"

if ! has postgres-admin; then
  kubectl -n "$NS" create secret generic postgres-admin --from-literal=POSTGRES_PASSWORD="$(rand 16)"
fi
if ! has vault-dev; then
  kubectl -n "$NS" create secret generic vault-dev --from-literal=root-token="$(rand 16)"
fi
if ! has hishamos-secrets; then
  pg_password=$(get postgres-admin POSTGRES_PASSWORD)
  vault_token=$(get vault-dev root-token)
  db="postgres:5432/hishamos"
  args=(
    --from-literal=SERVICE_TOKEN="$(rand 32)"
    --from-literal=JWT_SECRET_KEY="$(rand 32)"
    --from-literal=ENCRYPTION_KEY="$(rand 32)"
    --from-literal=HISHAMOS_BOOTSTRAP_API_KEY="hos_$(rand 24)"
    --from-literal=VAULT_TOKEN="$vault_token"
    --from-literal=DATABASE_ADMIN_URL="postgres://postgres:${pg_password}@${db}"
  )
  for svc in agent-gateway orchestrator usage-metering alerting feedback-ml secrets; do
    schema=${svc//-/_}
    key="DATABASE_URL_$(echo "$schema" | tr '[:lower:]' '[:upper:]')"
    args+=(--from-literal="$key=postgres://hishamos_${schema}:$(rand 16)@${db}")
  done
  kubectl -n "$NS" create secret generic hishamos-secrets "${args[@]}"
fi
echo "Secrets in $NS: postgres-admin vault-dev hishamos-secrets"
