# syntax=docker/dockerfile:1
# phoenix controller image: build stage compiles TypeScript; the runtime stage carries only the
# compiled code and production dependencies, runs as a non-root user, and keeps manifests and state
# on volumes. It listens on all interfaces, so the status API needs a bearer token:
#   docker run -e PHOENIX_API_TOKEN=... -e PHOENIX_PVE_URL=... -e PHOENIX_PVE_TOKEN=... -v fleet:/manifests -v state:/state phoenix

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY controller ./controller
COPY resources ./resources
COPY pvesim ./pvesim
COPY cli ./cli
RUN npm run build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PHOENIX_MANIFESTS=/manifests \
    PHOENIX_STATE_DIR=/state \
    PHOENIX_LISTEN=0.0.0.0:9750
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 phoenix \
    && useradd --system --uid 10001 --gid phoenix --home-dir /state --shell /usr/sbin/nologin phoenix \
    && mkdir -p /manifests /state && chown phoenix:phoenix /state && chmod 0700 /state
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY manifests /manifests
USER phoenix
VOLUME ["/manifests", "/state"]
EXPOSE 9750
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9750/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/controller/main.js"]
