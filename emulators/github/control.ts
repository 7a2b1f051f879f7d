// `/_emulator/*`: set-up and inspection for tests and the sandbox; not part of GitHub's API.
import { Router } from "express";
import { notFound } from "./errors";
import { createIssue } from "./items";
import { createRepo, getRepo, repoJson } from "./repos";
import { apiBase } from "./rest";
import { EmulatorStore } from "./state";

export function controlRoutes(store: EmulatorStore): Router {
  const r = Router();

  r.post("/_emulator/repos", (req, res) => {
    const repo = store.mutate(() => createRepo(store, req.body ?? {}));
    res.status(201).json(repoJson(store.state, repo, apiBase(req)));
  });

  // Only what a board card needs from an issue (its node id and number): GitHub's REST issue is not emulated.
  r.post("/_emulator/repos/:owner/:repo/issues", (req, res) => {
    const repo = getRepo(store.state, String(req.params.owner), String(req.params.repo));
    const issue = store.mutate(() => createIssue(repo, req.body ?? {}));
    res.status(201).json({ number: issue.number, node_id: issue.nodeId, title: issue.title });
  });

  r.post("/_emulator/reset", (_req, res) => {
    store.reset();
    res.json({ reset: true });
  });

  r.get("/_emulator/state", (_req, res) => {
    res.json(store.state);
  });

  // Lets integration tests check that the secret GitHub signs with is the one Vault holds,
  // which the REST API (like GitHub's) never reveals.
  r.get("/_emulator/hooks/:hook_id/secret", (req, res) => {
    const id = Number(req.params.hook_id);
    const hook = Object.values(store.state.repos)
      .flatMap((repo) => repo.hooks)
      .find((h) => h.id === id);
    if (!hook) throw notFound();
    res.json({ secret: hook.config.secret ?? null });
  });

  return r;
}
