import { repoAccessProblems } from "../clients/github-access";
import { type RunRecord, RunStepError } from "../domain/runs";
import { createGitHubOctokit, githubClientOptionsFromEnv } from "../lib/github-octokit";

/**
 * The first step of an onboard or update, before any stack is selected or resource created: it fails the run
 * at `validate` with every reason GitHub gives it (the repository, its default branch, the token's access).
 */
export type RepoValidator = (run: RunRecord, signal: AbortSignal) => Promise<void>;

export const VALIDATE_STEP = "validate";

export function validatesFirst(run: RunRecord): boolean {
  return run.kind === "onboard" || run.kind === "update";
}

/** Checks through GitHub's API, with the token and API URL the stack's GitHub resources will use. */
export function githubRepoValidator(env: NodeJS.ProcessEnv = process.env, log?: (line: string) => void): RepoValidator {
  return async (run, signal) => {
    let problems: string[];
    try {
      const octokit = createGitHubOctokit({ ...githubClientOptionsFromEnv(env), log });
      signal.throwIfAborted();
      problems = await repoAccessProblems(octokit, { owner: run.owner, repo: run.repo });
    } catch (err) {
      if (signal.aborted) throw err;
      throw new RunStepError(VALIDATE_STEP, `could not check ${run.owner}/${run.repo} on GitHub: ${(err as Error).message}`);
    }
    if (problems.length > 0) throw new RunStepError(VALIDATE_STEP, problems.join("; "));
  };
}
