import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import express from "express";
import { authorizedOnly, authorizeRoutes } from "../../server/auth";
import { errorHandler } from "../../server/errors";
import { mountRoutes, type RouteSpec } from "../../server/route-table";
import { quietLogger } from "../../testkit/log-capture";

const route: RouteSpec = {
  method: "get",
  path: "/v1/thing",
  operationId: "thing",
  summary: "A route that must never be served unauthorized",
  tag: "test",
  role: "public",
  responses: { 200: { description: "ok" } },
  handler: (_req, res) => void res.json({ served: true }),
};

async function answer(withAuthorization: boolean): Promise<[number, unknown]> {
  const app = express();
  if (withAuthorization) app.use(authorizeRoutes([route]));
  mountRoutes(app, [route], [authorizedOnly]);
  app.use(errorHandler(quietLogger()));
  const server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/thing`);
    return [res.status, await res.json()];
  } finally {
    server.close();
  }
}

test("a route is served only to requests its authorization saw; one that got past it is failed, not served", async () => {
  assert.deepEqual(await answer(true), [200, { served: true }]);
  assert.deepEqual(await answer(false), [500, { error: "internal_error" }]);
});
