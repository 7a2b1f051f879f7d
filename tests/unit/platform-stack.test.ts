import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { mockPulumi, resolveDeep } from "../../testkit/pulumi-mocks";

/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes object shapes as the mocks record them */
const root = path.join(__dirname, "../..");

/** A stack file's config as the language host hands it to the program: structured values become JSON strings. */
function stackConfig(stackFile: string): Record<string, string> {
  const doc = parse(readFileSync(path.join(root, stackFile), "utf8")) as { config: Record<string, unknown> };
  return Object.fromEntries(Object.entries(doc.config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

const prodConfig = stackConfig("Pulumi.platform-prod.yaml");
const prodImages = JSON.parse(prodConfig["mesh-six:images"]) as Record<string, string>;

const mocks = mockPulumi({ stack: "platform-prod", config: prodConfig });
const { registered, ofType, one } = mocks;

// Loaded only after setMocks and the stack's config are in place.
/* eslint-disable @typescript-eslint/no-require-imports */
const { platformProgram, PLATFORM_SECRET_NAME }: typeof import("../../stacks/platform") = require("../../stacks/platform");
const {
  services,
  ONBOARDING_SERVER,
  DEV_DEFAULT_TAG,
  DEFAULT_REGISTRY,
}: typeof import("../../domain/catalog") = require("../../domain/catalog");
const config: typeof import("../../stacks/platform-config") = require("../../stacks/platform-config");
/* eslint-enable @typescript-eslint/no-require-imports */

let outputs: Record<string, any>;

before(async () => {
  outputs = (await resolveDeep(await platformProgram())) as Record<string, any>;
  await mocks.settled();
});

describe("platform-prod, declared from Pulumi.platform-prod.yaml", () => {
  test("the mesh-six-secrets ExternalSecret has exactly the nine keys, each from the Vault property of its name", () => {
    const es = one("kubernetes:external-secrets.io/v1:ExternalSecret", "mesh-six-secrets");
    assert.equal(es.inputs.metadata.name, PLATFORM_SECRET_NAME);
    assert.equal(es.inputs.spec.target.name, "mesh-six-secrets");
    const keys = es.inputs.spec.data.map((d: any) => d.secretKey).sort();
    assert.deepEqual(keys, [
      "GITHUB_TOKEN",
      "GIT_PASSWORD",
      "GIT_USERNAME",
      "LITELLM_ADMIN_KEY",
      "MINIO_ACCESS_KEY",
      "MINIO_SECRET_KEY",
      "PG_PASSWORD",
      "PG_USER",
      "VAULT_TOKEN",
    ]);
    for (const d of es.inputs.spec.data) assert.deepEqual(d.remoteRef, { key: "mesh-six/platform", property: d.secretKey });
  });

  test("every catalog service gets a Deployment in the platform namespace, and nothing else runs", () => {
    const deployments = ofType("kubernetes:apps/v1:Deployment");
    for (const s of services) {
      const d = one("kubernetes:apps/v1:Deployment", s.name);
      assert.equal(d.inputs.metadata.namespace, "mesh-six", s.name);
      assert.equal(d.inputs.spec.replicas, s.replicas ?? 1, s.name);
    }
    assert.deepEqual(deployments.map((d) => d.name).sort(), [...services.map((s) => s.name), ONBOARDING_SERVER.name].sort());
  });

  test("a service with a port gets a Service; one without gets none", () => {
    for (const s of services) {
      const svc = registered.filter((r) => r.type === "kubernetes:core/v1:Service" && r.name === s.name);
      assert.equal(svc.length, s.port === undefined ? 0 : 1, s.name);
      if (s.port !== undefined) {
        assert.deepEqual(svc[0].inputs.spec.ports, [{ name: "http", port: 80, targetPort: "http" }], s.name);
        const container = one("kubernetes:apps/v1:Deployment", s.name).inputs.spec.template.spec.containers[0];
        assert.deepEqual(container.ports, [{ name: "http", containerPort: s.port }], s.name);
      }
    }
  });

  test("Dapr services carry dapr.io/enabled, app-id and app-port on their pod template", () => {
    for (const s of services) {
      const annotations = one("kubernetes:apps/v1:Deployment", s.name).inputs.spec.template.metadata.annotations ?? {};
      if (!s.dapr) {
        assert.equal(annotations["dapr.io/enabled"], undefined, s.name);
        continue;
      }
      assert.equal(annotations["dapr.io/enabled"], "true", s.name);
      assert.equal(annotations["dapr.io/app-id"], s.name, s.name);
      assert.equal(annotations["dapr.io/app-port"], s.port === undefined ? undefined : String(s.port), s.name);
    }
  });

  test("images in prod are exactly registry/image:tag from the stack file", () => {
    for (const s of services) {
      const expected = `${DEFAULT_REGISTRY}/${s.image}:${prodImages[s.name]}`;
      const container = one("kubernetes:apps/v1:Deployment", s.name).inputs.spec.template.spec.containers[0];
      assert.equal(container.image, expected, s.name);
      assert.equal(outputs.images[s.name], expected, s.name);
    }
    assert.equal(Object.keys(outputs.images).length, services.length);
    const serverImage = `${DEFAULT_REGISTRY}/${ONBOARDING_SERVER.image}:${prodImages[ONBOARDING_SERVER.name]}`;
    const server = one("kubernetes:apps/v1:Deployment", ONBOARDING_SERVER.name).inputs.spec.template.spec.containers[0];
    assert.equal(server.image, serverImage);
    assert.equal(outputs.serverImage, serverImage);
  });

  test("the stack exports the namespace, the secret's name and the server's Service name", () => {
    assert.equal(outputs.environment, "prod");
    assert.equal(outputs.namespace, "mesh-six");
    assert.equal(outputs.secretName, "mesh-six-secrets");
    assert.equal(outputs.serverServiceName, "onboarding-server");
  });

  test("the server's Role grants nothing cluster-wide", () => {
    assert.deepEqual(ofType("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"), []);
    assert.deepEqual(ofType("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"), []);
    const role = one("kubernetes:rbac.authorization.k8s.io/v1:Role", ONBOARDING_SERVER.name);
    const binding = one("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", ONBOARDING_SERVER.name);
    assert.equal(role.inputs.metadata.namespace, "mesh-six");
    assert.equal(binding.inputs.metadata.namespace, "mesh-six");
    assert.equal(binding.inputs.roleRef.kind, "Role");
    const clusterScoped = ["namespaces", "nodes", "persistentvolumes", "clusterroles", "clusterrolebindings", "customresourcedefinitions"];
    for (const rule of role.inputs.rules) {
      for (const field of ["apiGroups", "resources", "verbs"]) assert.ok(!rule[field].includes("*"), `wildcard in ${field}`);
      assert.deepEqual(
        rule.resources.filter((r: string) => clusterScoped.includes(r)),
        [],
      );
      assert.ok(!rule.verbs.includes("escalate") && !rule.verbs.includes("bind") && !rule.verbs.includes("impersonate"));
      assert.equal(rule.nonResourceURLs, undefined);
    }
  });

  test("the server's Role manages what repo stacks declare and only reads pods", () => {
    const rules: any[] = one("kubernetes:rbac.authorization.k8s.io/v1:Role", ONBOARDING_SERVER.name).inputs.rules;
    const verbsFor = (group: string, resource: string) =>
      rules.filter((r) => r.apiGroups.includes(group) && r.resources.includes(resource)).flatMap((r) => r.verbs);
    const manage = ["get", "list", "watch", "create", "update", "patch", "delete"];
    for (const [group, resource] of [
      ["apps", "statefulsets"],
      ["", "services"],
      ["", "serviceaccounts"],
      ["rbac.authorization.k8s.io", "roles"],
      ["rbac.authorization.k8s.io", "rolebindings"],
      ["external-secrets.io", "externalsecrets"],
    ]) {
      assert.deepEqual(verbsFor(group, resource).sort(), [...manage].sort(), `${group}/${resource}`);
    }
    assert.deepEqual(verbsFor("", "pods").sort(), ["get", "list", "watch"]);
    assert.deepEqual(verbsFor("", "secrets"), []);
  });

  test("the server listens on 8080, is probed on /readyz and /healthz and reads each credential by reference", () => {
    const pod = one("kubernetes:apps/v1:Deployment", ONBOARDING_SERVER.name).inputs.spec.template.spec;
    const container = pod.containers[0];
    assert.deepEqual(container.ports, [{ name: "http", containerPort: 8080 }]);
    assert.equal(container.readinessProbe.httpGet.path, "/readyz");
    assert.equal(container.livenessProbe.httpGet.path, "/healthz");
    assert.equal(container.startupProbe.httpGet.path, "/healthz");
    assert.equal(container.envFrom, undefined, "the server takes only the keys it needs, not the whole platform Secret");
    const refs = Object.fromEntries(
      container.env
        .filter((e: any) => e.valueFrom?.secretKeyRef)
        .map((e: any) => [e.name, `${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`]),
    );
    assert.deepEqual(refs, {
      MESH_SIX_API_TOKENS: "onboarding-server-secrets/MESH_SIX_API_TOKENS",
      PGUSER: "mesh-six-secrets/PG_USER",
      PGPASSWORD: "mesh-six-secrets/PG_PASSWORD",
      VAULT_TOKEN: "mesh-six-secrets/VAULT_TOKEN",
      GITHUB_TOKEN: "mesh-six-secrets/GITHUB_TOKEN",
    });
    const values = Object.fromEntries(container.env.filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value]));
    assert.equal(values.MESH_SIX_PUBLIC_URL, "https://mesh-six.bto.bar");
    assert.equal(values.DATABASE_URL, "postgres://postgres-rw.mesh-six.svc:5432/mesh_six?sslmode=require");
    const provider = container.env.find((e: any) => e.name === "MESH_SIX_SECRETS_PROVIDER").valueFrom.configMapKeyRef;
    const settings = one("kubernetes:core/v1:ConfigMap", ONBOARDING_SERVER.name).inputs;
    assert.equal(provider.name, settings.metadata.name);
    assert.equal(settings.data[provider.key], "hashivault://mesh-six-state");
    assert.equal(values.MESH_SIX_RUN_CONCURRENCY, "1");
    for (const [name, value] of Object.entries(values)) assert.doesNotMatch(String(value), /:[^/@]+@/, `${name} carries no password`);
    assert.equal(pod.serviceAccountName, ONBOARDING_SERVER.name);
    const binding = one("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", ONBOARDING_SERVER.name);
    assert.deepEqual(binding.inputs.subjects, [{ kind: "ServiceAccount", name: ONBOARDING_SERVER.name, namespace: "mesh-six" }]);
  });

  test("the server's pods run non-root on a read-only root with scratch only in emptyDirs, outliving their runs' grace", () => {
    const deployment = one("kubernetes:apps/v1:Deployment", ONBOARDING_SERVER.name).inputs;
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    assert.ok(deployment.spec.replicas >= 2);
    assert.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0);
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(pod.securityContext.runAsUser, 10001);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.deepEqual(container.volumeMounts.map((m: any) => m.mountPath).sort(), ["/home/mesh-six", "/tmp"]);
    for (const v of pod.volumes) assert.ok(v.emptyDir, `${v.name} is an emptyDir`);
    const grace = Number(container.env.find((e: any) => e.name === "MESH_SIX_RUN_SHUTDOWN_GRACE_MS").value) / 1000;
    assert.ok(
      pod.terminationGracePeriodSeconds > grace + 5,
      `${pod.terminationGracePeriodSeconds}s covers the ${grace}s grace and the drain`,
    );
    assert.equal(container.resources.limits.memory, "2Gi");
    const pdb = one("kubernetes:policy/v1:PodDisruptionBudget", ONBOARDING_SERVER.name).inputs;
    assert.equal(pdb.spec.maxUnavailable, 1);
    assert.deepEqual(pdb.spec.selector.matchLabels, deployment.spec.selector.matchLabels);
    const secret = one("kubernetes:external-secrets.io/v1:ExternalSecret", "onboarding-server-secrets").inputs;
    assert.deepEqual(secret.spec.data, [
      { secretKey: "MESH_SIX_API_TOKENS", remoteRef: { key: "mesh-six/onboarding-server", property: "MESH_SIX_API_TOKENS" } },
    ]);
  });

  test("the server's user and writable dirs are the image's own (its USER and dev.mesh-six.writable-dirs label)", () => {
    const pod = one("kubernetes:apps/v1:Deployment", ONBOARDING_SERVER.name).inputs.spec.template.spec;
    const container = pod.containers[0];
    const dockerfile = readFileSync(path.join(__dirname, "../../Dockerfile"), "utf8");
    const user = /^USER (\d+):(\d+)$/m.exec(dockerfile)!;
    assert.equal(pod.securityContext.runAsUser, Number(user[1]));
    assert.equal(pod.securityContext.runAsGroup, Number(user[2]));
    const writable = /dev\.mesh-six\.writable-dirs="([^"]*)"/.exec(dockerfile)![1].split(" ");
    const mounts = container.volumeMounts.map((m: any) => [m.mountPath, pod.volumes.find((v: any) => v.name === m.name)]);
    assert.deepEqual(
      mounts.map(([p]: any) => p),
      writable,
    );
    for (const [p, volume] of mounts) assert.ok(volume.emptyDir, `${p} is an emptyDir`);
  });

  test("every mesh-six service takes its env from mesh-six-secrets", () => {
    for (const s of services) {
      const container = one("kubernetes:apps/v1:Deployment", s.name).inputs.spec.template.spec.containers[0];
      assert.deepEqual(container.envFrom, [{ secretRef: { name: "mesh-six-secrets" } }], s.name);
    }
  });
});

