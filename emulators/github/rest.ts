// GitHub's REST routes the project uses. Handlers only translate HTTP to the domain modules and
// back; every change goes through `store.mutate` so it is atomic and persisted before the answer.
import { Router, type Request } from "express";
import { callerOf } from "./auth";
import { branchJson } from "./branches";
import { EmulatorError } from "./errors";
import { deleteContent, fileCommitJson, getContentJson, normalisePath, putContent } from "./contents";
import { createHook, deleteHook, findHook, hookConfigJson, hookJson, updateHook, updateHookConfig } from "./hooks";
import { getRepo, privateUserJson, repoJson } from "./repos";
import { EmulatorStore } from "./state";

/** Links in responses point back at the emulator, so a client following `url` stays on it. */
export function apiBase(req: Request): string {
  return `${req.protocol}://${req.get("host")}`;
}

function param(req: Request, name: string): string {
  const v = (req.params as Record<string, unknown>)[name];
  // A `*path` wildcard arrives as its segments; a %2F-encoded path arrives as one decoded segment.
  return Array.isArray(v) ? v.join("/") : String(v ?? "");
}

export function restRoutes(store: EmulatorStore): Router {
  const r = Router();
  const repoOf = (req: Request) => getRepo(store.state, param(req, "owner"), param(req, "repo"));
  // GitHub refuses every write to an archived repository with this 403.
  const writableRepoOf = (req: Request) => {
    const repo = repoOf(req);
    if (repo.archived) throw new EmulatorError(403, "Repository was archived so is read-only.", "FORBIDDEN");
    return repo;
  };

  r.get("/user", (req, res) => {
    res.json(privateUserJson(store.state, apiBase(req)));
  });

  r.get("/repos/:owner/:repo", (req, res) => {
    res.json(repoJson(store.state, repoOf(req), apiBase(req), callerOf(res).token.permissions));
  });

  r.get("/repos/:owner/:repo/branches/*branch", (req, res) => {
    res.json(branchJson(repoOf(req), param(req, "branch"), apiBase(req)));
  });

  r.get("/repos/:owner/:repo/hooks", (req, res) => {
    const repo = repoOf(req);
    res.json(repo.hooks.map((h) => hookJson(repo, h, apiBase(req))));
  });

  r.post("/repos/:owner/:repo/hooks", (req, res) => {
    const repo = writableRepoOf(req);
    const hook = store.mutate(() => createHook(store, repo, req.body));
    res
      .status(201)
      .location(`${apiBase(req)}/repos/${repo.owner}/${repo.name}/hooks/${hook.id}`)
      .json(hookJson(repo, hook, apiBase(req)));
  });

  r.get("/repos/:owner/:repo/hooks/:hook_id", (req, res) => {
    const repo = repoOf(req);
    res.json(hookJson(repo, findHook(repo, param(req, "hook_id")), apiBase(req)));
  });

  r.patch("/repos/:owner/:repo/hooks/:hook_id", (req, res) => {
    const repo = writableRepoOf(req);
    const hook = store.mutate(() => updateHook(repo, findHook(repo, param(req, "hook_id")), req.body));
    res.json(hookJson(repo, hook, apiBase(req)));
  });

  r.delete("/repos/:owner/:repo/hooks/:hook_id", (req, res) => {
    const repo = writableRepoOf(req);
    store.mutate(() => deleteHook(repo, findHook(repo, param(req, "hook_id"))));
    res.status(204).end();
  });

  r.get("/repos/:owner/:repo/hooks/:hook_id/config", (req, res) => {
    const repo = repoOf(req);
    res.json(hookConfigJson(findHook(repo, param(req, "hook_id"))));
  });

  r.patch("/repos/:owner/:repo/hooks/:hook_id/config", (req, res) => {
    const repo = writableRepoOf(req);
    const hook = store.mutate(() => updateHookConfig(findHook(repo, param(req, "hook_id")), req.body));
    res.json(hookConfigJson(hook));
  });

  const getContents = (req: Request, path: string) => {
    const ref = typeof req.query.ref === "string" && req.query.ref !== "" ? req.query.ref : undefined;
    return getContentJson(repoOf(req), path, ref, apiBase(req));
  };
  r.get("/repos/:owner/:repo/contents", (req, res) => {
    res.json(getContents(req, ""));
  });
  r.get("/repos/:owner/:repo/contents/*path", (req, res) => {
    res.json(getContents(req, normalisePath(param(req, "path"))));
  });

  r.put("/repos/:owner/:repo/contents/*path", (req, res) => {
    const repo = writableRepoOf(req);
    const path = normalisePath(param(req, "path"));
    const result = store.mutate((state) => putContent(state, repo, path, req.body));
    res.status(result.created ? 201 : 200).json(fileCommitJson(repo, result, apiBase(req)));
  });

  r.delete("/repos/:owner/:repo/contents/*path", (req, res) => {
    const repo = writableRepoOf(req);
    const path = normalisePath(param(req, "path"));
    const result = store.mutate((state) => deleteContent(state, repo, path, req.body));
    res.json(fileCommitJson(repo, result, apiBase(req)));
  });

  return r;
}
