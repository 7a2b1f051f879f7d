# syntax=docker/dockerfile:1
# The onboarding server's image, built and pushed by .github/workflows/build-deploy.yaml and run by the platform
# stack (components/onboarding-server.ts). Three stages: the Pulumi CLI with its Node.js language host and the
# kubernetes plugin; the production npm packages; the runtime, as an unprivileged user.
# The versions are the project's pins (scripts/lib/toolchain-versions.sh, package.json); tests/unit/dockerfile.test.ts
# fails when they drift apart.
ARG NODE_VERSION=20.19.5
ARG PULUMI_VERSION=3.248.0
ARG KUBERNETES_PLUGIN_VERSION=4.25.0

FROM pulumi/pulumi-nodejs:${PULUMI_VERSION}-debian AS pulumi
ARG KUBERNETES_PLUGIN_VERSION
ENV PULUMI_HOME=/pulumi/home
RUN pulumi plugin install resource kubernetes "v${KUBERNETES_PLUGIN_VERSION}"

FROM node:${NODE_VERSION}-bookworm-slim AS packages
WORKDIR /app
COPY package.json package-lock.json ./
# tsx is a production package: Pulumi.yaml runs the stack programs through it, as the server itself is run.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

FROM node:${NODE_VERSION}-bookworm-slim
# tini reaps the Pulumi processes the Automation API starts; the CLI needs the system's CA certificates.
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates tini \
  && rm -rf /var/lib/apt/lists/* \
  && useradd --uid 10001 --user-group --create-home --home-dir /home/mesh-six --shell /usr/sbin/nologin mesh-six
ENV NODE_ENV=production \
    PATH=/pulumi/bin:$PATH \
    PULUMI_HOME=/home/mesh-six/.pulumi \
    PULUMI_SKIP_UPDATE_CHECK=true \
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
COPY --from=pulumi /pulumi/bin /pulumi/bin
COPY --from=pulumi --chown=10001:10001 /pulumi/home/plugins /home/mesh-six/.pulumi/plugins
WORKDIR /app
COPY --from=packages /app/node_modules ./node_modules
COPY . .
# The code stays root's and read-only; the Automation API writes each stack's Pulumi.<stack>.yaml next to Pulumi.yaml.
RUN chown 10001:10001 /app
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--import", "tsx", "server/main.ts"]
