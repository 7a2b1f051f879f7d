import assert from "node:assert/strict";
import { test } from "node:test";
import { containerResources } from "../../policies/rules/container-resources";
import { envbuilderNoHttpProbes } from "../../policies/rules/envbuilder-no-http-probes";
import { externalSecretStore } from "../../policies/rules/external-secret-store";
import { imagePinned, imagePinnedInProd } from "../../policies/rules/image-pinned";
import { noLiteralSecretEnv } from "../../policies/rules/no-literal-secret-env";
import { privateRegistryPullSecrets } from "../../policies/rules/private-registry-pull-secrets";
import { noClusterRbacInRepoStacks, rbacNoWildcards } from "../../policies/rules/rbac";
import { type Props, stackViolations, violations } from "./harness";

// The rules judged by what Kubernetes, the registries and External Secrets Operator make of a resource, over every
// kind that carries the part a rule checks. Each table row is one kind or one spelling; a bad row must be refused
// and a good row must pass, so a kind or spelling the rule does not understand shows up as a failing row.

type Wrap = (podSpec: Props) => Props;

const atSpec: Wrap = (spec) => ({ metadata: { name: "w" }, spec });
const atTemplate: Wrap = (spec) => ({ metadata: { name: "w" }, spec: { template: { spec } } });
const atPodTemplate: Wrap = (spec) => ({ metadata: { name: "w" }, template: { spec } });
const atCronJob: Wrap = (spec) => ({ metadata: { name: "w" }, spec: { jobTemplate: { spec: { template: { spec } } } } });

/** Every workload kind (and its server-side-apply patch) with where its pod spec lives. */
const POD_KINDS: [string, Wrap][] = [
  ...(
    [
      ["core/v1:Pod", atSpec],
      ["core/v1:PodTemplate", atPodTemplate],
      ["core/v1:ReplicationController", atTemplate],
      ["apps/v1:Deployment", atTemplate],
      ["apps/v1:StatefulSet", atTemplate],
      ["apps/v1:DaemonSet", atTemplate],
      ["apps/v1:ReplicaSet", atTemplate],
      ["batch/v1:Job", atTemplate],
      ["batch/v1:CronJob", atCronJob],
    ] as [string, Wrap][]
  ).flatMap(([kind, wrap]): [string, Wrap][] => [
    [`kubernetes:${kind}`, wrap],
    [`kubernetes:${kind}Patch`, wrap],
  ]),
  // Older API versions the SDK still offers carry the same pod spec.
  ["kubernetes:apps/v1beta2:Deployment", atTemplate],
  ["kubernetes:extensions/v1beta1:DaemonSet", atTemplate],
  ["kubernetes:batch/v1beta1:CronJob", atCronJob],
  // A List resource carries whole objects in items[].
  ["kubernetes:core/v1:PodList", (spec) => ({ items: [atSpec(spec)] })],
  ["kubernetes:apps/v1:DeploymentList", (spec) => ({ items: [atTemplate(spec)] })],
];

const RESOURCES = { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "512Mi" } };
const PRIVATE_IMAGE = "registry.bto.bar/jaybrto/app:v1.2.3";
const DIGEST = `sha256:${"a".repeat(64)}`;
const good = { name: "app", image: PRIVATE_IMAGE, resources: RESOURCES };
const PULL = { imagePullSecrets: [{ name: "gitea-registry-secret" }] };

/** A pod spec with one container in the given list (containers, initContainers, ephemeralContainers). */
function pod(container: Props, where = "containers", extra: Props = PULL): Props {
  return where === "containers" ? { ...extra, containers: [container] } : { ...extra, containers: [good], [where]: [container] };
}

const CONTAINER_LISTS = ["containers", "initContainers", "ephemeralContainers"];
const prodNamespace = { type: "kubernetes:core/v1:Namespace", props: { metadata: { labels: { "mesh-six.dev/environment": "prod" } } } };

