import assert from "node:assert/strict";
import { test } from "node:test";
import { GITHUB_WEBHOOK, VAULT_KV_SECRET } from "../../domain/resource-types";
import { POLICIES } from "../../policies/rules";
import { checkResources, containerResources } from "../../policies/rules/container-resources";
import { checkEnvbuilderProbes, envbuilderNoHttpProbes } from "../../policies/rules/envbuilder-no-http-probes";
import { checkExternalSecret, externalSecretStore } from "../../policies/rules/external-secret-store";
import { checkGitHubWebhook, githubWebhook } from "../../policies/rules/github-webhook";
import { checkImagesPinned, imagePinProblem, imagePinned, imagePinnedInProd } from "../../policies/rules/image-pinned";
import { checkLiteralSecretEnv, noLiteralSecretEnv } from "../../policies/rules/no-literal-secret-env";
import { checkPullSecrets, imageHost, privateRegistryPullSecrets } from "../../policies/rules/private-registry-pull-secrets";
import { checkClusterRbac, checkRbacWildcards, noClusterRbacInRepoStacks, rbacNoWildcards } from "../../policies/rules/rbac";
import { checkWebhookSecretPath, webhookSecretPath } from "../../policies/rules/webhook-secret-path";
import { type Props, stackViolations, violations } from "./harness";

// Resource shapes as the policy pack sees them: the inputs of the rendered objects, plain JSON.

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const STATEFULSET = "kubernetes:apps/v1:StatefulSet";
const CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole";
const EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret";

function workload(container: Props, podSpec: Props = {}): Props {
  return {
    metadata: { name: "w" },
    spec: { template: { spec: { ...podSpec, containers: [{ name: "app", ...container }] } } },
  };
}

const goodContainer = {
  image: "registry.bto.bar/jaybrto/mesh-six-orchestrator:v0.9.3",
  resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "512Mi" } },
  env: [{ name: "GITHUB_TOKEN", valueFrom: { secretKeyRef: { name: "mesh-six-secrets", key: "GITHUB_TOKEN" } } }],
  readinessProbe: { httpGet: { path: "/healthz", port: "http" } },
};
const goodDeployment = workload(goodContainer, { imagePullSecrets: [{ name: "gitea-registry-secret" }] });

const prodNamespace = { type: "kubernetes:core/v1:Namespace", props: { metadata: { labels: { "mesh-six.dev/environment": "prod" } } } };
const latestDeployment = { type: DEPLOYMENT, props: workload({ ...goodContainer, image: "nginx:latest" }) };

test("the pack registers every rule once, each mandatory or advisory", () => {
  const names = POLICIES.map((p) => p.name);
  assert.equal(new Set(names).size, names.length);
  assert.equal(names.length, 11);
  for (const p of POLICIES) assert.ok(p.enforcementLevel === "mandatory" || p.enforcementLevel === "advisory", p.name);
});

// (1) image pinning
test("image-pinned: a version tag or a digest passes", () => {
  assert.equal(imagePinProblem("registry.bto.bar/jaybrto/x:v0.9.3"), undefined);
  assert.equal(imagePinProblem(`localhost:5000/x@sha256:${"a".repeat(64)}`), undefined);
  assert.deepEqual(checkImagesPinned(DEPLOYMENT, goodDeployment), []);
  assert.deepEqual(stackViolations(imagePinnedInProd, "platform-prod", [prodNamespace, { type: DEPLOYMENT, props: goodDeployment }]), []);
});

test("image-pinned: latest or no tag is rejected, naming the image", () => {
  assert.match(imagePinProblem("nginx:latest") ?? "", /latest/);
  assert.match(imagePinProblem("localhost:5000/x") ?? "", /no tag/);
  assert.match(checkImagesPinned(DEPLOYMENT, workload({ image: "nginx" }))[0], /"nginx" has no tag/);
});

