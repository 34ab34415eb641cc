# HishamOS — the two commands: `make run` (embedded platform) and `make test` (everything CI checks).
SHELL := /bin/bash
.DEFAULT_GOAL := help
ROOT := $(CURDIR)
# Node 24 LTS from the npm registry when the machine's node is older (scripts/infra/node.sh).
NODE_BIN := $(shell $(ROOT)/scripts/infra/node.sh)
export PATH := $(NODE_BIN):$(ROOT)/node_modules/.bin:$(ROOT)/.hishamos/tools/bin:$(PATH)
export NX_DAEMON := false
export NX_NO_CLOUD := true
export NX_TUI := false
export SWC_NODE_PROJECT := $(ROOT)/tsconfig.json

.PHONY: help run console test e2e deps system-deps tools infra-up infra-down infra-status lint typecheck proto-check build-check test-unit test-prometheus bench build clean

help:
	@echo "make run    start HishamOS embedded (all six services, PGlite, local bus) on http://127.0.0.1:$${PORT:-8080}"
	@echo "make test   install what is missing, start Kafka + Postgres, run lint, typecheck, proto checks and every test"
	@echo "make bench  run the benchmarks (bench/README.md)"
	@echo "make infra-up | infra-down | infra-status   local Kafka 3.9 (Maven jars) and Postgres 15 (Debian) on 127.0.0.1"

node_modules/.installed: package.json package-lock.json
	npm install --no-audit --no-fund
	touch $@

deps: node_modules/.installed

# Debian packages the tests use: Java + Maven (Kafka's jars), Postgres 15, Prometheus + Alertmanager, Chromium (console tests).
system-deps:
	@missing=""; \
	command -v java >/dev/null || missing="$$missing openjdk-17-jre-headless"; \
	command -v mvn >/dev/null || missing="$$missing maven"; \
	[ -x /usr/lib/postgresql/15/bin/postgres ] || missing="$$missing postgresql-15"; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	command -v amtool >/dev/null || missing="$$missing prometheus-alertmanager"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
	  command -v pg_ctlcluster >/dev/null && pg_ctlcluster 15 main stop 2>/dev/null || true; \
	fi

# The admin console is built once (Vite) so the gateway serves it at /console.
console: deps
	@[ -f services/agent-gateway/console/dist/index.html ] || npm run console:build

# dist/ is rebuilt first (a few seconds): the CLI runs the compiled tree when there is one, and a stale
# dist/ from an earlier build must never shadow the sources.
run: deps console build
	libs/cli/bin/hishamos up

infra-up: system-deps
	scripts/infra/postgres.sh start
	scripts/infra/kafka.sh start

infra-down:
	-scripts/infra/kafka.sh stop
	-scripts/infra/postgres.sh stop

infra-status:
	-scripts/infra/postgres.sh status
	-scripts/infra/kafka.sh status

# Every project's own `lint` target through Nx (cached), the benchmarks (not a project), then Prettier over the tree.
lint: deps
	nx run-many -t lint --outputStyle=stream
	eslint bench --max-warnings=0
	prettier --check .

typecheck: deps
	tsc -p tsconfig.json --noEmit
	tsc -p services/agent-gateway/console/tsconfig.json --noEmit

# The generated TypeScript matches proto/, buf lint passes, and nothing breaks main's contracts.
proto-check: deps
	buf lint
	rm -rf .hishamos/proto-check && mkdir -p .hishamos/proto-check
	buf generate --template '{"version":"v2","plugins":[{"local":"protoc-gen-es","out":".hishamos/proto-check","opt":["target=ts","import_extension=none"]}]}'
	prettier --log-level warn --write .hishamos/proto-check >/dev/null
	diff -r .hishamos/proto-check libs/contracts/src/gen || (echo "libs/contracts/src/gen is stale: run 'npm run proto:gen'" && exit 1)
	if git rev-parse --verify -q main >/dev/null && git cat-file -e main:proto 2>/dev/null; then buf breaking --against '.git#branch=main'; fi

# helm (built from the Go module proxy) for the chart's render tests in deploy/.
tools:
	scripts/install-helm.sh >/dev/null

# The image's build step: swc into dist/ with workspace imports made relative; the CLI must start from it.
build-check: deps
	rm -rf dist
	nx run-many -t build --outputStyle=stream --skip-nx-cache
	node dist/libs/cli/src/main.js help >/dev/null
	for s in agent-gateway orchestrator usage-metering alerting feedback-ml secrets; do test -f dist/services/$$s/src/main.js; done

test-unit: deps infra-up tools
	HISHAMOS_REQUIRE_INFRA=1 nx run-many -t test --parallel=1 --outputStyle=stream

# The distributed end-to-end suite (e2e/README.md): six service processes, Kafka, Postgres, Prometheus, Alertmanager.
# Part of `make test`; it starts its own private broker and Postgres (the fault scenarios stop them).
e2e: deps system-deps infra-up
	HISHAMOS_REQUIRE_INFRA=1 nx run @hishamos/e2e:e2e --outputStyle=stream

test-prometheus: system-deps
	scripts/check-prometheus.sh

test: deps system-deps lint typecheck proto-check build-check infra-up tools test-unit test-prometheus e2e
	@echo "make test: all checks passed"

build: deps
	npm run build

bench: deps infra-up
	bench/run-all.sh

clean:
	rm -rf dist .nx node_modules/.installed
