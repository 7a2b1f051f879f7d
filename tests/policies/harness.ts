import type { ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";

// Runs rules the way the policy SDK does, with a fake reportViolation: the tests judge what a rule reports, not
// how it is built, so they hold across rewrites of the rules' internals.

export interface Props {
  [key: string]: unknown;
}

export function urn(stack: string, type: string, name: string): string {
  return `urn:pulumi:${stack}::mesh-six::${type}::${name}`;
}

/** Runs one resource rule's validateResource; returns the messages. */
export function violations(policy: ResourceValidationPolicy, type: string, props: Props, stack = "platform-dev", config: Props = {}) {
  const messages: string[] = [];
  const args = {
    type,
    props,
    urn: urn(stack, type, "it"),
    name: "it",
    opts: {},
    stackTags: new Map(),
    getConfig: () => config,
    isType: () => false,
    asType: () => undefined,
  } as unknown as ResourceValidationArgs;
  const validations = [policy.validateResource ?? []].flat();
  for (const validate of validations) validate(args, (message) => messages.push(message));
  return messages;
}

/** Runs one stack rule's validateStack over the given resources. */
export function stackViolations(
  policy: StackValidationPolicy,
  stack: string,
  resources: { type: string; props: Props }[],
  config: Props = {},
) {
  const messages: string[] = [];
  const args = {
    resources: resources.map((r, i) => ({ ...r, urn: urn(stack, r.type, `r${i}`), name: `r${i}`, opts: {} })),
    stackTags: new Map(),
    getConfig: () => config,
  } as unknown as StackValidationArgs;
  void policy.validateStack(args, (message) => messages.push(message));
  return messages;
}
