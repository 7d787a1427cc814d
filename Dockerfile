# portwarden: one image for the sidecar and the authority.
#   docker build -t portwarden .
#   docker run --rm portwarden --help
# Node.js 24 runs the TypeScript sources directly, so the image needs no build step,
# only the production dependencies.

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# production dependencies only; none of them has install scripts
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24-bookworm-slim
# tini is PID 1 so SIGTERM reaches Node and zombies are reaped
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY config ./config
RUN ln -s /app/bin/portwarden.js /usr/local/bin/portwarden \
 && mkdir -p /etc/portwarden /var/lib/portwarden \
 && chown node:node /var/lib/portwarden
USER node
WORKDIR /var/lib/portwarden
EXPOSE 7400 9901
ENTRYPOINT ["/usr/bin/tini", "--", "portwarden"]
CMD ["sidecar", "--config", "/etc/portwarden/sidecar.yaml"]