test("image-pinned-in-prod is mandatory on a stack whose namespace is labelled prod, silent elsewhere", () => {
  assert.equal(imagePinnedInProd.enforcementLevel, "mandatory");
  const [message] = stackViolations(imagePinnedInProd, "platform-prod", [prodNamespace, latestDeployment]);
  assert.match(message, /r1 \(urn:pulumi:platform-prod::mesh-six::kubernetes:apps\/v1:Deployment::r1\).*nginx:latest.*Fix: pin/);
  assert.deepEqual(stackViolations(imagePinnedInProd, "platform-dev", [latestDeployment]), []);
});

test("image-pinned-in-prod also applies to stacks listed in the policy config prodStacks", () => {
  assert.equal(stackViolations(imagePinnedInProd, "acme.widgets", [latestDeployment], { prodStacks: ["acme.widgets"] }).length, 1);
});

test("image-pinned is advisory outside prod and silent in prod (the mandatory rule reports there)", () => {
  assert.equal(imagePinned.enforcementLevel, "advisory");
  assert.equal(stackViolations(imagePinned, "platform-dev", [latestDeployment]).length, 1);
  assert.deepEqual(stackViolations(imagePinned, "platform-prod", [prodNamespace, latestDeployment]), []);
});

// (2) private registry pull secrets
test("private-registry-pull-secrets: a private image with imagePullSecrets passes, a public one needs none", () => {
  assert.deepEqual(violations(privateRegistryPullSecrets, STATEFULSET, goodDeployment), []);
  assert.deepEqual(checkPullSecrets(DEPLOYMENT, workload({ image: "nginx:1.27" })), []);
  assert.equal(imageHost("nginx:1.27"), "docker.io");
  assert.equal(imageHost("registry.bto.bar/jaybrto/x:v1"), "registry.bto.bar");
});

test("private-registry-pull-secrets: a private image without imagePullSecrets is rejected", () => {
  const [message] = violations(privateRegistryPullSecrets, DEPLOYMENT, workload(goodContainer));
  assert.match(message, /^it \(urn:pulumi:.*\): pulls registry\.bto\.bar\/.* without imagePullSecrets\. Fix: add .*imagePullSecrets/);
});

test("private-registry-pull-secrets: the registry comes from the policy config", () => {
  const props = workload({ image: "ghcr.io/acme/x:v1" });
  assert.deepEqual(violations(privateRegistryPullSecrets, DEPLOYMENT, props), []);
  assert.equal(violations(privateRegistryPullSecrets, DEPLOYMENT, props, "platform-dev", { registry: "ghcr.io" }).length, 1);
});

// (3) Envbuilder probes
test("envbuilder-no-http-probes: an Envbuilder container without HTTP probes passes; other images may have them", () => {
  const envbuilder = workload({
    name: "envbuilder",
    image: "ghcr.io/coder/envbuilder:1.1.0",
    livenessProbe: { exec: { command: ["true"] } },
  });
  assert.deepEqual(violations(envbuilderNoHttpProbes, STATEFULSET, envbuilder), []);
  assert.deepEqual(checkEnvbuilderProbes(DEPLOYMENT, goodDeployment), []);
});

test("envbuilder-no-http-probes: an HTTP readiness probe on Envbuilder is rejected", () => {
  const bad = workload({
    name: "envbuilder",
    image: "ghcr.io/coder/envbuilder:1.1.0",
    readinessProbe: { httpGet: { path: "/", port: 80 } },
  });
  assert.match(violations(envbuilderNoHttpProbes, STATEFULSET, bad)[0], /"envbuilder" has an HTTP readinessProbe\. Fix: remove/);
});

// (4) resources
test("container-resources: cpu and memory requests and limits pass", () => {
  assert.deepEqual(violations(containerResources, DEPLOYMENT, goodDeployment), []);
});

