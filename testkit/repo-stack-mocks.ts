import * as pulumi from "@pulumi/pulumi";
import type { RepoStackInput } from "../domain/repo-config";
import { parseRepoStackConfig } from "../domain/repo-config";

/** One resource the repo stack declared under Pulumi's mocks. */
export interface Declared {
  type: string;
  name: string;
  inputs: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * The repo stack's program under Pulumi's mocks (one per test file: the mocks are process-wide): every resource
 * it declares, and its outputs once resolved. `stateFor` gives a mocked resource's state from its type and inputs
 * (default: the inputs), e.g. a canary secret that must not surface in the outputs.
 */
export async function declareRepoStack(
  input: RepoStackInput,
  stateFor: (type: string, inputs: Record<string, unknown>) => Record<string, unknown> = (_type, inputs) => inputs,
): Promise<{ declared: Declared[]; outputs: Record<string, unknown> }> {
  const declared: Declared[] = [];
  pulumi.runtime.setMocks(
    {
      newResource(args) {
        declared.push({ type: args.type, name: args.name, inputs: args.inputs });
        return { id: `${args.name}-id`, state: stateFor(args.type, args.inputs) };
      },
      call(args) {
        return args.inputs;
      },
    },
    "mesh-six",
    "acme.widgets",
    false,
  );
  // Loaded after setMocks, so its resources register with the mocks.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { repoResources }: typeof import("../stacks/repo") = require("../stacks/repo");
  const result = repoResources(parseRepoStackConfig(input));
  const outputs = await new Promise<Record<string, unknown>>((resolve) =>
    pulumi.output(result).apply((v) => resolve(v as Record<string, unknown>)),
  );
  // The registration is not among the outputs: wait for its (output-dependent) registration too.
  for (let i = 0; i < 100 && !declared.some((d) => d.type === "pulumi-nodejs:dynamic/registry:RepoRegistration"); i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  return { declared, outputs };
}
