# NovaCron's one image: every process (agent, simulate, worker, plan, execute, serve, keys …) is the
# `novacron` CLI with a different command, so docker-compose.yml runs this image with
# `command: [worker]`, `command: [plan, --every, "300"]` and so on.

# Build stage: npm ci needs a compiler for node-rdkafka (an optional dependency that builds
# librdkafka); the runtime image does not.
FROM node:20-bookworm AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# tsx (a dev dependency) runs the TypeScript sources: there is no separate build step.
RUN npm ci --no-audit --no-fund

FROM node:20-bookworm-slim
# virsh: the actuators and the agent talk to libvirt through it; curl: the health checks.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvirt-clients openssh-client curl ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    NOVACRON_HOME=/var/lib/novacron
COPY --from=deps /app/node_modules ./node_modules
COPY . .
# Spool, libvirt test-driver files, host-power state: a volume in docker-compose.yml.
RUN mkdir -p /var/lib/novacron && chown node:node /var/lib/novacron
# The agent reads the host's procfs and libvirt socket and runs as root there (see docker-compose.yml).
USER node
ENTRYPOINT ["node", "--import", "tsx", "cli/main.ts"]
CMD ["help"]