// ---- container-resources
for (const [type, wrap] of POD_KINDS) {
  test(`container-resources: ${type} without limits is refused, with them passes`, () => {
    assert.equal(violations(containerResources, type, wrap(pod({ ...good, resources: { requests: RESOURCES.requests } }))).length, 1);
    assert.deepEqual(violations(containerResources, type, wrap(pod(good))), []);
  });
}
for (const where of ["containers", "initContainers"]) {
  test(`container-resources: a container in ${where} without resources is refused`, () => {
    assert.match(
      violations(containerResources, "kubernetes:core/v1:Pod", atSpec(pod({ name: "x", image: "x:v1" }, where))).join(),
      /"x" has no resources/,
    );
  });
}
test("container-resources: an ephemeral container is not asked for resources (the API server refuses them there)", () => {
  assert.deepEqual(
    violations(containerResources, "kubernetes:core/v1:Pod", atSpec(pod({ name: "x", image: "x:v1" }, "ephemeralContainers"))),
    [],
  );
});

// ---- image pinning (stack rules)
for (const [type, wrap] of POD_KINDS) {
  test(`image-pinned-in-prod: ${type} with a latest image is refused in prod, a pinned one passes`, () => {
    const bad = { type, props: wrap(pod({ ...good, image: "nginx:latest" })) };
    assert.equal(stackViolations(imagePinnedInProd, "platform-prod", [prodNamespace, bad]).length, 1);
    assert.equal(stackViolations(imagePinned, "platform-dev", [bad]).length, 1);
    assert.deepEqual(stackViolations(imagePinnedInProd, "platform-prod", [prodNamespace, { type, props: wrap(pod(good)) }]), []);
  });
}
for (const where of CONTAINER_LISTS) {
  test(`image-pinned-in-prod: an unpinned image in ${where} is refused`, () => {
    const bad = { type: "kubernetes:core/v1:Pod", props: atSpec(pod({ ...good, name: "x", image: "busybox" }, where)) };
    assert.match(stackViolations(imagePinnedInProd, "platform-prod", [prodNamespace, bad]).join(), /"busybox"/);
  });
}
const UNPINNED = [
  "nginx",
  "nginx:",
  "nginx:latest",
  "nginx:LATEST",
  "docker.io/library/nginx:Latest",
  "registry.example.com:5000/x",
  "registry.example.com:5000/x:",
  `nginx@sha256:${"a".repeat(12)}`,
];
for (const image of UNPINNED) {
  test(`image-pinned-in-prod: ${JSON.stringify(image)} is unpinned`, () => {
    const bad = { type: "kubernetes:apps/v1:Deployment", props: atTemplate(pod({ ...good, image })) };
    assert.equal(stackViolations(imagePinnedInProd, "platform-prod", [prodNamespace, bad]).length, 1);
  });
}
const PINNED = [
  "nginx:1.27",
  "registry.example.com:5000/x:v1",
  `nginx@${DIGEST}`,
  `nginx:latest@${DIGEST}`,
  `registry.example.com:443/x@${DIGEST}`,
];
for (const image of PINNED) {
  test(`image-pinned-in-prod: ${JSON.stringify(image)} is pinned`, () => {
    const ok = { type: "kubernetes:apps/v1:Deployment", props: atTemplate(pod({ ...good, image })) };
    assert.deepEqual(stackViolations(imagePinnedInProd, "platform-prod", [prodNamespace, ok]), []);
  });
}
test("image-pinned-in-prod: a stack that labels its namespace prod through a NamespacePatch is prod", () => {
  const patch = { type: "kubernetes:core/v1:NamespacePatch", props: { metadata: { labels: { "mesh-six.dev/environment": "prod" } } } };
  const bad = { type: "kubernetes:apps/v1:Deployment", props: atTemplate(pod({ ...good, image: "nginx:latest" })) };
  assert.equal(stackViolations(imagePinnedInProd, "acme-dev", [patch, bad]).length, 1);
});

