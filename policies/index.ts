import { PolicyPack } from "@pulumi/policy";
import { assertFreshBuild } from "../lib/build-fingerprint";
import { POLICIES } from "./rules";

/**
 * The mesh-six policy pack: `pulumi preview --policy-pack <abs path>/policies`, or `policyPacks: [dir]` through the
 * Automation API. The Node language host starts it with the SDK's run-policy-pack script, which requires the
 * directory: policies/package.json's `main` sends that to the build, dist/policies/index.js (`npm run build`), which
 * refuses to run when these sources changed since. The rules read only plain resource inputs (no @pulumi/kubernetes
 * import), so the pack starts quickly.
 *
 * Every rule is mandatory except `image-pinned`, the advisory twin of `image-pinned-in-prod`: a stack is prod when it
 * declares a Namespace (or NamespacePatch) labelled `mesh-six.dev/environment: prod` (the platform program sets that label from the stack
 * config `mesh-six:environment`; a policy pack cannot read stack config) or when its name is in the policy config
 * `prodStacks`. Stack-dependent rules take the stack name from the resource URN.
 *
 * What the rules judge is what Kubernetes, the registries, ESO and Vault make of a resource, not how it is spelled:
 *   - Kinds: a type token is read as API group + kind, any version; `<Kind>Patch` (server-side apply) and
 *     `<Kind>List` (items[]) carry the same objects. Pod specs come from ONE table (rules/common.ts `podSpecsOf`):
 *     Pod (spec), PodTemplate (template.spec), ReplicationController, Deployment, StatefulSet, DaemonSet, ReplicaSet,
 *     Job (spec.template.spec), CronJob (spec.jobTemplate.spec.template.spec); every container list (containers,
 *     initContainers, ephemeralContainers) is checked, except that resources are not asked of ephemeral containers
 *     (the API server refuses them there). RBAC objects come from `rbacObjectsOf`: Role, ClusterRole, RoleBinding,
 *     ClusterRoleBinding. A Patch is judged as if it were the whole object for the parts it carries: the policy
 *     cannot see the live object it merges into, so a patch that touches containers states their resources and a
 *     patch that brings a private image states imagePullSecrets.
 *   - Images (rules/image-ref.ts): parsed as `[host[:port]/]path[:tag][@digest]`; hosts compare case-insensitively,
 *     without the default port 443, with index.docker.io / registry-1.docker.io / no host read as docker.io. A valid
 *     sha256 (or sha512) digest pins; otherwise an absent tag, an empty tag (`image:`) or `latest` (any case) does not.
 *   - Envbuilder containers: image repository ending in `envbuilder` (or `envbuilder-preview`), any registry, tag or
 *     digest, or any ENVBUILDER_* env var. No HTTP liveness, readiness or startup probe, no HTTP postStart hook.
 *   - Secret-looking env names: words of the name (split at separators and camelCase) matched against TOKEN,
 *     SECRET, PASSWORD, PASSWD, PWD, PASS, KEY (API_KEY, PRIVATE_KEY, ACCESS_KEY…), CREDENTIAL(S), AUTH, CERT,
 *     PRIVATE, DSN, CONNECTION_STRING… (the exact pattern is documented in rules/no-literal-secret-env.ts).
 *   - RBAC wildcards as the authorizer matches them: `*` in verbs, apiGroups or resources, `*\/<sub>` (`*\/status`) and
 *     `<resource>/*` resources, nonResourceURLs ending in `*`; a binding of any kind to cluster-admin. Repo stacks
 *     also may not bind the built-in cluster-admin, admin or edit ClusterRoles, RoleBindings included.
 *   - ExternalSecret and ClusterExternalSecret (spec.externalSecretSpec): spec.secretStoreRef and every
 *     data[]/dataFrom[] sourceRef.storeRef name the configured ClusterSecretStore; generatorRefs are refused.
 *   - Vault paths (lib/vault-path.ts, shared with providers/vault-kv-secret.ts, which refuses the same paths):
 *     percent-escapes decoded until stable, `\` read as `/`, empty and `.` segments dropped, `..` resolved;
 *     climbing out of the mount, control characters and malformed escapes are refused; the result must lie strictly
 *     below mesh-six/webhooks/, and the mount must be plain segments.
 *
 * Policy config (`--policy-pack-config file.json` / `policyPackConfigs`), all optional:
 *   { "image-pinned-in-prod": { "prodStacks": ["acme.widgets"] },
 *     "private-registry-pull-secrets": { "registry": "registry.bto.bar" },
 *     "external-secret-store": { "store": "vault-backend" } }
 * and, as for any pack, `{ "<rule>": { "enforcementLevel": "advisory" | "mandatory" | "disabled" } }`.
 */
assertFreshBuild(__filename);
new PolicyPack("mesh-six", { policies: POLICIES });
