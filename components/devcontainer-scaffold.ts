import * as pulumi from "@pulumi/pulumi";
import { GitHubRepositoryFile } from "../providers/github-repository-file";

/**
 * Commits `.devcontainer/devcontainer.json` (with the mesh-six-tools feature) to the repository, so Envbuilder
 * has something to build. A repository's own devcontainer is left alone unless `overwrite` is set.
 */
export interface DevcontainerScaffoldArgs {
  owner: string;
  repo: string;
  branch: string;
  displayName: string;
  overwrite?: boolean;
  /** The published devcontainer feature; see devcontainer-features/mesh-six-tools. */
  featureRef?: string;
}

export const DEVCONTAINER_PATH = ".devcontainer/devcontainer.json";
export const MESH_SIX_TOOLS_FEATURE = "ghcr.io/jaybrto/mesh-six/mesh-six-tools:1";

export function devcontainerJson(displayName: string, featureRef = MESH_SIX_TOOLS_FEATURE): string {
  const doc = {
    name: `${displayName} (mesh-six)`,
    image: "mcr.microsoft.com/devcontainers/base:bookworm",
    features: { [featureRef]: {} },
    remoteUser: "vscode",
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

export class DevcontainerScaffold extends pulumi.ComponentResource {
  /** False when the repository's own devcontainer was kept. */
  public readonly managed: pulumi.Output<boolean>;

  constructor(name: string, args: DevcontainerScaffoldArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mesh-six:repo:DevcontainerScaffold", name, {}, opts);
    const file = new GitHubRepositoryFile(
      name,
      {
        owner: args.owner,
        repo: args.repo,
        branch: args.branch,
        path: DEVCONTAINER_PATH,
        content: devcontainerJson(args.displayName, args.featureRef),
        commitMessage: "Add mesh-six devcontainer",
        overwrite: args.overwrite ?? false,
      },
      { parent: this },
    );
    this.managed = file.managed;
    this.registerOutputs({ managed: this.managed });
  }
}
