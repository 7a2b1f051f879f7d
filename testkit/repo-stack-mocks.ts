import * as pulumi from "@pulumi/pulumi";
import type { RepoStackInput } from "../domain/repo-config";
import { parseRepoStackConfig } from "../domain/repo-config";
import { REPO_REGISTRATION } from "../domain/resource-types";
import { mockPulumi, type Registered, valueOf } from "./pulumi-mocks";

/** One resource the repo stack declared under Pulumi's mocks. */
export type Declared = Registered;

/**
 * The repo stack's program under Pulumi's mocks (testkit/pulumi-mocks.ts; one per test file: the mocks are
 * process-wide): every resource it declares, and its outputs once resolved. `stateFor` gives a mocked resource's state
 * from its type and inputs (default: the inputs), e.g. a canary secret that must not surface in the outputs.
 */
export async function declareRepoStack(
  input: RepoStackInput,
  stateFor: (type: string, inputs: Record<string, unknown>) => Record<string, unknown> = (_type, inputs) => inputs,
): Promise<{ declared: Declared[]; outputs: Record<string, unknown> }> {
  const mocks = mockPulumi({ stack: "acme.widgets", state: (r) => stateFor(r.type, r.inputs) });
  // Loaded after the mocks are set, so its resources register with them.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { repoResources }: typeof import("../stacks/repo") = require("../stacks/repo");
  const outputs = (await valueOf(pulumi.output(repoResources(parseRepoStackConfig(input))))) as Record<string, unknown>;
  // The registration is not among the outputs: wait for its (output-dependent) registration too.
  await mocks.until((registered) => registered.some((d) => d.type === REPO_REGISTRATION.token), 10_000);
  return { declared: mocks.registered, outputs };
}
