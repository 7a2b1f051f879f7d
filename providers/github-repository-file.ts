import * as pulumi from "@pulumi/pulumi";
import { GITHUB_REPOSITORY_FILE } from "../domain/resource-types";
import { requireBooleans, requireStrings, withDefaults } from "./check";
import { GitHubApiError, githubRest } from "./github-api";
import { TypedDynamicResource, dynamicProvider } from "./typed-resource";

export interface GitHubRepositoryFileArgs {
  /** The repository's owner (user or organization). */
  readonly owner: pulumi.Input<string>;
  /** The repository's name. Changing owner, repo, branch or path replaces the file. */
  readonly repo: pulumi.Input<string>;
  /** The branch the file is committed to. */
  readonly branch: pulumi.Input<string>;
  /** Path of the file in the repository, e.g. ".devcontainer/devcontainer.json". */
  readonly path: pulumi.Input<string>;
  /** The file's content, UTF-8. */
  readonly content: pulumi.Input<string>;
  /** @default "Add mesh-six devcontainer" */
  readonly commitMessage?: pulumi.Input<string>;
  /** Replace a file that is already there (it is then ours, but still not deleted on destroy). @default false */
  readonly overwrite?: pulumi.Input<boolean>;
}

const FILE_DEFAULTS = { commitMessage: "Add mesh-six devcontainer", overwrite: false };

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

dynamicProvider<FileInputs, FileOutputs>(GITHUB_REPOSITORY_FILE, {
  async check(_olds: FileInputs, news: Partial<FileInputs>) {
    const inputs = withDefaults(news, FILE_DEFAULTS);
    const failures = [
      ...requireStrings<FileInputs>(inputs, ["owner", "repo", "branch", "path", "commitMessage"]),
      ...requireBooleans<FileInputs>(inputs, ["overwrite"]),
    ];
    if (typeof inputs.content !== "string") failures.push({ property: "content", reason: "content must be a string" });
    return { inputs: inputs as FileInputs, failures };
  },

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
});

/**
 * A file committed to a GitHub repository through the contents API (standing in for github.RepositoryFile, whose
 * provider cannot be built here). Adopts: a file already at `path` is left as it is (`managed` false) unless
 * `overwrite` is set; only a file this resource created (`created`) is deleted on destroy. Outputs the file's sha and
 * whether it is ours, never the content of a file it found. Defaults are filled in, and inputs refused naming the
 * property, by check().
 */
export class GitHubRepositoryFile extends TypedDynamicResource {
  declare public readonly managed: pulumi.Output<boolean>;
  declare public readonly created: pulumi.Output<boolean>;
  declare public readonly sha: pulumi.Output<string>;

  constructor(name: string, args: GitHubRepositoryFileArgs, opts?: pulumi.CustomResourceOptions) {
    super(GITHUB_REPOSITORY_FILE, name, { ...args, managed: undefined, created: undefined, sha: undefined }, opts);
  }
}