// ---- private-registry-pull-secrets
for (const [type, wrap] of POD_KINDS) {
  test(`private-registry-pull-secrets: ${type} pulling the private registry without imagePullSecrets is refused`, () => {
    assert.equal(violations(privateRegistryPullSecrets, type, wrap(pod(good, "containers", {}))).length, 1);
    assert.deepEqual(violations(privateRegistryPullSecrets, type, wrap(pod(good))), []);
  });
}
for (const where of CONTAINER_LISTS) {
  test(`private-registry-pull-secrets: a private image in ${where} needs imagePullSecrets`, () => {
    const props = atSpec(pod(good, where, {}));
    if (where !== "containers") (props.spec as Props).containers = [{ ...good, image: "nginx:1.27" }];
    assert.equal(violations(privateRegistryPullSecrets, "kubernetes:core/v1:Pod", props).length, 1);
  });
}
const SAME_HOST: [string, string][] = [
  ["REGISTRY.BTO.BAR/jaybrto/app:v1", "registry.bto.bar"],
  ["registry.bto.bar:443/jaybrto/app:v1", "registry.bto.bar"],
  ["registry.bto.bar/jaybrto/app:v1", "Registry.Bto.Bar:443"],
  ["nginx:1.27", "docker.io"],
  ["library/nginx:1.27", "index.docker.io"],
  ["docker.io/library/nginx:1.27", "registry-1.docker.io"],
  ["index.docker.io/library/nginx:1.27", "docker.io"],
  ["registry-1.docker.io/library/nginx:1.27", "docker.io"],
];
for (const [image, registry] of SAME_HOST) {
  test(`private-registry-pull-secrets: ${image} is pulled from the registry ${registry}`, () => {
    const props = atTemplate({ containers: [{ ...good, image }] });
    assert.equal(violations(privateRegistryPullSecrets, "kubernetes:apps/v1:Deployment", props, "platform-dev", { registry }).length, 1);
  });
}
const OTHER_HOST: [string, string][] = [
  ["registry.bto.bar.evil.example/jaybrto/app:v1", "registry.bto.bar"],
  ["registry.bto.bar:5000/jaybrto/app:v1", "registry.bto.bar"],
  ["ghcr.io/acme/app:v1", "docker.io"],
];
for (const [image, registry] of OTHER_HOST) {
  test(`private-registry-pull-secrets: ${image} is not from the registry ${registry}`, () => {
    const props = atTemplate({ containers: [{ ...good, image }] });
    assert.deepEqual(violations(privateRegistryPullSecrets, "kubernetes:apps/v1:Deployment", props, "platform-dev", { registry }), []);
  });
}

// ---- envbuilder-no-http-probes
const ENVBUILDER = { ...good, name: "dev", image: "ghcr.io/coder/envbuilder:1.1.0" };
const HTTP = { httpGet: { path: "/", port: 80 } };
for (const [type, wrap] of POD_KINDS) {
  test(`envbuilder-no-http-probes: ${type} with an HTTP probe on Envbuilder is refused, an exec probe passes`, () => {
    assert.equal(violations(envbuilderNoHttpProbes, type, wrap(pod({ ...ENVBUILDER, livenessProbe: HTTP }))).length, 1);
    assert.deepEqual(
      violations(envbuilderNoHttpProbes, type, wrap(pod({ ...ENVBUILDER, livenessProbe: { exec: { command: ["true"] } } }))),
      [],
    );
  });
}
for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
  for (const where of CONTAINER_LISTS) {
    test(`envbuilder-no-http-probes: an HTTP ${probe} on Envbuilder in ${where} is refused`, () => {
      const props = atSpec(pod({ ...ENVBUILDER, [probe]: HTTP }, where));
      assert.match(violations(envbuilderNoHttpProbes, "kubernetes:core/v1:Pod", props).join(), new RegExp(`"dev" has an HTTP ${probe}`));
    });
  }
}
const ENVBUILDER_IMAGES = [
  "ghcr.io/coder/envbuilder",
  "ghcr.io/coder/envbuilder:",
  `ghcr.io/coder/envbuilder@${DIGEST}`,
  `ghcr.io/coder/envbuilder:1.1.0@${DIGEST}`,
  "GHCR.IO/coder/envbuilder:1.1.0",
  "localhost:5000/coder/envbuilder:1.1.0",
  "registry.bto.bar:443/mirror/coder/envbuilder:1.1.0",
  "coder/envbuilder:1.1.0",
  "ghcr.io/coder/envbuilder-preview:latest",
];
for (const image of ENVBUILDER_IMAGES) {
  test(`envbuilder-no-http-probes: ${image} is Envbuilder`, () => {
    const props = atTemplate(pod({ ...ENVBUILDER, image, readinessProbe: HTTP }));
    assert.equal(violations(envbuilderNoHttpProbes, "kubernetes:apps/v1:StatefulSet", props).length, 1);
  });
}
test("envbuilder-no-http-probes: a container configured by ENVBUILDER_* variables is Envbuilder whatever its image is called", () => {
  const props = atTemplate(
    pod({
      ...good,
      image: "registry.bto.bar/mirror/devenv:1.1.0",
      env: [{ name: "ENVBUILDER_GIT_URL", value: "https://x" }],
      startupProbe: HTTP,
    }),
  );
  assert.equal(violations(envbuilderNoHttpProbes, "kubernetes:apps/v1:StatefulSet", props).length, 1);
});
test("envbuilder-no-http-probes: an image that only mentions envbuilder in its name may have HTTP probes", () => {
  const props = atTemplate(pod({ ...good, image: "ghcr.io/acme/envbuilder-docs-site:1.0", readinessProbe: HTTP }));
  assert.deepEqual(violations(envbuilderNoHttpProbes, "kubernetes:apps/v1:Deployment", props), []);
});
test("envbuilder-no-http-probes: an HTTP postStart hook on Envbuilder is refused (a failing hook kills the container)", () => {
  const props = atTemplate(pod({ ...ENVBUILDER, lifecycle: { postStart: HTTP } }));
  assert.equal(violations(envbuilderNoHttpProbes, "kubernetes:apps/v1:StatefulSet", props).length, 1);
});

