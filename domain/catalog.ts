/**
 * The one list of mesh-six's services. The platform stack deploys exactly these, prod pins an image for exactly
 * these, and CI builds and tests them from this list — the old system kept four hand-written lists (kustomize
 * resources, prod image overrides, the build matrix, the test matrix) and they drifted apart.
 *
 * This module is plain data plus a few pure functions: it imports nothing, so a CI script can load it with
 * `node --import tsx -e 'console.log(JSON.stringify(require("./domain/catalog").builtServices()))'`.
 */

export interface ServiceEntry {
  /** Kubernetes object name, Dapr app id and the key under `mesh-six:images`; a DNS-1123 label. */
  readonly name: string;
  /** Repository below the registry prefix, e.g. "mesh-six-orchestrator" → `<registry>/mesh-six-orchestrator:<tag>`. */
  readonly image: string;
  /** Port the app listens on. Only a service with a port gets a Kubernetes Service and a Dapr app port. */
  readonly port?: number;
  /** Whether the pod runs with a Dapr sidecar (service invocation, pub/sub, actors). */
  readonly dapr: boolean;
  /** Desired replicas. Default: 1. */
  readonly replicas?: number;
  /** CI builds and pushes this image. */
  readonly built: boolean;
  /** CI runs this service's test suite. */
  readonly tested: boolean;
}

/** The tag a dev stack runs when `mesh-six:images.<service>` is not set. Prod never falls back to it. */
export const DEV_DEFAULT_TAG = "latest";

/** The default image registry prefix (host and organisation). */
export const DEFAULT_REGISTRY = "registry.bto.bar/jaybrto";

/**
 * This project's own server. It is not a catalog service (the platform stack declares it through its own
 * component, with RBAC the agents must not have), but its image is pinned beside theirs under
 * `mesh-six:images.onboarding-server`, so its name must never collide with a catalog entry.
 */
export const ONBOARDING_SERVER = Object.freeze({
  name: "onboarding-server",
  image: "mesh-six-onboarding-server",
  port: 8080,
});

// Names, ports and Dapr use follow the old system's manifests (jaybrto/mesh-six k8s/base). Left out on purpose:
// onboarding-service (replaced by ONBOARDING_SERVER) and scraper-service (runs on a Mac outside the cluster and
// is not pushed to the registry). claude-mqtt-bridge reads Claude Code hook events on stdin, so it has no port
// and no replicas of its own; it is still built, pinned and declared so its image is released with the rest.
export const services: readonly ServiceEntry[] = Object.freeze(
  [
    { name: "api-coder", image: "mesh-six-api-coder", port: 3000, dapr: true, built: true, tested: false },
    { name: "architect-agent", image: "mesh-six-architect-agent", port: 3000, dapr: true, built: true, tested: true },
    { name: "argocd-deployer", image: "mesh-six-argocd-deployer", port: 3000, dapr: true, built: true, tested: false },
    { name: "auth-service", image: "mesh-six-auth-service", port: 3000, dapr: true, built: true, tested: true },
    { name: "claude-mqtt-bridge", image: "mesh-six-claude-mqtt-bridge", dapr: true, replicas: 0, built: true, tested: false },
    { name: "context-service", image: "mesh-six-context-service", port: 3000, dapr: true, built: true, tested: true },
    { name: "cost-tracker", image: "mesh-six-cost-tracker", port: 3000, dapr: true, built: true, tested: false },
    // A static web UI served by nginx; it talks to the others over HTTP from the browser, not through Dapr.
    { name: "dashboard", image: "mesh-six-dashboard", port: 80, dapr: false, built: true, tested: false },
    { name: "event-logger", image: "mesh-six-event-logger", port: 3000, dapr: true, built: true, tested: false },
    { name: "homelab-monitor", image: "mesh-six-homelab-monitor", port: 3000, dapr: true, built: true, tested: false },
    { name: "implementer", image: "mesh-six-implementer", port: 3000, dapr: true, built: true, tested: true },
    { name: "infra-manager", image: "mesh-six-infra-manager", port: 3000, dapr: true, built: true, tested: false },
    { name: "kubectl-deployer", image: "mesh-six-kubectl-deployer", port: 3000, dapr: true, built: true, tested: false },
    { name: "llm-service", image: "mesh-six-llm-service", port: 3000, dapr: true, built: true, tested: false },
    { name: "orchestrator", image: "mesh-six-orchestrator", port: 3000, dapr: true, built: true, tested: false },
    { name: "project-manager", image: "mesh-six-project-manager", port: 3000, dapr: true, built: true, tested: true },
    { name: "qa-tester", image: "mesh-six-qa-tester", port: 3000, dapr: true, built: true, tested: false },
    { name: "researcher-agent", image: "mesh-six-researcher-agent", port: 3000, dapr: true, built: true, tested: false },
    { name: "simple-agent", image: "mesh-six-simple-agent", port: 3000, dapr: true, built: true, tested: false },
    { name: "ui-agent", image: "mesh-six-ui-agent", port: 3000, dapr: true, built: true, tested: false },
    { name: "webhook-receiver", image: "mesh-six-webhook-receiver", port: 3000, dapr: true, built: true, tested: false },
  ].map((s): ServiceEntry => Object.freeze(s)),
);

/** Every service's name, in catalog order. */
export function serviceNames(): string[] {
  return services.map((s) => s.name);
}

/** Names of the services whose images CI builds (the build matrix). */
export function builtServices(): string[] {
  return services.filter((s) => s.built).map((s) => s.name);
}

/** Names of the services whose tests CI runs (the test matrix). */
export function testedServices(): string[] {
  return services.filter((s) => s.tested).map((s) => s.name);
}

/** The catalog entry called `name`; throws for a name the catalog does not know. */
export function getService(name: string): ServiceEntry {
  const entry = services.find((s) => s.name === name);
  if (!entry) throw new Error(`"${name}" is not a mesh-six service (known: ${serviceNames().join(", ")})`);
  return entry;
}

/**
 * The full image reference for `image` at `tagOrDigest`: `registry/image:tag`, or `registry/image@sha256:…` for a
 * digest, which pins the exact bytes even if someone re-pushes a tag.
 */
export function imageRef(registry: string, image: string, tagOrDigest: string): string {
  const separator = tagOrDigest.startsWith("sha256:") ? "@" : ":";
  return `${registry.replace(/\/+$/, "")}/${image}${separator}${tagOrDigest}`;
}