test("container-resources: a container without cpu limit or any requests is rejected, naming what is missing", () => {
  assert.match(
    checkResources(DEPLOYMENT, workload({ resources: { requests: { cpu: "1", memory: "1Gi" }, limits: { memory: "1Gi" } } }))[0],
    /"app" has no resources limits\.cpu$/,
  );
  assert.match(
    violations(containerResources, DEPLOYMENT, workload({ image: "x:v1" }))[0],
    /requests\.cpu, requests\.memory, limits\.cpu, limits\.memory\. Fix: set/,
  );
});

// (5) RBAC
test("rbac-no-wildcards: named verbs, resources and groups pass", () => {
  const role = { rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] }] };
  assert.deepEqual(violations(rbacNoWildcards, "kubernetes:rbac.authorization.k8s.io/v1:Role", role), []);
});

test("rbac-no-wildcards: a * in verbs, resources or apiGroups is rejected", () => {
  const role = { rules: [{ apiGroups: ["*"], resources: ["pods"], verbs: ["*"] }] };
  assert.deepEqual(checkRbacWildcards(CLUSTER_ROLE, role), ['rules[0].verbs contains "*"', 'rules[0].apiGroups contains "*"']);
  assert.equal(violations(rbacNoWildcards, CLUSTER_ROLE, role).length, 2);
});

test("no-cluster-rbac-in-repo-stacks: a platform stack may declare a ClusterRole", () => {
  assert.deepEqual(violations(noClusterRbacInRepoStacks, CLUSTER_ROLE, { rules: [] }, "platform-prod"), []);
  assert.deepEqual(checkClusterRbac("kubernetes:rbac.authorization.k8s.io/v1:Role", { rules: [] }, "acme.widgets"), []);
});

test("no-cluster-rbac-in-repo-stacks: a repo stack's ClusterRoleBinding is rejected", () => {
  const [message] = violations(noClusterRbacInRepoStacks, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", {}, "acme.widgets");
  assert.match(message, /repo stack "acme\.widgets" declares a ClusterRoleBinding\. Fix: use a Role/);
});

// (6) ExternalSecrets
const goodExternalSecret = { spec: { refreshInterval: "1h", secretStoreRef: { kind: "ClusterSecretStore", name: "vault-backend" } } };

test("external-secret-store: the vault-backend ClusterSecretStore with a refreshInterval passes", () => {
  assert.deepEqual(violations(externalSecretStore, EXTERNAL_SECRET, goodExternalSecret), []);
});

test("external-secret-store: another store or no refreshInterval is rejected", () => {
  const bad = { spec: { secretStoreRef: { kind: "SecretStore", name: "local" } } };
  assert.deepEqual(checkExternalSecret(EXTERNAL_SECRET, bad), [
    "secretStoreRef is SecretStore/local, not ClusterSecretStore/vault-backend",
    "refreshInterval is not set",
  ]);
  assert.equal(violations(externalSecretStore, EXTERNAL_SECRET, goodExternalSecret, "platform-dev", { store: "other" }).length, 1);
});

// (7) GitHub webhooks
const goodHook = {
  owner: "acme",
  repo: "widgets",
  url: "https://mesh.example/webhooks/github/acme/widgets",
  events: ["issues"],
  secret: "s3cret",
  active: true,
  contentType: "json",
  insecureSsl: false,
};

test("github-webhook: an active JSON hook over https (or loopback) with events and a secret passes", () => {
  assert.deepEqual(violations(githubWebhook, GITHUB_WEBHOOK.token, goodHook), []);
  assert.deepEqual(
    checkGitHubWebhook(GITHUB_WEBHOOK.token, { ...goodHook, url: "http://127.0.0.1:8080/webhooks/github/acme/widgets" }),
    [],
  );
});

test("github-webhook: plain http, no events or no secret is rejected", () => {
  assert.deepEqual(checkGitHubWebhook(GITHUB_WEBHOOK.token, { ...goodHook, url: "http://mesh.example/h", events: [], secret: "" }), [
    "url http://mesh.example/h is neither https nor loopback",
    "events is empty",
    "has no secret",
  ]);
  assert.match(
    violations(githubWebhook, GITHUB_WEBHOOK.token, { ...goodHook, url: "not a url" })[0],
    /is not a URL\. Fix: make the webhook/,
  );
});

test("github-webhook: an inactive hook, form payloads or insecure_ssl on is rejected", () => {
  assert.deepEqual(checkGitHubWebhook(GITHUB_WEBHOOK.token, { ...goodHook, active: false, contentType: "form", insecureSsl: true }), [
    "is not active",
    'content type is "form", not json',
    "insecure_ssl is on (TLS certificates are not verified)",
  ]);
});

test("github-webhook: a secret still unknown during preview is not reported, the known fields still are", () => {
  // The SDK's own (internal, untyped) proxy: reading an unknown value throws, as it does inside `pulumi preview`.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const proxy = require("@pulumi/policy/proxy") as {
    unknownCheckingProxy: (props: Props) => Props;
    unknownStringValue: unknown;
  };
  const unknownSecret = proxy.unknownCheckingProxy({ ...goodHook, secret: proxy.unknownStringValue });
  assert.deepEqual(violations(githubWebhook, GITHUB_WEBHOOK.token, unknownSecret), []);
  const alsoBadUrl = proxy.unknownCheckingProxy({ ...goodHook, url: "http://mesh.example/h", secret: proxy.unknownStringValue });
  assert.deepEqual(checkGitHubWebhook(GITHUB_WEBHOOK.token, alsoBadUrl), ["url http://mesh.example/h is neither https nor loopback"]);
});

