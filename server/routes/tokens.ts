import { DatabaseError } from "pg";
import { type ApiToken, issueToken, listTokens, revokeToken } from "../../db/api-tokens";
import { setAuditTarget } from "../audit";
import { principalOf } from "../auth";
import type { AppContext } from "../context";
import { RequestValidationError, TokenNotFoundError } from "../errors";
import { validate } from "../requests";
import type { RouteSpec } from "../route-table";
import { tokenCreated, tokenList, tokenRequest } from "../schemas";

const FOREIGN_KEY_VIOLATION = "23503";

function tokenOut(t: ApiToken) {
  return {
    id: t.id,
    name: t.name,
    role: t.role,
    agentId: t.agentId,
    createdAt: t.createdAt.toISOString(),
    createdBy: t.createdBy,
  };
}

/** Issuing, listing and revoking API tokens: an admin's. */
export function tokenRoutes(ctx: AppContext): RouteSpec[] {
  return [
    {
      method: "post",
      path: "/v1/tokens",
      operationId: "createToken",
      summary: "Issue a token with a role (an agent token for one registered agent); the token is in this answer only",
      tag: "tokens",
      role: "admin",
      body: tokenRequest,
      responses: {
        201: { description: "Issued", schema: tokenCreated, headers: { "Cache-Control": "no-store: the answer holds a secret" } },
      },
      async handler(req, res) {
        const spec = validate(tokenRequest, req.body ?? {});
        const createdBy = principalOf(res)?.id ?? "unknown";
        const issued = await issueToken(ctx.pool, { ...spec, createdBy }).catch((err: unknown) => {
          if (err instanceof DatabaseError && err.code === FOREIGN_KEY_VIOLATION) {
            throw new RequestValidationError([{ field: "agentId", message: "no such agent" }]);
          }
          throw err;
        });
        setAuditTarget(res, issued.record.id);
        res
          .status(201)
          .set("Cache-Control", "no-store")
          .json({ ...tokenOut(issued.record), token: issued.token });
      },
    },
    {
      method: "get",
      path: "/v1/tokens",
      operationId: "listTokens",
      summary: "Every token issued through the API, revoked ones too; never a token itself",
      tag: "tokens",
      role: "admin",
      responses: { 200: { description: "The tokens", schema: tokenList } },
      async handler(_req, res) {
        const tokens = await listTokens(ctx.pool);
        res.json({ tokens: tokens.map((t) => ({ ...tokenOut(t), revokedAt: t.revokedAt?.toISOString() ?? null })) });
      },
    },
    {
      method: "delete",
      path: "/v1/tokens/:id",
      operationId: "revokeToken",
      summary: "Revoke a token: it is answered 401 from now on (revoking it again changes nothing)",
      tag: "tokens",
      role: "admin",
      responses: { 204: { description: "Revoked" } },
      errors: ["token_not_found"],
      async handler(req, res) {
        const id = String(req.params.id);
        if (!(await revokeToken(ctx.pool, id))) throw new TokenNotFoundError(id);
        res.status(204).end();
      },
    },
  ];
}
