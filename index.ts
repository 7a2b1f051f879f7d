import * as pulumi from "@pulumi/pulumi";
import { assertFreshBuild } from "./lib/build-fingerprint";
import { platformProgram } from "./stacks/platform";
import { repoProgram } from "./stacks/repo";

/**
 * The one Pulumi program of the mesh-six project. A stack's `mesh-six:kind` config picks what it declares:
 * `platform` (platform-dev, platform-prod) or `repo` (one stack per onboarded repository, `<owner>.<repo>`).
 * Runs from its build (dist/index.js, Pulumi.yaml's `main`), which must be of the sources as they are now.
 */
async function main(): Promise<unknown> {
  assertFreshBuild(__filename);
  const kind = new pulumi.Config("mesh-six").get("kind");
  switch (kind) {
    case "platform":
      return platformProgram();
    case "repo":
      return repoProgram();
    default:
      throw new Error(
        `mesh-six:kind must be "platform" or "repo" (got ${JSON.stringify(kind ?? null)}); set it with pulumi config set mesh-six:kind repo`,
      );
  }
}

export = main;
