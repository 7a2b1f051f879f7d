import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "../../lib/config-error";
import { cleanMessage } from "../../pulumi/engine-events";
import { backendCheckUrl, chooseSecrets, chooseStateBackend, postgresStateUrl, redactBackendUrl } from "../../pulumi/state-backend";

const embedded = () => "file:///data/.pulumi-state";

test("a real database is the state backend, in its own table, unless PULUMI_BACKEND_URL says otherwise", () => {
  const db = chooseStateBackend({ DATABASE_URL: "postgresql://u:p@db:5432/meshsix" }, embedded);
  // The CLI prints its backend URL in errors: the password travels as PGPASSWORD instead.
  assert.deepEqual(db, {
    url: "postgres://u@db:5432/meshsix?sslmode=disable&table=pulumi_state",
    kind: "postgres",
    source: "DATABASE_URL",
    envVars: { PGPASSWORD: "p" },
  });
  assert.equal(backendCheckUrl(db), "postgres://u:p@db:5432/meshsix?sslmode=disable&table=pulumi_state");
  const explicit = chooseStateBackend({ PULUMI_BACKEND_URL: "postgres://u:p%40ss@db/x?table=t" }, embedded);
  assert.deepEqual([explicit.url, explicit.envVars], ["postgres://u@db/x?table=t", { PGPASSWORD: "p@ss" }]);
  const given = chooseStateBackend({ DATABASE_URL: "postgres://db/x", PULUMI_BACKEND_URL: "s3://bucket/state" }, embedded);
  assert.deepEqual(given, { url: "s3://bucket/state", kind: "other", source: "PULUMI_BACKEND_URL", envVars: {} });
  assert.deepEqual(chooseStateBackend({}, embedded), { url: "file:///data/.pulumi-state", kind: "file", source: "embedded", envVars: {} });
});

test("the state URL keeps the database's TLS mode and other parameters, and names its table", () => {
  assert.equal(
    postgresStateUrl("postgres://u@db/x?sslmode=verify-full&sslrootcert=/ca.crt", "mesh_six_state"),
    "postgres://u@db/x?sslmode=verify-full&sslrootcert=%2Fca.crt&table=mesh_six_state",
  );
  assert.throws(
    () => postgresStateUrl("postgres://db/x", "state; DROP TABLE runs"),
    (err: ConfigError) => err.variable === "MESH_SIX_STATE_TABLE",
  );
  assert.throws(
    () => postgresStateUrl("mysql://db/x"),
    (err: ConfigError) => err.variable === "DATABASE_URL",
  );
});

test("a shared backend without a secrets provider or passphrase is refused, naming the variable to set", () => {
  const shared = chooseStateBackend({ DATABASE_URL: "postgres://db/x" }, embedded);
  assert.throws(
    () => chooseSecrets({}, shared),
    (err: ConfigError) => err.variable === "MESH_SIX_SECRETS_PROVIDER" && /generated passphrase/.test(err.message),
  );
  // The embedded file backend may still generate its passphrase beside the state.
  assert.equal(chooseSecrets({}, chooseStateBackend({}, embedded)).source, "generated");
});

test("hashivault takes Vault's address and token from the variables the rest of mesh-six uses", () => {
  const shared = chooseStateBackend({ DATABASE_URL: "postgres://db/x" }, embedded);
  const env = { MESH_SIX_SECRETS_PROVIDER: "hashivault://mesh-six-state", VAULT_ADDR: "http://vault:8200", VAULT_TOKEN: "s.token" };
  assert.deepEqual(chooseSecrets(env, shared), {
    provider: "hashivault://mesh-six-state",
    source: "MESH_SIX_SECRETS_PROVIDER",
    envVars: { VAULT_SERVER_URL: "http://vault:8200", VAULT_SERVER_TOKEN: "s.token" },
  });
  assert.throws(
    () => chooseSecrets({ MESH_SIX_SECRETS_PROVIDER: "hashivault://k" }, shared),
    (err: ConfigError) => err.variable === "VAULT_ADDR",
  );
  assert.throws(
    () => chooseSecrets({ MESH_SIX_SECRETS_PROVIDER: "passphrase" }, shared),
    (err: ConfigError) => err.variable === "PULUMI_CONFIG_PASSPHRASE",
  );
  assert.throws(
    () => chooseSecrets({ MESH_SIX_SECRETS_PROVIDER: "vault" }, shared),
    (err: ConfigError) => err.variable === "MESH_SIX_SECRETS_PROVIDER",
  );
  assert.deepEqual(chooseSecrets({ PULUMI_CONFIG_PASSPHRASE_FILE: "/run/secrets/pp" }, shared), {
    source: "PULUMI_CONFIG_PASSPHRASE_FILE",
    envVars: { PULUMI_CONFIG_PASSPHRASE_FILE: "/run/secrets/pp" },
  });
});

test("a backend URL is shown without its password", () => {
  assert.equal(redactBackendUrl("postgres://mesh:hunter2@db/x?table=t"), "postgres://mesh:***@db/x?table=t");
  assert.equal(redactBackendUrl("file:///x"), "file:///x");
});

test("a URL's credentials never reach a recorded message, whichever tool printed it", () => {
  assert.equal(
    cleanMessage("error: unable to open bucket postgres://mesh:hunter2@db:5432/x?table=t: failed to ping PostgreSQL"),
    "error: unable to open bucket postgres://mesh:***@db:5432/x?table=t: failed to ping PostgreSQL",
  );
  assert.equal(cleanMessage("see https://example.com/a:b and postgres://db/x"), "see https://example.com/a:b and postgres://db/x");
});
