import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import YAML from "yaml";
import { KubeCredentialsError, loadKubeCredentials } from "../../clients/kube-client";

const dir = mkdtempSync(path.join(tmpdir(), "kube-client-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const CA = "-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n";
// No service account here: the loader must fall back to the kubeconfig.
const NO_SA = path.join(dir, "no-service-account");

function kubeconfig(name: string, user: Record<string, unknown>, cluster: Record<string, unknown> = {}): string {
  const file = path.join(dir, name);
  writeFileSync(
    file,
    YAML.stringify({
      apiVersion: "v1",
      kind: "Config",
      "current-context": "sandbox",
      contexts: [
        { name: "other", context: { cluster: "other", user: "other" } },
        { name: "sandbox", context: { cluster: "kube", user: "admin" } },
      ],
      clusters: [
        { name: "other", cluster: { server: "https://wrong.example:6443" } },
        {
          name: "kube",
          cluster: { server: "https://127.0.0.1:6443", "certificate-authority-data": Buffer.from(CA).toString("base64"), ...cluster },
        },
      ],
      users: [
        { name: "other", user: { token: "wrong" } },
        { name: "admin", user },
      ],
    }),
  );
  return file;
}

test("in-cluster: the service-account token and CA with KUBERNETES_SERVICE_HOST/PORT win over KUBECONFIG", () => {
  const sa = path.join(dir, "sa");
  mkdirSync(sa, { recursive: true });
  writeFileSync(path.join(sa, "token"), "sa-token\n");
  writeFileSync(path.join(sa, "ca.crt"), CA);
  writeFileSync(path.join(sa, "namespace"), "mesh-six");
  const env = {
    KUBERNETES_SERVICE_HOST: "10.96.0.1",
    KUBERNETES_SERVICE_PORT: "8443",
    KUBECONFIG: kubeconfig("ignored.yaml", { token: "t" }),
  };
  const creds = loadKubeCredentials({ env, serviceAccountDir: sa });
  assert.equal(creds.server, "https://10.96.0.1:8443");
  assert.equal(creds.token, "sa-token");
  assert.equal(creds.ca?.toString(), CA);
  assert.equal(creds.source, "in-cluster");
});

test("in-cluster with an IPv6 service host brackets the address", () => {
  const sa = path.join(dir, "sa6");
  mkdirSync(sa, { recursive: true });
  writeFileSync(path.join(sa, "token"), "tok");
  writeFileSync(path.join(sa, "ca.crt"), CA);
  const creds = loadKubeCredentials({ env: { KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" }, serviceAccountDir: sa });
  assert.equal(creds.server, "https://[fd00::1]:443");
});

test("kubeconfig: the current context's cluster, CA and bearer token", () => {
  const file = kubeconfig("token.yaml", { token: "admin-token" });
  const creds = loadKubeCredentials({ env: { KUBECONFIG: file }, serviceAccountDir: NO_SA });
  assert.equal(creds.server, "https://127.0.0.1:6443");
  assert.equal(creds.token, "admin-token");
  assert.equal(creds.ca?.toString(), CA);
  assert.equal(creds.cert, undefined);
  assert.match(creds.source, /token\.yaml \(context sandbox\)/);
});

test("kubeconfig: client certificate auth from files relative to the kubeconfig, and a tokenFile", () => {
  const sub = path.join(dir, "certs");
  mkdirSync(sub, { recursive: true });
  writeFileSync(path.join(sub, "client.crt"), "CERT");
  writeFileSync(path.join(sub, "client.key"), "KEY");
  writeFileSync(path.join(sub, "ca.crt"), "FILE-CA");
  const certFile = kubeconfig(
    "cert.yaml",
    { "client-certificate": "certs/client.crt", "client-key": "certs/client.key" },
    {
      "certificate-authority-data": undefined,
      "certificate-authority": "certs/ca.crt",
    },
  );
  const creds = loadKubeCredentials({ env: { KUBECONFIG: certFile }, serviceAccountDir: NO_SA });
  assert.equal(creds.cert?.toString(), "CERT");
  assert.equal(creds.key?.toString(), "KEY");
  assert.equal(creds.ca?.toString(), "FILE-CA");
  assert.equal(creds.token, undefined);

  writeFileSync(path.join(sub, "token"), "from-file\n");
  const tokenFile = kubeconfig("tokenfile.yaml", { tokenFile: "certs/token" });
  assert.equal(loadKubeCredentials({ env: { KUBECONFIG: tokenFile }, serviceAccountDir: NO_SA }).token, "from-file");
});

test("kubeconfig: inline client certificate data", () => {
  const file = kubeconfig("inline.yaml", {
    "client-certificate-data": Buffer.from("CERT").toString("base64"),
    "client-key-data": Buffer.from("KEY").toString("base64"),
  });
  const creds = loadKubeCredentials({ env: { KUBECONFIG: file }, serviceAccountDir: NO_SA });
  assert.equal(creds.cert?.toString(), "CERT");
  assert.equal(creds.key?.toString(), "KEY");
});

test("no service account and no KUBECONFIG is a clear error", () => {
  assert.throws(
    () => loadKubeCredentials({ env: {}, serviceAccountDir: NO_SA }),
    (err: unknown) => {
      assert.ok(err instanceof KubeCredentialsError);
      assert.match(err.message, /not in a cluster and KUBECONFIG is not set/);
      return true;
    },
  );
});

test("a user without a token or client certificate, or a missing context, is refused by name", () => {
  const exec = kubeconfig("exec.yaml", { exec: { command: "aws" } });
  assert.throws(
    () => loadKubeCredentials({ env: { KUBECONFIG: exec }, serviceAccountDir: NO_SA }),
    /user "admin" has neither a token nor a client certificate/,
  );
  const file = path.join(dir, "nocontext.yaml");
  writeFileSync(file, YAML.stringify({ "current-context": "gone", contexts: [], clusters: [], users: [] }));
  assert.throws(() => loadKubeCredentials({ env: { KUBECONFIG: file }, serviceAccountDir: NO_SA }), /no context named "gone"/);
});

test("errors never carry the token", () => {
  const file = kubeconfig("noserver.yaml", { token: "super-secret-token" }, { server: "" });
  assert.throws(
    () => loadKubeCredentials({ env: { KUBECONFIG: file }, serviceAccountDir: NO_SA }),
    (err: Error) => /has no server/.test(err.message) && !err.message.includes("super-secret-token"),
  );
});
