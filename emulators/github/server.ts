// Assembles the emulator: auth in front of everything, then the control, REST and GraphQL routes,
// then GitHub's JSON error shapes for whatever went wrong.
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import express, { type NextFunction, type Request, type Response } from "express";
import { requireToken } from "./auth";
import { controlRoutes } from "./control";
import { EmulatorError, restErrorBody } from "./errors";
import { FaultList } from "./faults";
import { graphqlHandler } from "./graphql";
import { restRoutes } from "./rest";
import { EmulatorStore } from "./state";

export interface GitHubEmulatorOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  token: string;
  /** Loaded at start when present; rewritten atomically after every change. */
  stateFile?: string;
}

export interface GitHubEmulator {
  url: string;
  close(): Promise<void>;
  state: EmulatorStore;
  faults: FaultList;
}

export function createApp(store: EmulatorStore, token: string, faults = new FaultList()): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use((_req: Request, res: Response, next: NextFunction) => {
    // Octokit quotes this header in its logs and errors, as it does GitHub's.
    res.set("x-github-request-id", randomUUID());
    next();
  });
  app.use(requireToken(token, store));
  // Any content type: GitHub parses a JSON body whatever the client labelled it.
  app.use(express.json({ limit: "100mb", type: () => true }));
  app.use(faults.middleware());
  app.use(controlRoutes(store, faults));
  app.use(restRoutes(store));
  app.post("/graphql", graphqlHandler(store));
  app.use((_req: Request, res: Response) => {
    res.status(404).json(restErrorBody(404, "Not Found"));
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof EmulatorError) {
      res.status(err.status).json(restErrorBody(err.status, err.message, err.errors));
      return;
    }
    const status = (err as { status?: number }).status;
    if ((err as { type?: string }).type === "entity.parse.failed") {
      res.status(400).json(restErrorBody(400, "Problems parsing JSON"));
    } else if (typeof status === "number" && status >= 400 && status < 500) {
      res.status(status).json(restErrorBody(status, (err as Error).message));
    } else {
      console.error("github-emulator: unexpected error", err);
      res.status(500).json(restErrorBody(500, "Server Error"));
    }
  });
  return app;
}

export async function startGitHubEmulator(opts: GitHubEmulatorOptions): Promise<GitHubEmulator> {
  const store = new EmulatorStore(opts.stateFile);
  // Persist at once so the file exists (and is known to be writable) before the first request.
  store.save();
  const faults = new FaultList();
  const app = createApp(store, opts.token, faults);
  const server = await new Promise<ReturnType<typeof app.listen>>((resolve, reject) => {
    const s = app.listen(opts.port ?? 0, "127.0.0.1", (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    state: store,
    faults,
    // Idempotent, so a test may close early and still leave the close in its cleanup.
    close: () =>
      (closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Clients keep connections alive; without this, close() waits for them to time out.
        server.closeAllConnections();
      })),
  };
}
