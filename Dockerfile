# syntax=docker/dockerfile:1
# The onboarding server's image, built and pushed by .github/workflows/build-deploy.yaml and run by the platform
# stack (components/onboarding-server.ts). Three stages: the Pulumi CLI with its Node.js language host and the
# kubernetes plugin; the production npm packages (and the dashboard they build); the runtime, as an unprivileged user.
# The versions are the project's pins (scripts/lib/toolchain-versions.sh, package.json); tests/unit/dockerfile.test.ts
# fails when they drift apart.
ARG NODE_VERSION=20.19.5
ARG PULUMI_VERSION=3.248.0
ARG KUBERNETES_PLUGIN_VERSION=4.25.0
# The base images: by default the public ones a user pulls. `scripts/image build` passes images it made locally
# (no registry is reachable there): a Debian bookworm with Node.js 20, and the same plus the Pulumi toolchain built
# by scripts/bootstrap at the paths the public Pulumi image uses (/pulumi/bin, plugins under /pulumi/home).
ARG NODE_IMAGE=node:${NODE_VERSION}-bookworm-slim
ARG PULUMI_IMAGE=pulumi/pulumi-nodejs:${PULUMI_VERSION}-debian

FROM ${PULUMI_IMAGE} AS pulumi
ARG KUBERNETES_PLUGIN_VERSION
ENV PULUMI_HOME=/pulumi/home
# Downloads the plugin from the public image; a no-op with a base that already carries this version. The CLI makes
# plugin directories 0700 (root's): the runtime's user must be able to run them.
# The CLI makes plugin directories 0700 (root's): the runtime's user must be able to run them.
RUN pulumi plugin install resource kubernetes "v${KUBERNETES_PLUGIN_VERSION}" \
  && test -x "/pulumi/home/plugins/resource-kubernetes-v${KUBERNETES_PLUGIN_VERSION}/pulumi-resource-kubernetes" \
  && chmod -R a+rX,go-w /pulumi/home/plugins

FROM ${NODE_IMAGE} AS packages
WORKDIR /app
COPY package.json package-lock.json ./
# tsx is a production package: the server runs through it; esbuild too: the image builds the program (dist/).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
# The operator dashboard the server serves at /ui (server/dashboard.ts), bundled into dist/ui by esbuild, which is
# among the production packages already: tsx, which runs the server, is built on it. The bundle's sources are ui/ and
# what it shares with the server: the run vocabulary (domain/) and the event stream's reader (server/sse.ts).
COPY ui/ ./ui/
COPY domain/ ./domain/
COPY server/ ./server/
RUN node --import tsx ui/build.ts && test -s dist/ui/app.js && test -s dist/ui/index.html

FROM ${NODE_IMAGE}
# tini reaps the Pulumi processes the Automation API starts; the CLI needs the system's CA certificates.
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates tini \
  && rm -rf /var/lib/apt/lists/* \
  && useradd --uid 10001 --user-group --no-create-home --home-dir /home/mesh-six --shell /usr/sbin/nologin mesh-six
# The root file system is read-only in the cluster. What the server writes at run time goes to the two directories
# of this label, each an emptyDir there (scripts/image smoke mounts a tmpfs on each); nothing in them needs to
# outlive the pod (state, stack settings and runs are in the database):
#   /home/mesh-six  HOME; PULUMI_HOME (.pulumi: the CLI's workspace files, and a link to the image's plugins in
#                   /pulumi/plugins that the server makes at start: MESH_SIX_PULUMI_PLUGINS)
#   /tmp            TMPDIR: the per-process scratch workspace (Pulumi.yaml, the stacks' settings restored from the
#                   database), tsx's compile cache (the server's), Pulumi's temporary files
LABEL dev.mesh-six.writable-dirs="/home/mesh-six /tmp"
ENV NODE_ENV=production \
    PATH=/pulumi/bin:$PATH \
    HOME=/home/mesh-six \
    TMPDIR=/tmp \
    PULUMI_HOME=/home/mesh-six/.pulumi \
    MESH_SIX_PULUMI_PLUGINS=/pulumi/plugins \
    PULUMI_SKIP_UPDATE_CHECK=true \
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
COPY --from=pulumi /pulumi/bin /pulumi/bin
COPY --from=pulumi /pulumi/home/plugins /pulumi/plugins
WORKDIR /app
COPY --from=packages /app/node_modules ./node_modules
COPY --from=packages /app/dist/ui ./dist/ui
# The code stays root's and read-only. The Pulumi program and the policy pack run from their build (dist/, made here
# from the sources beside it: the server checks the two agree at start-up).
COPY . .
RUN node --import tsx cli/build.ts
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--"]
# Node's flags as testkit/server-process.ts's SERVER_NODE_FLAGS (why there).
CMD ["node", "--max-semi-space-size=32", "--import", "tsx", "server/main.ts"]
