import * as pulumi from "@pulumi/pulumi";
import { COMPONENT_TYPES } from "../domain/resource-types";
import { GitHubRepositoryFile } from "../providers/github-repository-file";

export interface DevcontainerScaffoldArgs {
  /** The repository's owner. */
  readonly owner: string;
  readonly repo: string;
  /** The branch Envbuilder checks out, where the file is committed. */
  readonly branch: string;
  /** Names the devcontainer: "<displayName> (mesh-six)". */
  readonly displayName: string;
  /** Replace a devcontainer.json the repository already has. @default false */
  readonly overwrite?: boolean;
  /** The published devcontainer feature; see devcontainer-features/mesh-six-tools. @default MESH_SIX_TOOLS_FEATURE */
  readonly featureRef?: string;
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

/**
 * Commits `.devcontainer/devcontainer.json` (with the mesh-six-tools feature) to the repository, so Envbuilder has
 * something to build: one GitHubRepositoryFile. Adopts: a repository's own devcontainer is kept, not overwritten,
 * unless `overwrite` is set (and is never deleted on destroy). Outputs only whether the file is ours (`managed`),
 * never the repository's content.
 */
export class DevcontainerScaffold extends pulumi.ComponentResource {
  /** False when the repository's own devcontainer was kept. */
  public readonly managed: pulumi.Output<boolean>;

  constructor(name: string, args: DevcontainerScaffoldArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TYPES.devcontainerScaffold, name, {}, opts);
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