describe("platform config", () => {
  const {
    parsePlatformConfig,
    readPlatformConfig,
    PlatformConfigError,
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_RUN_CONCURRENCY,
    RUN_MEMORY_MI,
    SERVER_BASE_MEMORY_MI,
  } = config;
  const server = { publicUrl: "https://mesh-six.example.com", databaseUrl: "postgres://db.mesh-six.svc:5432/mesh_six" };
  const prodRaw = () => ({ kind: "platform", environment: "prod", images: { ...prodImages }, server });

  /** Asserts that `fn` throws a PlatformConfigError naming exactly `keys`. */
  function assertConfigError(fn: () => unknown, keys: string[]) {
    assert.throws(fn, (err: unknown) => {
      assert.ok(err instanceof PlatformConfigError, String(err));
      assert.deepEqual(err.keys, keys);
      for (const key of keys) assert.ok(err.message.includes(key), err.message);
      return true;
    });
  }

  test("prod config without a tag for a catalog service fails naming mesh-six:images.<service>", () => {
    const raw = prodRaw();
    delete raw.images["orchestrator"];
    assertConfigError(() => parsePlatformConfig(raw, "platform-prod"), ["mesh-six:images.orchestrator"]);
  });

  test("prod config pinning latest fails naming the key", () => {
    const raw = prodRaw();
    raw.images["webhook-receiver"] = "latest";
    assertConfigError(() => parsePlatformConfig(raw, "platform-prod"), ["mesh-six:images.webhook-receiver"]);
  });

  test("prod config without the server's pin fails naming mesh-six:images.onboarding-server", () => {
    const raw = prodRaw();
    delete raw.images[ONBOARDING_SERVER.name];
    assertConfigError(() => parsePlatformConfig(raw, "platform-prod"), ["mesh-six:images.onboarding-server"]);
  });

  test("prod accepts a sha256 digest as a pin", () => {
    const raw = prodRaw();
    raw.images["dashboard"] = `sha256:${"0".repeat(64)}`;
    assert.equal(parsePlatformConfig(raw, "platform-prod").images["dashboard"], raw.images["dashboard"]);
  });

  test("a prod serverImage override must itself be pinned, and excludes the server's images entry", () => {
    const raw = prodRaw();
    delete raw.images[ONBOARDING_SERVER.name];
    assertConfigError(() => parsePlatformConfig({ ...raw, serverImage: "ghcr.io/acme/server" }, "platform-prod"), ["mesh-six:serverImage"]);
    assertConfigError(
      () => parsePlatformConfig({ ...raw, serverImage: "ghcr.io/acme/server:latest" }, "platform-prod"),
      ["mesh-six:serverImage"],
    );
    assert.equal(
      parsePlatformConfig({ ...raw, serverImage: "localhost:5000/server:v1" }, "platform-prod").serverImage,
      "localhost:5000/server:v1",
    );
    assertConfigError(
      () => parsePlatformConfig({ ...prodRaw(), serverImage: "ghcr.io/acme/server:v1" }, "platform-prod"),
      ["mesh-six:serverImage"],
    );
  });

  test("dev config defaults every missing tag to the catalog's dev default", () => {
    const cfg = parsePlatformConfig({ server, images: { orchestrator: "pr-42" } }, "platform-dev");
    assert.equal(cfg.environment, "dev");
    assert.equal(cfg.images["orchestrator"], "pr-42");
    for (const s of services.filter((e) => e.name !== "orchestrator")) assert.equal(cfg.images[s.name], DEV_DEFAULT_TAG);
    assert.equal(cfg.serverImage, `${DEFAULT_REGISTRY}/${ONBOARDING_SERVER.image}:${DEV_DEFAULT_TAG}`);
    assert.equal(cfg.namespace, "mesh-six");
    assert.equal(cfg.vaultPath, "mesh-six/platform");
  });

  test("the environment comes from the stack name, and a conflicting mesh-six:environment fails", () => {
    assert.equal(parsePlatformConfig({ server, images: prodImages }, "platform-prod").environment, "prod");
    assertConfigError(
      () => parsePlatformConfig({ server, environment: "dev", images: prodImages }, "platform-prod"),
      ["mesh-six:environment"],
    );
  });

  test("the server's memory limit must hold its run concurrency by the measured figures, and the check names both keys", () => {
    // The default concurrency is as many runs as the default limit holds: one more does not fit.
    const tooMany = DEFAULT_RUN_CONCURRENCY + 1;
    const raw = { ...prodRaw(), server: { ...server, runConcurrency: tooMany, memoryLimit: DEFAULT_MEMORY_LIMIT } };
    assert.throws(
      () => parsePlatformConfig(raw, "platform-prod"),
      (err: Error) => {
        assert.ok(err instanceof PlatformConfigError);
        assert.deepEqual(err.keys, ["mesh-six:server.memoryLimit"]);
        assert.match(err.message, new RegExp(`runConcurrency=${tooMany}`));
        return true;
      },
    );
    const enough = `${SERVER_BASE_MEMORY_MI + tooMany * RUN_MEMORY_MI}Mi`;
    assert.equal(
      parsePlatformConfig({ ...raw, server: { ...raw.server, memoryLimit: enough } }, "platform-prod").server.runConcurrency,
      tooMany,
    );
    const defaults = parsePlatformConfig({ ...prodRaw(), server }, "platform-prod").server;
    assert.deepEqual([defaults.memoryLimit, defaults.runConcurrency], [DEFAULT_MEMORY_LIMIT, DEFAULT_RUN_CONCURRENCY]);
    assert.ok(SERVER_BASE_MEMORY_MI + DEFAULT_RUN_CONCURRENCY * RUN_MEMORY_MI <= 2048, "the defaults fit");
  });

  test("the server needs an https public URL, a credential-free database URL and two replicas", () => {
    assertConfigError(
      () => parsePlatformConfig({ ...prodRaw(), server: {} }, "platform-prod"),
      ["mesh-six:server.publicUrl", "mesh-six:server.databaseUrl"],
    );
    assertConfigError(
      () => parsePlatformConfig({ ...prodRaw(), server: { ...server, publicUrl: "http://mesh-six.example.com" } }, "platform-prod"),
      ["mesh-six:server.publicUrl"],
    );
    assert.equal(
      parsePlatformConfig({ ...prodRaw(), server: { ...server, publicUrl: "http://127.0.0.1:8080" } }, "platform-prod").server.publicUrl,
      "http://127.0.0.1:8080",
    );
    assertConfigError(
      () => parsePlatformConfig({ ...prodRaw(), server: { ...server, databaseUrl: "postgres://u:hunter2@db/x" } }, "platform-prod"),
      ["mesh-six:server.databaseUrl"],
    );
    assertConfigError(
      () => parsePlatformConfig({ ...prodRaw(), server: { ...server, replicas: 1 } }, "platform-prod"),
      ["mesh-six:server.replicas"],
    );
  });

  test("a stack not named platform-<env> needs mesh-six:environment", () => {
    assertConfigError(() => parsePlatformConfig({}, "sandbox"), ["mesh-six:environment"]);
    assert.equal(parsePlatformConfig({ server, environment: "dev" }, "sandbox").environment, "dev");
    assertConfigError(() => parsePlatformConfig({ server, environment: "staging" }, "sandbox"), ["mesh-six:environment"]);
  });

  test("an image key outside the catalog fails naming it", () => {
    assertConfigError(
      () => parsePlatformConfig({ server, images: { orchestrater: "v1" } }, "platform-dev"),
      ["mesh-six:images.orchestrater"],
    );
  });

  test("malformed values fail naming their keys", () => {
    assertConfigError(
      () =>
        parsePlatformConfig(
          { kind: "repo", namespace: "Mesh_Six", registry: "https://r.example", images: { dashboard: "v 1" } },
          "platform-dev",
        ),
      ["mesh-six:kind", "mesh-six:namespace", "mesh-six:registry", "mesh-six:images.dashboard"],
    );
  });

  describe("read from the stack's configuration", () => {
    after(() => pulumi.runtime.setAllConfig(prodConfig));

    test("the prod stack file itself is valid", () => {
      pulumi.runtime.setAllConfig(prodConfig);
      assert.equal(readPlatformConfig().environment, "prod");
    });

    test("a latest pin set through pulumi config fails naming the key", () => {
      const images = { ...prodImages, "llm-service": "latest" };
      pulumi.runtime.setAllConfig({ ...prodConfig, "mesh-six:images": JSON.stringify(images) });
      assertConfigError(() => readPlatformConfig(), ["mesh-six:images.llm-service"]);
    });

    test("an image tag set without --path is named as the flat key it is", () => {
      pulumi.runtime.setAllConfig({ ...prodConfig, "mesh-six:images.dashboard": "v1" });
      assertConfigError(() => readPlatformConfig(), ["mesh-six:images.dashboard"]);
    });
  });
});