// ---- no-literal-secret-env
for (const [type, wrap] of POD_KINDS) {
  test(`no-literal-secret-env: ${type} with a literal password is refused, one from a Secret passes`, () => {
    assert.equal(violations(noLiteralSecretEnv, type, wrap(pod({ ...good, env: [{ name: "DB_PASSWORD", value: "x" }] }))).length, 1);
    const fromSecret = { name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "s", key: "k" } } };
    assert.deepEqual(violations(noLiteralSecretEnv, type, wrap(pod({ ...good, env: [fromSecret] }))), []);
  });
}
for (const where of CONTAINER_LISTS) {
  test(`no-literal-secret-env: a literal token in ${where} is refused`, () => {
    const props = atSpec(pod({ ...good, name: "x", env: [{ name: "GITHUB_TOKEN", value: "t" }] }, where));
    assert.match(violations(noLiteralSecretEnv, "kubernetes:core/v1:Pod", props).join(), /"x" sets GITHUB_TOKEN/);
  });
}
const SECRET_NAMES = [
  "DB_PASSWORD",
  "db-password",
  "dbPassword",
  "DB_PASSWD",
  "DB_PWD",
  "DB_PASS",
  "db.password",
  "API_KEY",
  "apiKey",
  "APIKEY",
  "PRIVATE_KEY",
  "ACCESS_KEY",
  "AWS_SECRET_ACCESS_KEY",
  "GITHUB_TOKEN",
  "githubToken",
  "ClientSecret",
  "DB_CREDENTIALS",
  "GOOGLE_CREDENTIAL",
  "BASIC_AUTH",
  "TLS_CERT",
  "SSH_PRIVATE",
  "SENTRY_DSN",
  "DATABASE_CONNECTION_STRING",
  "connectionString",
];
for (const name of SECRET_NAMES) {
  test(`no-literal-secret-env: ${name} is a secret-looking name`, () => {
    const props = atTemplate(pod({ ...good, env: [{ name, value: "v" }] }));
    assert.equal(violations(noLiteralSecretEnv, "kubernetes:apps/v1:Deployment", props).length, 1);
  });
}
for (const name of ["PORT", "APP_PORT", "LOG_LEVEL", "ENVBUILDER_GIT_URL", "KEYCLOAK_URL", "MESH_SIX_NAMESPACE"]) {
  test(`no-literal-secret-env: ${name} may carry a literal`, () => {
    const props = atTemplate(pod({ ...good, env: [{ name, value: "v" }] }));
    assert.deepEqual(violations(noLiteralSecretEnv, "kubernetes:apps/v1:Deployment", props), []);
  });
}

