import { PolicyPack } from "@pulumi/policy";
import { POLICIES } from "./rules";

/**
 * The mesh-six policy pack: `pulumi preview --policy-pack <abs path>/policies`, or `policyPacks: [dir]` through the
 * Automation API. The project's own Node language host starts it with the SDK's run-policy-pack script, which
 * registers ts-node (type-checked, no tsconfig here: its own defaults, module nodenext), so this runs as TypeScript.
 * The rules read only plain resource inputs (no @pulumi/kubernetes import), so the pack starts in a few seconds.
 *
 * Every rule is mandatory except `image-pinned`, the advisory twin of `image-pinned-in-prod`: a stack is prod when it
 * declares a Namespace labelled `mesh-six.dev/environment: prod` (the platform program sets that label from the stack
 * config `mesh-six:environment`; a policy pack cannot read stack config) or when its name is in the policy config
 * `prodStacks`. Stack-dependent rules take the stack name from the resource URN.
 *
 * Policy config (`--policy-pack-config file.json` / `policyPackConfigs`), all optional:
 *   { "image-pinned-in-prod": { "prodStacks": ["acme.widgets"] },
 *     "private-registry-pull-secrets": { "registry": "registry.bto.bar" },
 *     "external-secret-store": { "store": "vault-backend" } }
 * and, as for any pack, `{ "<rule>": { "enforcementLevel": "advisory" | "mandatory" | "disabled" } }`.
 */
new PolicyPack("mesh-six", { policies: POLICIES });
