# portwarden: one image for the sidecar and the authority.
#
#   docker build -t portwarden .
#   docker run --rm portwarden --help
#   docker run --rm -v "$PWD/sidecar.yaml:/etc/portwarden/sidecar.yaml:ro" portwarden
#   docker run --rm -p 7400:7400 -e PORTWARDEN_LISTEN=0.0.0.0:7400 portwarden authority
#
# Node.js 24 runs the TypeScript sources directly (type stripping), so there is no build
# step: the first stage installs the production dependencies, the second copies them beside
# the sources. test/deploy/image.test.ts performs the same install and start steps;
# deploy/verify-image.sh builds this file with buildah and runs the image with podman
# (test/deploy/image-run.test.ts).

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# production dependencies only, exactly as locked; none of them needs an install script
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
# tini runs as PID 1: it forwards SIGTERM and SIGHUP to Node (which then drains and reloads)
# and reaps zombies. npm, npx and corepack are not needed at run time: removing them takes
# their dependencies out of the image's attack surface.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
           /opt/yarn-* /usr/local/bin/yarn /usr/local/bin/yarnpkg
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY bin ./bin
COPY src ./src
COPY config ./config
# /etc/portwarden: configuration, mounted read-only. /var/lib/portwarden: the working
# directory, so the default ./data (license cache, telemetry spool, the authority's SQLite
# file) lands there; mount a volume on it.
RUN ln -s /app/bin/portwarden.js /usr/local/bin/portwarden \
 && mkdir -p /etc/portwarden /var/lib/portwarden \
 && chown 1000:1000 /var/lib/portwarden
# Node's compile cache, filled here for every command: the root file system is read-only at
# run time, so without it each start would strip the TypeScript sources of their types and
# compile them again (about twice the time to a sidecar's first ready)
ENV NODE_COMPILE_CACHE=/app/.compile-cache
RUN for command in up authority sidecar config check licenses tokens keys audit ports drill; do \
      portwarden "$command" --help >/dev/null; \
    done
# the image's `node` user, by number, so Kubernetes' runAsNonRoot can verify it
USER 1000:1000
WORKDIR /var/lib/portwarden
# 7400: the authority's API; 9901: the sidecar's admin listener (/metrics /livez /readyz)
EXPOSE 7400 9901
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "portwarden"]
CMD ["sidecar", "--config", "/etc/portwarden/sidecar.yaml"]

LABEL org.opencontainers.image.title="portwarden" \
      org.opencontainers.image.description="Licenses internal service ports: a license-enforcing sidecar proxy, a signing authority and a port register." \
      org.opencontainers.image.licenses="Apache-2.0"
