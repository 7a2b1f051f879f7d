import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { ONBOARDING_SERVER, builtServices, getService, imageRef, serviceNames, services, testedServices } from "../../domain/catalog";

const root = path.join(__dirname, "../..");

function pinnedImages(stackFile: string): Record<string, unknown> {
  const doc = parse(readFileSync(path.join(root, stackFile), "utf8")) as { config?: Record<string, unknown> };
  return (doc.config?.["mesh-six:images"] ?? {}) as Record<string, unknown>;
}

function duplicates(values: string[]): string[] {
  return values.filter((v, i) => values.indexOf(v) !== i);
}

test("service names are unique", () => {
  assert.deepEqual(duplicates(serviceNames()), []);
});

test("no two services share an image repository", () => {
  assert.deepEqual(duplicates(services.map((s) => s.image)), []);
});

test("every service name is a DNS-1123 label, so it works as an object name and a Dapr app id", () => {
  for (const name of serviceNames()) assert.match(name, /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, name);
});

test("the onboarding server's image key collides with no catalog service", () => {
  assert.ok(!serviceNames().includes(ONBOARDING_SERVER.name));
  assert.ok(!services.some((s) => s.image === ONBOARDING_SERVER.image));
});

test("the build matrix lists exactly the services flagged built, in catalog order", () => {
  assert.deepEqual(
    builtServices(),
    services.filter((s) => s.built).map((s) => s.name),
  );
  assert.ok(builtServices().includes("dashboard"));
});

test("the test matrix lists exactly the services flagged tested, in catalog order", () => {
  assert.deepEqual(
    testedServices(),
    services.filter((s) => s.tested).map((s) => s.name),
  );
  assert.ok(testedServices().includes("project-manager"));
  assert.ok(!testedServices().includes("dashboard"));
});

test("a service without a port runs no replicas of its own (it has nothing to serve)", () => {
  for (const s of services.filter((e) => e.port === undefined)) assert.equal(s.replicas, 0, s.name);
});

test("getService names an unknown service in its error", () => {
  assert.equal(getService("orchestrator").image, "mesh-six-orchestrator");
  assert.throws(() => getService("orchestrater"), /"orchestrater" is not a mesh-six service/);
});

test("imageRef joins a tag with ':' and a digest with '@'", () => {
  const digest = `sha256:${"a".repeat(64)}`;
  assert.equal(imageRef("registry.example/org", "mesh-six-x", "v1.2.3"), "registry.example/org/mesh-six-x:v1.2.3");
  assert.equal(imageRef("registry.example/org/", "mesh-six-x", digest), `registry.example/org/mesh-six-x@${digest}`);
});

test("Pulumi.platform-prod.yaml pins every catalog service and the onboarding server", () => {
  const pinned = pinnedImages("Pulumi.platform-prod.yaml");
  const missing = [...serviceNames(), ONBOARDING_SERVER.name].filter((name) => pinned[name] === undefined);
  assert.deepEqual(missing, [], `add mesh-six:images.<name> to Pulumi.platform-prod.yaml for: ${missing.join(", ")}`);
});

test("Pulumi.platform-prod.yaml pins nothing the catalog no longer has", () => {
  const known = new Set([...serviceNames(), ONBOARDING_SERVER.name]);
  assert.deepEqual(
    Object.keys(pinnedImages("Pulumi.platform-prod.yaml")).filter((name) => !known.has(name)),
    [],
  );
});

test("Pulumi.platform-prod.yaml pins no image to latest", () => {
  const floating = Object.entries(pinnedImages("Pulumi.platform-prod.yaml"))
    .filter(([, tag]) => typeof tag !== "string" || tag.toLowerCase() === "latest")
    .map(([name]) => name);
  assert.deepEqual(floating, []);
});
