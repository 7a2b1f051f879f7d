import assert from "node:assert/strict";
import { test } from "node:test";
import { onboardingRequest, taskRequest } from "../../server/schemas";
import {
  InvalidRepoNameError,
  k8sNameFor,
  orgWebhookUrlPath,
  parseRepoRef,
  repoRefFromStackName,
  stackNameFor,
  validateOwner,
  vaultEnvPath,
  vaultOrgWebhookPath,
  vaultWebhookPath,
  webhookUrlPath,
} from "../../domain/names";
import { parseRepoStackConfig, RepoConfigError } from "../../domain/repo-config";

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

// Pairs the old system mapped to one name, and pairs that differ only in characters a k8s name cannot hold.
const LOOKALIKES: [string, string][] = [
  ["a-b/c", "a/b-c"],
  ["acme/my.repo", "acme/my_repo"],
  ["acme/my.repo", "acme/my-repo"],
  ["acme/x--y", "acme/x-y"],
  ["a/b.c", "a-b/c"],
];

test("derived names of look-alike repositories never collide", () => {
  for (const [x, y] of LOOKALIKES) {
    const a = parseRepoRef(x);
    const b = parseRepoRef(y);
    assert.notEqual(stackNameFor(a), stackNameFor(b), `stack names of ${x} and ${y}`);
    assert.notEqual(k8sNameFor(a), k8sNameFor(b), `k8s names of ${x} and ${y}`);
    assert.notEqual(vaultWebhookPath(a), vaultWebhookPath(b), `vault paths of ${x} and ${y}`);
    assert.notEqual(webhookUrlPath(a), webhookUrlPath(b), `webhook paths of ${x} and ${y}`);
  }
});

test("names are injective over many generated repositories", () => {
  const chars = ["a", "b", "-", ".", "_"];
  const seen = { stack: new Map<string, string>(), k8s: new Map<string, string>(), vault: new Map<string, string>() };
  const owners = ["a", "b", "a-b", "ab"];
  let repos = [""];
  for (let i = 0; i < 3; i++) repos = repos.flatMap((r) => chars.map((c) => r + c));
  for (const owner of owners) {
    for (const repo of repos) {
      let ref;
      try {
        ref = parseRepoRef(`${owner}/${repo}`);
      } catch {
        continue;
      }
      const full = `${owner}/${repo}`;
      for (const [kind, name] of [
        ["stack", stackNameFor(ref)],
        ["k8s", k8sNameFor(ref)],
        ["vault", vaultWebhookPath(ref)],
      ] as const) {
        const other = seen[kind].get(name);
        assert.equal(other, undefined, `${kind} name ${name} shared by ${other} and ${full}`);
        seen[kind].set(name, full);
      }
    }
  }
  assert.ok(seen.stack.size > 100);
});

test("the same repository spelled in another case gets the same names (GitHub ignores case)", () => {
  const a = parseRepoRef("Acme/Widgets");
  const b = parseRepoRef("acme/widgets");
  assert.equal(stackNameFor(a), stackNameFor(b));
  assert.equal(k8sNameFor(a), k8sNameFor(b));
  assert.equal(vaultWebhookPath(a), "mesh-six/webhooks/repos/acme/widgets");
  assert.equal(webhookUrlPath(a), webhookUrlPath(b));
  assert.equal(vaultOrgWebhookPath("Acme"), vaultOrgWebhookPath("acme"));
});

test("stack names are <owner>.<repo> and read back", () => {
  const ref = parseRepoRef("acme/widgets.api");
  assert.equal(stackNameFor(ref), "acme.widgets.api");
  assert.deepEqual(repoRefFromStackName("acme.widgets.api"), { owner: "acme", repo: "widgets.api" });
  assert.equal(repoRefFromStackName("platform-prod"), undefined);
});

