/**
 * A platform stack of its own for the benchmarks: the project's platform program (dev images), in a temporary
 * backend and a namespace of its own, so that its `up` never touches the sandbox's `mesh-six` namespace that the
 * repo stacks live in.
 */
import { configureStack } from "./onboarding-cli";
import type { PulumiEnv } from "./onboarding-server";

export interface PlatformStack {
  stackName: string;
  namespace: string;
}

/** `platform-bench-<tag>`: not platform-dev/prod, so its environment is set explicitly (dev: `latest` images). */
export async function createPlatformStack(env: PulumiEnv, tag: string): Promise<PlatformStack> {
  const stack = { stackName: `platform-bench-${tag}`, namespace: `mesh-six-bench-${tag}` };
  await configureStack(env, stack.stackName, {
    "mesh-six:kind": "platform",
    "mesh-six:environment": "dev",
    "mesh-six:namespace": stack.namespace,
    // Required by the platform program; the bench's platform never serves, so any valid values do.
    "mesh-six:server": JSON.stringify({
      publicUrl: "https://mesh-six-bench.example.test",
      databaseUrl: "postgres://db.example.test:5432/mesh_six",
    }),
  });
  return stack;
}