// ---- RBAC
const RBAC = "kubernetes:rbac.authorization.k8s.io";
const ROLE_KINDS = ["v1:Role", "v1:ClusterRole", "v1:RolePatch", "v1:ClusterRolePatch", "v1beta1:ClusterRole"].map((k) => `${RBAC}/${k}`);
const NAMED = { apiGroups: [""], resources: ["pods", "pods/log"], verbs: ["get", "list"] };
const WILDCARD_RULES: Props[] = [
  { ...NAMED, verbs: ["*"] },
  { ...NAMED, apiGroups: ["*"] },
  { ...NAMED, resources: ["*"] },
  { ...NAMED, resources: ["*/status"] },
  { ...NAMED, resources: ["pods/*"] },
  { verbs: ["get"], nonResourceURLs: ["*"] },
  { verbs: ["get"], nonResourceURLs: ["/api/*"] },
  { verbs: ["get"], nonResourceURLs: ["/healthz*"] },
];
for (const type of ROLE_KINDS) {
  test(`rbac-no-wildcards: ${type} with a wildcard is refused, with named rules passes`, () => {
    for (const rule of WILDCARD_RULES) {
      assert.equal(violations(rbacNoWildcards, type, { rules: [rule] }).length, 1, JSON.stringify(rule));
    }
    assert.deepEqual(violations(rbacNoWildcards, type, { rules: [NAMED, { verbs: ["get"], nonResourceURLs: ["/healthz"] }] }), []);
  });
}
test("rbac-no-wildcards: a wildcard in any rule of a RoleList item is refused", () => {
  assert.equal(
    violations(rbacNoWildcards, `${RBAC}/v1:RoleList`, { items: [{ rules: [NAMED] }, { rules: [{ ...NAMED, verbs: ["*"] }] }] }).length,
    1,
  );
});

const BINDING_KINDS = ["v1:RoleBinding", "v1:ClusterRoleBinding", "v1:RoleBindingPatch", "v1:ClusterRoleBindingPatch"].map(
  (k) => `${RBAC}/${k}`,
);
const subjects = [{ kind: "ServiceAccount", name: "app", namespace: "acme" }];
const bindingTo = (kind: string, name: string) => ({ roleRef: { apiGroup: "rbac.authorization.k8s.io", kind, name }, subjects });
for (const type of BINDING_KINDS) {
  test(`rbac-no-wildcards: ${type} to cluster-admin is refused in every stack, to a named Role passes`, () => {
    assert.match(violations(rbacNoWildcards, type, bindingTo("ClusterRole", "cluster-admin"), "platform-prod").join(), /cluster-admin/);
    assert.deepEqual(violations(rbacNoWildcards, type, bindingTo("Role", "pod-reader"), "platform-prod"), []);
  });
}
for (const type of BINDING_KINDS) {
  for (const role of ["cluster-admin", "admin", "edit"]) {
    test(`no-cluster-rbac-in-repo-stacks: ${type} to the ClusterRole ${role} is refused in a repo stack`, () => {
      assert.match(violations(noClusterRbacInRepoStacks, type, bindingTo("ClusterRole", role), "acme.widgets").join(), new RegExp(role));
    });
  }
}
for (const type of [`${RBAC}/v1:RoleBinding`, `${RBAC}/v1:RoleBindingPatch`]) {
  test(`no-cluster-rbac-in-repo-stacks: ${type} to a namespaced Role passes in a repo stack`, () => {
    assert.deepEqual(violations(noClusterRbacInRepoStacks, type, bindingTo("Role", "admin"), "acme.widgets"), []);
    assert.deepEqual(violations(noClusterRbacInRepoStacks, type, bindingTo("ClusterRole", "view"), "acme.widgets"), []);
  });
}
for (const kind of ["v1:ClusterRole", "v1:ClusterRolePatch", "v1:ClusterRoleBindingPatch", "v1beta1:ClusterRoleBinding"]) {
  test(`no-cluster-rbac-in-repo-stacks: ${RBAC}/${kind} is refused in a repo stack and allowed in a platform stack`, () => {
    assert.equal(violations(noClusterRbacInRepoStacks, `${RBAC}/${kind}`, { rules: [] }, "acme.widgets").length, 1);
    assert.deepEqual(violations(noClusterRbacInRepoStacks, `${RBAC}/${kind}`, { rules: [] }, "platform-prod"), []);
  });
}