test("the longest names GitHub allows still give valid, distinct names", () => {
  const owner = "o".repeat(38) + "x";
  const repoA = "r".repeat(99) + "a";
  const repoB = "r".repeat(99) + "b";
  const a = parseRepoRef(`${owner}/${repoA}`);
  const b = parseRepoRef(`${owner}/${repoB}`);
  for (const ref of [a, b]) {
    assert.ok(stackNameFor(ref).length <= 100);
    assert.match(stackNameFor(ref), /^[a-z0-9_.-]+$/);
    const k8s = k8sNameFor(ref);
    assert.ok(k8s.length <= 52, `${k8s} is ${k8s.length} long`);
    assert.match(k8s, DNS1123_LABEL);
  }
  assert.notEqual(stackNameFor(a), stackNameFor(b));
  assert.notEqual(k8sNameFor(a), k8sNameFor(b));
});

test("k8s names stay DNS-1123 labels whatever the repository name", () => {
  for (const full of ["a/_x_", "a/.x.", "a/-", "A-1/__.__", "z/x.y_z-w"]) {
    assert.match(k8sNameFor(parseRepoRef(full)), DNS1123_LABEL, full);
  }
});

test("invalid owner and repo names are refused with the field named", () => {
  for (const [full, field] of [
    ["-acme/widgets", "owner"],
    ["ac--me/widgets", "owner"],
    ["acme.io/widgets", "owner"],
    ["o".repeat(40) + "/x", "owner"],
    ["acme/..", "repo"],
    ["acme/wid gets", "repo"],
    ["acme/" + "r".repeat(101), "repo"],
    ["acme/widgets.git", "repo"],
    ["acme", "repo"],
  ] as const) {
    assert.throws(
      () => parseRepoRef(full),
      (err: unknown) => err instanceof InvalidRepoNameError && err.field === field,
      full,
    );
  }
});

// ---- Reserved names, disjoint namespaces, and injectivity over generated names ----

// Names GitHub keeps for its own routes (github.com/<name>), so no user or organization can have them.
const RESERVED_SAMPLE = [
  "orgs",
  "organizations",
  "settings",
  "login",
  "logout",
  "about",
  "api",
  "apps",
  "enterprise",
  "marketplace",
  "new",
  "notifications",
  "pulls",
  "issues",
  "search",
  "site",
  "sponsors",
  "topics",
  "explore",
  "features",
  "pricing",
  "security",
  "team",
  "teams",
  "users",
];

test("reserved GitHub names are refused as owners and organizations, in any case, naming the field", () => {
  for (const name of RESERVED_SAMPLE) {
    for (const spelled of [name, name.toUpperCase(), name[0].toUpperCase() + name.slice(1)]) {
      assert.throws(
        () => parseRepoRef(`${spelled}/widgets`),
        (err: unknown) => err instanceof InvalidRepoNameError && err.field === "owner" && /reserved/.test(err.message),
        `owner ${spelled}`,
      );
      assert.throws(
        () => vaultOrgWebhookPath(spelled),
        (err: unknown) => err instanceof InvalidRepoNameError && /reserved/.test(err.message),
        `org ${spelled}`,
      );
    }
  }
});

test("a reserved owner is refused by every entry point: onboarding, stack config, tasks, stack names", () => {
  const config = (owner: string) => () => parseRepoStackConfig({ owner, repo: "widgets", serverUrl: "https://mesh-six.example.com" });
  assert.throws(config("orgs"), (err: unknown) => err instanceof RepoConfigError && err.issues.some((i) => i.key === "mesh-six:owner"));
  assert.doesNotThrow(config("acme"));
  const onboarding = onboardingRequest.safeParse({ owner: "Settings", repo: "widgets" });
  assert.equal(onboarding.success, false);
  assert.deepEqual(
    onboarding.error?.issues.map((i) => i.path.join(".")),
    ["owner"],
  );
  const task = taskRequest.safeParse({ capability: "implement", owner: "orgs", repo: "widgets", payload: {} });
  assert.equal(task.success, false, "a task for a reserved owner is refused");
  assert.deepEqual(
    task.error?.issues.map((i) => i.path.join(".")),
    ["owner"],
  );
  const badRepo = taskRequest.safeParse({ capability: "implement", owner: "acme", repo: "..", payload: {} });
  assert.deepEqual(
    badRepo.error?.issues.map((i) => i.path.join(".")),
    ["repo"],
    "a task's repo is validated as GitHub does",
  );
  assert.equal(repoRefFromStackName("orgs.widgets"), undefined);
});

