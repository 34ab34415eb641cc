# syntax=docker/dockerfile:1
# One image for the six HishamOS services. The service is chosen at run time by SERVICE
# (agent-gateway | orchestrator | usage-metering | alerting | feedback-ml | secrets); the
# build arg of the same name only sets its default:
#   docker build -t hishamos:0.1.0 .                               # choose with -e SERVICE=...
#   docker build --build-arg SERVICE=agent-gateway -t hishamos-gateway:0.1.0 .
#   docker run -e SERVICE=orchestrator hishamos:0.1.0
# The Helm chart runs `node dist/services/<name>/src/main.js` itself and the migrations Job
# runs `node dist/libs/cli/src/main.js migrate --all`.
ARG NODE_IMAGE=node:24-bookworm-slim

# --- manifests: only the package.json files and the lockfile, so the npm ci layers below
# are rebuilt only when dependencies change, not on every source edit.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN find . -mindepth 1 \( -name node_modules -prune \) -o -type f ! -name package.json ! -name package-lock.json ! -name .npmrc -print0 \
      | xargs -0 rm -f \
 && find . -mindepth 1 -type d -empty -delete

# --- deps: every dependency, dev included (swc, typescript) for the build.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY --from=manifests /src/ ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund

# --- build: `npm run build` compiles every workspace with swc into dist/; `npm run console:build`
# builds the admin console (Vite) that the gateway serves at /console.
FROM deps AS build
COPY . .
RUN npm run build \
 && npm run console:build \
 && test -f services/agent-gateway/console/dist/index.html \
 && test -f dist/libs/cli/src/main.js \
 && for s in agent-gateway orchestrator usage-metering alerting feedback-ml secrets; do \
      test -f "dist/services/$s/src/main.js" || { echo "missing dist/services/$s/src/main.js" >&2; exit 1; }; \
    done

# --- prod-deps: production dependencies only.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY --from=manifests /src/ ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# --- runtime
FROM ${NODE_IMAGE} AS runtime
ARG SERVICE=agent-gateway
ENV NODE_ENV=production \
    SERVICE=${SERVICE} \
    HISHAMOS_MODE=distributed \
    NPM_CONFIG_UPDATE_NOTIFIER=false
LABEL org.opencontainers.image.title="hishamos" \
      org.opencontainers.image.description="HishamOS services (agent-gateway, orchestrator, usage-metering, alerting, feedback-ml, secrets); pick one with SERVICE" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.source="https://github.com/hishamos/hishamos"
# uid/gid 10001: matches runAsUser in the Helm chart. The files stay owned by root and
# read-only for the service; the only writable path it needs is /tmp (an emptyDir in k8s).
RUN groupadd --system --gid 10001 hishamos \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin hishamos
WORKDIR /app
# The workspace package.json files keep node_modules/@hishamos/* links resolvable.
COPY --from=manifests /src/ ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The console's static files, where the gateway looks for them (REPO_ROOT/services/agent-gateway/console/dist).
COPY --from=build /app/services/agent-gateway/console/dist ./services/agent-gateway/console/dist
COPY seeds ./seeds
COPY migrations ./migrations
USER 10001:10001
EXPOSE 8080 8081 8082 8083 8084 8085
# No HEALTHCHECK: Kubernetes probes /health/live and /health/ready (compose defines its own).
# exec: node is PID 1 and receives SIGTERM directly.
CMD ["sh", "-c", "exec node \"dist/services/${SERVICE:?set SERVICE to agent-gateway, orchestrator, usage-metering, alerting, feedback-ml or secrets}/src/main.js\""]