// ---- external-secret-store
const STORE = { kind: "ClusterSecretStore", name: "vault-backend" };
const esSpec = (extra: Props = {}): Props => ({
  refreshInterval: "1h",
  secretStoreRef: STORE,
  data: [{ secretKey: "k", remoteRef: { key: "p" } }],
  ...extra,
});
const ES_KINDS: [string, (spec: Props) => Props][] = [
  ["kubernetes:external-secrets.io/v1:ExternalSecret", (spec) => ({ spec })],
  ["kubernetes:external-secrets.io/v1beta1:ExternalSecret", (spec) => ({ spec })],
  ["kubernetes:external-secrets.io/v1:ExternalSecretPatch", (spec) => ({ spec })],
  ["kubernetes:external-secrets.io/v1:ClusterExternalSecret", (spec) => ({ spec: { namespaces: ["a"], externalSecretSpec: spec } })],
  ["kubernetes:external-secrets.io/v1beta1:ClusterExternalSecret", (spec) => ({ spec: { externalSecretSpec: spec } })],
  ["kubernetes:external-secrets.io/v1:ClusterExternalSecretPatch", (spec) => ({ spec: { externalSecretSpec: spec } })],
];
const BAD_ES: [string, Props][] = [
  ["another store", esSpec({ secretStoreRef: { kind: "SecretStore", name: "local" } })],
  ["a store without kind (ESO reads it as a SecretStore)", esSpec({ secretStoreRef: { name: "vault-backend" } })],
  ["no refreshInterval", esSpec({ refreshInterval: undefined })],
  [
    "a data[] entry from another store",
    esSpec({ data: [{ secretKey: "k", remoteRef: { key: "p" }, sourceRef: { storeRef: { kind: "ClusterSecretStore", name: "aws" } } }] }),
  ],
  [
    "a dataFrom[] entry from another store",
    esSpec({ dataFrom: [{ extract: { key: "p" }, sourceRef: { storeRef: { kind: "SecretStore", name: "vault-backend" } } }] }),
  ],
  [
    "a dataFrom[] entry from a generator",
    esSpec({
      dataFrom: [{ sourceRef: { generatorRef: { apiVersion: "generators.external-secrets.io/v1alpha1", kind: "Webhook", name: "g" } } }],
    }),
  ],
];
for (const [type, wrap] of ES_KINDS) {
  test(`external-secret-store: ${type} refuses every way of reading outside the store, and passes the store`, () => {
    for (const [what, spec] of BAD_ES) assert.equal(violations(externalSecretStore, type, wrap(spec)).length, 1, what);
    const perEntry = esSpec({
      data: [{ secretKey: "k", remoteRef: { key: "p" }, sourceRef: { storeRef: STORE } }],
      dataFrom: [{ extract: { key: "p" }, sourceRef: { storeRef: STORE } }],
    });
    assert.deepEqual(violations(externalSecretStore, type, wrap(perEntry)), []);
  });
}

test("a List's violation names the item it is in", () => {
  const props = { items: [atTemplate(pod(good)), atTemplate(pod({ ...good, resources: {} }))] };
  assert.deepEqual(
    violations(containerResources, "kubernetes:apps/v1:DeploymentList", props).map((m) =>
      m.replace(/^.*?\): /, "").replace(/\. Fix:.*$/, ""),
    ),
    ['items[1]: container "app" has no resources requests.cpu, requests.memory, limits.cpu, limits.memory'],
  );
});

test("a Patch that carries no pod spec or ExternalSecret spec (a label change) has nothing to refuse", () => {
  const labels = { metadata: { name: "w", labels: { a: "b" } } };
  assert.deepEqual(violations(containerResources, "kubernetes:apps/v1:DeploymentPatch", labels), []);
  assert.deepEqual(violations(externalSecretStore, "kubernetes:external-secrets.io/v1:ExternalSecretPatch", labels), []);
  assert.equal(violations(externalSecretStore, "kubernetes:external-secrets.io/v1:ExternalSecret", labels).length, 2);
});