test("a repo spelled orgs/<org> can never share the organization's webhook secret path", () => {
  assert.throws(() => vaultWebhookPath({ owner: "orgs", repo: "acme" }), InvalidRepoNameError);
  // By construction, not only by validation: the two kinds live under different prefixes.
  assert.ok(vaultWebhookPath(parseRepoRef("acme/widgets")).startsWith("mesh-six/webhooks/repos/"));
  assert.ok(vaultOrgWebhookPath("acme").startsWith("mesh-six/webhooks/orgs/"));
  assert.ok(webhookUrlPath(parseRepoRef("acme/widgets")).startsWith("/webhooks/github/"));
  assert.ok(orgWebhookUrlPath("acme").startsWith("/webhooks/github-org/"));
});

/** A small deterministic PRNG (mulberry32), so a failure names inputs that can be replayed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomCase(text: string, random: () => number): string {
  return [...text].map((c) => (random() < 0.5 ? c.toUpperCase() : c.toLowerCase())).join("");
}

test("no two distinct repositories or organizations share a stack, Kubernetes name, Vault path or webhook URL", () => {
  const random = prng(20260601);
  const pick = (chars: string, n: number) => Array.from({ length: n }, () => chars[Math.floor(random() * chars.length)]).join("");
  const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  const owners = new Set([
    "a",
    "b",
    "a-b",
    "ab",
    "a1",
    "orgs",
    "Orgs",
    "repos",
    "settings",
    "x".repeat(39),
    `${"y".repeat(19)}-${"z".repeat(19)}`,
    "A-B",
    "0",
    ...RESERVED_SAMPLE,
  ]);
  while (owners.size < 200) {
    const length = 1 + Math.floor(random() * 39);
    owners.add(pick(alnum, length).replace(/(?<=.)(.)(?=.)/g, (c) => (random() < 0.15 ? "-" : c)));
  }
  const repos = new Set([
    "x",
    ".github",
    "_",
    "-",
    "a.b",
    "a_b",
    "a-b",
    "a..b",
    "a.git.b",
    "..a",
    "A.B",
    "r".repeat(100),
    `${"r".repeat(99)}.`,
    "widgets",
    "orgs",
    "acme",
  ]);
  while (repos.size < 300) repos.add(pick(`${alnum}._-`, 1 + Math.floor(random() * (random() < 0.1 ? 100 : 12))));

  // Every derived name, by the namespace it lives in; each must belong to exactly one identity.
  const spaces = {
    stack: new Map<string, string>(),
    k8s: new Map<string, string>(),
    vault: new Map<string, string>(),
    url: new Map<string, string>(),
  };
  const claim = (space: keyof typeof spaces, name: string, identity: string) => {
    const other = spaces[space].get(name);
    assert.ok(other === undefined || other === identity, `${space} name ${name} is produced by both ${other} and ${identity}`);
    spaces[space].set(name, identity);
  };
  let accepted = 0;
  for (const owner of owners) {
    for (const org of [owner, randomCase(owner, random)]) {
      try {
        validateOwner(org);
      } catch {
        continue;
      }
      claim("vault", vaultOrgWebhookPath(org), `org ${org.toLowerCase()}`);
      claim("url", orgWebhookUrlPath(org), `org ${org.toLowerCase()}`);
    }
    for (const repo of repos) {
      if (random() > 0.1 && repo.length < 90) continue; // every long name, a sample of the rest
      for (const [o, r] of [
        [owner, repo],
        [randomCase(owner, random), randomCase(repo, random)],
      ]) {
        let ref;
        try {
          ref = parseRepoRef(`${o}/${r}`);
        } catch {
          continue;
        }
        accepted += 1;
        const identity = `repo ${o}/${r}`.toLowerCase();
        claim("stack", stackNameFor(ref), identity);
        claim("k8s", k8sNameFor(ref), identity);
        claim("k8s", k8sNameFor(ref, "repo"), identity);
        claim("vault", vaultWebhookPath(ref), identity);
        claim("vault", vaultEnvPath(ref), identity);
        claim("url", webhookUrlPath(ref), identity);
      }
    }
  }
  assert.ok(accepted > 5000, `enough pairs were generated (${accepted})`);
});
