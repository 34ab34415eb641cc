#!/usr/bin/env bash
# Installs Helm v3 into .hishamos/tools/bin by compiling it from the Go module proxy
# (no Docker, no curl | bash). Idempotent: does nothing when the pinned version is already there.
# Usage: scripts/install-helm.sh          (prints the path of the helm binary on stdout)
# Env:   HELM_VERSION (default v3.22.0, the newest v3 release on proxy.golang.org when this was written;
#        list them with: go list -m -versions helm.sh/helm/v3 | tr ' ' '\n' | tail -3)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
BIN_DIR="$ROOT/.hishamos/tools/bin"
HELM="$BIN_DIR/helm"
STAMP="$BIN_DIR/.helm-version"
log() { printf '[install-helm] %s\n' "$*" >&2; }

case "$HELM_VERSION" in
  v3.*) ;;
  *) log "HELM_VERSION must be a v3 release (got $HELM_VERSION); the chart and tests target Helm 3"; exit 1 ;;
esac

if [ -x "$HELM" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$HELM_VERSION" ] && "$HELM" version --short >/dev/null 2>&1; then
  echo "$HELM"; exit 0
fi

command -v go >/dev/null || { log "go not found on PATH; install Go 1.24+ (https://go.dev/dl) or put a helm v3 binary at $HELM"; exit 1; }
mkdir -p "$BIN_DIR"
log "building helm.sh/helm/v3/cmd/helm@$HELM_VERSION with $(go version | awk '{print $3}') (first run takes a few minutes)"
# -mod=mod: go install pkg@version ignores any enclosing module, but a GOFLAGS=-mod=vendor in the
# caller's environment would break it. CGO off: a static binary, no C toolchain needed.
# Like helm's own Makefile, stamp the version and the Kubernetes version of its client-go
# module (the default for `helm template`/`helm lint` Capabilities.KubeVersion; a plain
# `go install` would leave it at 1.20).
gomod=$(GOFLAGS="-mod=mod" go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
k8s=$(sed -n 's/^[[:space:]]*k8s.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$gomod" | head -1)
[ -n "$k8s" ] || { log "cannot read the k8s.io/client-go version from $gomod"; exit 1; }
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
for pkg in pkg/lint/rules pkg/chartutil; do
  ldflags="$ldflags -X helm.sh/helm/v3/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$k8s"
done
GOFLAGS="-mod=mod" CGO_ENABLED=0 GOBIN="$BIN_DIR" \
  go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
"$HELM" version --short >&2
echo "$HELM_VERSION" > "$STAMP"  # written last: an interrupted build is redone next time
echo "$HELM"
