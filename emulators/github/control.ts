// `/_emulator/*`: set-up and inspection for tests and the sandbox; not part of GitHub's API.
import { Router } from "express";
import { callerOf } from "./auth";
import { putContent } from "./contents";
import { notFound, validationFailed } from "./errors";
import { FaultList, parseFault } from "./faults";
import { createIssue } from "./items";
import { type CreateRepoInput, createRepo, getRepo, repoJson } from "./repos";
import { apiBase } from "./rest";
import { EmulatorStore } from "./state";
import { parseTokenRegistration, tokenDigest } from "./tokens";

export function controlRoutes(store: EmulatorStore, faults: FaultList): Router {
  const r = Router();

  // `auto_init: true` gives the repository a first commit on its default branch, as GitHub's own parameter
  // does; without it the repository is empty and has no branch at all.
  r.post("/_emulator/repos", (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (body.auto_init !== undefined && typeof body.auto_init !== "boolean") {
      throw validationFailed({ resource: "Repository", code: "invalid", field: "auto_init" });
    }
    const repo = store.mutate((state) => {
      const created = createRepo(store, body as unknown as CreateRepoInput);
      if (body.auto_init) {
        putContent(state, created, "README.md", {
          message: "Initial commit",
          content: Buffer.from(`# ${created.name}\n`).toString("base64"),
        });
      }
      return created;
    });
    res.status(201).json(repoJson(store.state, repo, apiBase(req), callerOf(res).token.permissions));
  });

  r.post("/_emulator/tokens", (req, res) => {
    const { token, record } = parseTokenRegistration(req.body);
    store.mutate((state) => (state.tokens = { ...state.tokens, [tokenDigest(token)]: record }));
    res.status(201).json(record);
  });

  r.post("/_emulator/faults", (req, res) => {
    res.status(201).json(faults.add(parseFault(req.body)));
  });

  r.get("/_emulator/faults", (_req, res) => {
    res.json(faults.list());
  });

  // The scope in the body, like the POST's: a token has no business in a URL.
  r.delete("/_emulator/faults", (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const scope = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
    res.json({ cleared: faults.clear({ token: scope(body.token), owner: scope(body.owner) }) });
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