// (8) webhook secret path
test("webhook-secret-path: a secret under mesh-six/webhooks/repos/ passes", () => {
  assert.deepEqual(
    violations(webhookSecretPath, VAULT_KV_SECRET.token, { path: "mesh-six/webhooks/repos/acme/widgets", mount: "secret" }),
    [],
  );
});

test("webhook-secret-path: a secret elsewhere is rejected", () => {
  assert.deepEqual(checkWebhookSecretPath(VAULT_KV_SECRET.token, { path: "mesh-six/webhooks/repos/" }).length, 1);
  assert.match(
    violations(webhookSecretPath, VAULT_KV_SECRET.token, { path: "acme/widgets" })[0],
    /"acme\/widgets", outside mesh-six\/webhooks\/repos\/\. Fix: write/,
  );
});

test("webhook-secret-path: a repo stack may not write an organization's secret, nor the old unprefixed repo path", () => {
  assert.equal(checkWebhookSecretPath(VAULT_KV_SECRET.token, { path: "mesh-six/webhooks/orgs/acme" }).length, 1);
  assert.equal(checkWebhookSecretPath(VAULT_KV_SECRET.token, { path: "mesh-six/webhooks/acme/widgets" }).length, 1);
});

// (9) literal secrets in env
test("no-literal-secret-env: secret-looking variables from valueFrom, and plain literals, pass", () => {
  assert.deepEqual(violations(noLiteralSecretEnv, DEPLOYMENT, goodDeployment), []);
  assert.deepEqual(checkLiteralSecretEnv(DEPLOYMENT, workload({ env: [{ name: "APP_PORT", value: "3000" }] })), []);
});

test("no-literal-secret-env: PASSWORD with a literal value is rejected", () => {
  const bad = workload({
    env: [
      { name: "DB_PASSWORD", value: "hunter2" },
      { name: "API_KEY", value: "k" },
    ],
  });
  const messages = violations(noLiteralSecretEnv, DEPLOYMENT, bad);
  assert.equal(messages.length, 2);
  assert.match(messages[0], /"app" sets DB_PASSWORD to a literal value\. Fix: use valueFrom\.secretKeyRef/);
  assert.ok(!messages.join("\n").includes("hunter2"), "the message never repeats the value");
});
