import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, DEFAULT_POD_READY_TIMEOUT_MS, loadServerConfig } from "../../server/config";

const BASE = { MESH_SIX_API_TOKENS: "0123456789abcdef0123", MESH_SIX_PUBLIC_URL: "https://mesh-six.example.com" };
const OAUTH = {
  MESH_SIX_OAUTH_DEVICE_AUTHORIZATION_URL: "https://as.example/device/auth",
  MESH_SIX_OAUTH_TOKEN_URL: "https://as.example/token",
  MESH_SIX_OAUTH_CLIENT_ID: "mesh-six",
};

test("the pod-ready timeout defaults to 10 minutes and is read from MESH_SIX_POD_READY_TIMEOUT_MS", () => {
  assert.equal(DEFAULT_POD_READY_TIMEOUT_MS, 600_000);
  assert.equal(loadServerConfig(BASE, "file:///x").podReadyTimeoutMs, 600_000);
  assert.equal(loadServerConfig({ ...BASE, MESH_SIX_POD_READY_TIMEOUT_MS: "5000" }, "file:///x").podReadyTimeoutMs, 5000);
  assert.throws(() => loadServerConfig({ ...BASE, MESH_SIX_POD_READY_TIMEOUT_MS: "soon" }, "file:///x"), /MESH_SIX_POD_READY_TIMEOUT_MS/);
});

test("without OAuth variables there is no device flow; with all of them and an auth service there is", () => {
  assert.equal(loadServerConfig(BASE, "file:///x").deviceFlow, undefined);
  const cfg = loadServerConfig(
    { ...BASE, ...OAUTH, MESH_SIX_OAUTH_SCOPE: "repo", MESH_SIX_AUTH_SERVICE_URL: "http://auth.mesh-six.svc" },
    "file:///x",
  );
  assert.deepEqual(cfg.deviceFlow, {
    deviceAuthorizationUrl: "https://as.example/device/auth",
    tokenUrl: "https://as.example/token",
    clientId: "mesh-six",
    scope: "repo",
  });
  assert.equal(cfg.authServiceUrl, "http://auth.mesh-six.svc");
});

test("half an OAuth configuration, or one without an auth service, is refused naming the variable", () => {
  const missing = (env: Record<string, string>, variable: string) =>
    assert.throws(
      () => loadServerConfig({ ...BASE, ...env }, "file:///x"),
      (err: unknown) => err instanceof ConfigError && err.variable === variable,
    );
  missing({ MESH_SIX_OAUTH_DEVICE_AUTHORIZATION_URL: OAUTH.MESH_SIX_OAUTH_DEVICE_AUTHORIZATION_URL }, "MESH_SIX_OAUTH_TOKEN_URL");
  missing(
    { MESH_SIX_OAUTH_TOKEN_URL: OAUTH.MESH_SIX_OAUTH_TOKEN_URL, MESH_SIX_OAUTH_CLIENT_ID: "c" },
    "MESH_SIX_OAUTH_DEVICE_AUTHORIZATION_URL",
  );
  missing(OAUTH, "MESH_SIX_AUTH_SERVICE_URL");
});

test("the dispatch concurrency defaults to 32 and is read from MESH_SIX_DISPATCH_CONCURRENCY, which must be 1 to 256", () => {
  assert.equal(loadServerConfig(BASE, "file:///x").dispatchConcurrency, 32);
  assert.equal(loadServerConfig({ ...BASE, MESH_SIX_DISPATCH_CONCURRENCY: "12" }, "file:///x").dispatchConcurrency, 12);
  for (const bad of ["0", "1000", "many"]) {
    assert.throws(
      () => loadServerConfig({ ...BASE, MESH_SIX_DISPATCH_CONCURRENCY: bad }, "file:///x"),
      (err: Error) => err instanceof ConfigError && /MESH_SIX_DISPATCH_CONCURRENCY/.test(err.message),
      bad,
    );
  }
});

test("the public URL is required and must be https (loopback excepted), naming MESH_SIX_PUBLIC_URL", () => {
  const { MESH_SIX_PUBLIC_URL: _, ...withoutUrl } = BASE;
  assert.throws(
    () => loadServerConfig(withoutUrl, "file:///x"),
    (err: ConfigError) => err.variable === "MESH_SIX_PUBLIC_URL" && /required/.test(err.message),
  );
  assert.throws(
    () => loadServerConfig({ ...BASE, MESH_SIX_PUBLIC_URL: "http://mesh-six.example.com" }, "file:///x"),
    (err: ConfigError) => err.variable === "MESH_SIX_PUBLIC_URL",
  );
  assert.equal(loadServerConfig({ ...BASE, MESH_SIX_PUBLIC_URL: "http://127.0.0.1:8080" }, "file:///x").publicUrl, "http://127.0.0.1:8080");
});

test("inside a pod the server refuses to run without DATABASE_URL rather than keep its state on the pod's disk", () => {
  assert.throws(
    () => loadServerConfig({ ...BASE, KUBERNETES_SERVICE_HOST: "10.0.0.1" }, "file:///x"),
    (err: ConfigError) => err.variable === "DATABASE_URL",
  );
  assert.equal(
    loadServerConfig({ ...BASE, KUBERNETES_SERVICE_HOST: "10.0.0.1", DATABASE_URL: "postgres://db/x" }, "postgres://db/x").port,
    8080,
  );
});

test("boards are written only with GITHUB_TOKEN; the GraphQL URL is GITHUB_GRAPHQL_URL, else GITHUB_API_URL's /graphql", () => {
  assert.equal(loadServerConfig(BASE, "file:///x").boards, undefined);
  const token = "gh-token-for-the-test";
  assert.deepEqual(loadServerConfig({ ...BASE, GITHUB_TOKEN: token }, "file:///x").boards, {
    graphqlUrl: "https://api.github.com/graphql",
    token,
    retryBaseMs: 1000,
    retryMaxMs: 60_000,
  });
  const cfg = loadServerConfig(
    { ...BASE, GITHUB_TOKEN: token, GITHUB_API_URL: "http://127.0.0.1:3990/", MESH_SIX_BOARD_RETRY_BASE_MS: "50" },
    "file:///x",
  );
  assert.deepEqual([cfg.boards?.graphqlUrl, cfg.boards?.retryBaseMs], ["http://127.0.0.1:3990/graphql", 50]);
  const ghes = { ...BASE, GITHUB_TOKEN: token, GITHUB_API_URL: "https://ghe.example/api/v3" };
  assert.equal(loadServerConfig(ghes, "file:///x").boards?.graphqlUrl, "https://ghe.example/api/graphql");
  const given = { ...ghes, GITHUB_GRAPHQL_URL: "https://graphql.ghe.example/" };
  assert.equal(loadServerConfig(given, "file:///x").boards?.graphqlUrl, "https://graphql.ghe.example/");
  assert.equal(loadServerConfig({ ...BASE, GITHUB_TOKEN: "" }, "file:///x").boards, undefined);
  assert.throws(() => loadServerConfig({ ...BASE, GITHUB_TOKEN: token, GITHUB_API_URL: "ftp://x" }, "file:///x"), /GITHUB_API_URL/);
});
