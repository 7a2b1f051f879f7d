import * as pulumi from "@pulumi/pulumi";
import { GitHubApiError, githubRest } from "./github-api";

/**
 * A file committed to a GitHub repository through the contents API (standing in for github.RepositoryFile,
 * whose provider cannot be built here). A file that is already there is left alone unless `overwrite` is set;
 * only a file this resource created is deleted on destroy.
 */
export interface GitHubRepositoryFileArgs {
  owner: pulumi.Input<string>;
  repo: pulumi.Input<string>;
  branch: pulumi.Input<string>;
  path: pulumi.Input<string>;
  content: pulumi.Input<string>;
  commitMessage?: pulumi.Input<string>;
  overwrite?: pulumi.Input<boolean>;
}

interface FileInputs {
  owner: string;
  repo: string;
  branch: string;
  path: string;
  content: string;
  commitMessage: string;
  overwrite: boolean;
}

interface FileOutputs extends FileInputs {
  /** True when the file holds our content (we created it, or overwrote it on request). */
  managed: boolean;
  /** True when this resource created the file. */
  created: boolean;
  sha: string;
}

interface ContentFile {
  sha: string;
  content?: string;
}

function contentsPath(i: { owner: string; repo: string; path: string }) {
  return `/repos/${i.owner}/${i.repo}/contents/${i.path.split("/").map(encodeURIComponent).join("/")}`;
}

async function currentFile(i: FileInputs): Promise<ContentFile | undefined> {
  return githubRest<ContentFile>("GET", `${contentsPath(i)}?ref=${encodeURIComponent(i.branch)}`, undefined, {
    allowNotFound: true,
  });
}

async function putFile(i: FileInputs, sha?: string): Promise<string> {
  const result = await githubRest<{ content: { sha: string } }>("PUT", contentsPath(i), {
    message: i.commitMessage,
    content: Buffer.from(i.content, "utf8").toString("base64"),
    branch: i.branch,
    ...(sha ? { sha } : {}),
  });
  return result!.content.sha;
}

const repositoryFileProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: FileInputs) {
    const existing = await currentFile(inputs);
    let outs: FileOutputs;
    if (!existing) outs = { ...inputs, managed: true, created: true, sha: await putFile(inputs) };
    else if (inputs.overwrite) outs = { ...inputs, managed: true, created: false, sha: await putFile(inputs, existing.sha) };
    else outs = { ...inputs, managed: false, created: false, sha: existing.sha };
    return { id: `${inputs.owner}/${inputs.repo}:${inputs.branch}:${inputs.path}`, outs };
  },

  async diff(_id: string, olds: FileOutputs, news: FileInputs) {
    const replaces = (["owner", "repo", "branch", "path"] as const).filter((k) => olds[k] !== news[k]);
    const changes = replaces.length > 0 || olds.overwrite !== news.overwrite || (olds.managed && olds.content !== news.content);
    return { changes, replaces, deleteBeforeReplace: true };
  },

  async update(_id: string, olds: FileOutputs, news: FileInputs) {
    const existing = await currentFile(news);
    if (!olds.managed && !news.overwrite) return { outs: { ...olds, ...news } };
    const sha = await putFile(news, existing?.sha);
    return { outs: { ...news, managed: true, created: olds.created || !existing, sha } };
  },

  async delete(_id: string, props: FileOutputs) {
    if (!props.created) return; // someone else's file: it stays
    const existing = await currentFile(props);
    if (!existing) return;
    try {
      await githubRest("DELETE", contentsPath(props), {
        message: `Remove ${props.path} (mesh-six offboarding)`,
        sha: existing.sha,
        branch: props.branch,
      });
    } catch (err) {
      if (!(err instanceof GitHubApiError && err.status === 404)) throw err;
    }
  },
};

export class GitHubRepositoryFile extends pulumi.dynamic.Resource {
  declare public readonly managed: pulumi.Output<boolean>;
  declare public readonly created: pulumi.Output<boolean>;
  declare public readonly sha: pulumi.Output<string>;

  constructor(name: string, args: GitHubRepositoryFileArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      repositoryFileProvider,
      name,
      {
        ...args,
        commitMessage: args.commitMessage ?? "Add mesh-six devcontainer",
        overwrite: args.overwrite ?? false,
        managed: undefined,
        created: undefined,
        sha: undefined,
      },
      opts,
      "github",
      "RepositoryFile",
    );
  }
}
