import type { ResourceValidationPolicy } from "@pulumi/policy";
import { containersOfResource, located, reportAll } from "./common";

/**
 * Which environment variable names look secret. A name is split into words at every non-alphanumeric character
 * and at camelCase boundaries (`DB_PASSWORD`, `db-password`, `db.password`, `dbPassword` are all DB + PASSWORD),
 * upper-cased, and is secret-looking when
 *   - a word contains TOKEN, SECRET, PASSWORD, PASSWD, PASSPHRASE, CREDENTIAL or PRIVATE (so GITHUBTOKEN and
 *     CLIENTSECRET count, written without separators), or
 *   - a word ends in KEY or KEYS (KEY, API_KEY, APIKEY, ACCESS_KEY, PRIVATE_KEY, SSHKEYS), or
 *   - a word is one of PASS, PWD, AUTH, AUTHORIZATION, CERT, CERTS, CERTIFICATE, DSN, CRED, CREDS, COOKIE, or
 *     ends in DSN or PWD (SENTRYDSN, DBPWD), or
 *   - two words in a row are CONNECTION + STRING, or a word contains CONNECTIONSTRING or CONNSTR.
 * Short words are matched whole, so KEYCLOAK_URL, PASSTHROUGH or AUTHOR are not secret-looking. A harmless name
 * that still matches (PUBLIC_KEY) takes its value from a ConfigMap (valueFrom.configMapKeyRef).
 */
const CONTAINS = ["TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "CREDENTIAL", "PRIVATE", "CONNECTIONSTRING", "CONNSTR"];
const WHOLE = new Set(["PASS", "PWD", "AUTH", "AUTHORIZATION", "CERT", "CERTS", "CERTIFICATE", "DSN", "CRED", "CREDS", "COOKIE"]);
const ENDS = ["KEY", "KEYS", "DSN", "PWD"];

function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== "")
    .map((w) => w.toUpperCase());
}

export function isSecretLookingName(name: string): boolean {
  const ws = words(name);
  return ws.some(
    (w, i) =>
      CONTAINS.some((c) => w.includes(c)) ||
      ENDS.some((e) => w.endsWith(e)) ||
      WHOLE.has(w) ||
      (w === "CONNECTION" && ws[i + 1] === "STRING"),
  );
}

/** No container env var (init and ephemeral containers too, every workload kind) whose name looks secret carries a literal value. */
export function checkLiteralSecretEnv(type: string, props: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const { at, value: c } of containersOfResource(type, props)) {
    for (const e of c.env ?? []) {
      if (typeof e?.name === "string" && isSecretLookingName(e.name) && e.value !== undefined && e.valueFrom === undefined) {
        problems.push(located(at, `container "${c.name}" sets ${e.name} to a literal value`));
      }
    }
  }
  return problems;
}

export const noLiteralSecretEnv: ResourceValidationPolicy = {
  name: "no-literal-secret-env",
  description:
    "Secret-looking environment variables (see the rule file for the pattern) come from a Secret (valueFrom), never a literal value.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) =>
    reportAll(
      checkLiteralSecretEnv(args.type, args.props),
      args,
      "use valueFrom.secretKeyRef (or envFrom) with the value kept in Vault and synced by an ExternalSecret",
      reportViolation,
    ),
};
