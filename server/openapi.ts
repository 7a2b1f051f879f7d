import { z } from "zod";
import type { RouteSpec } from "./route-table";
import { holdsRole, RANKED_ROLES, type RankedRole } from "../domain/roles";
import { ERROR_CODES, type ErrorCode } from "./errors";
import { apiSchemas, errorSchemas } from "./schemas";

const REF = (id: string) => `#/components/schemas/${id}`;

type JsonSchema = Record<string, unknown>;

function components(io: "input" | "output"): Record<string, JsonSchema> {
  const { schemas } = z.toJSONSchema(apiSchemas, { target: "draft-2020-12", io, uri: REF, unrepresentable: "any" });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, schema]) => {
      const { $schema: _s, $id: _i, ...rest } = schema as JsonSchema;
      return [id, rest];
    }),
  );
}

// A schema registered in apiSchemas is referenced by id; any other is written out in place.
function schemaRef(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const id = apiSchemas.get(schema)?.id;
  if (id) return { $ref: REF(id) };
  const { $schema: _s, ...rest } = z.toJSONSchema(schema, { target: "draft-2020-12", io, unrepresentable: "any" }) as JsonSchema;
  return rest;
}

// What any request can be answered with before it reaches a route (server/client-errors.ts), or when a
// handler fails in a way nobody foresaw.
const EVERY_ROUTE: ErrorCode[] = ["bad_request", "request_timeout", "header_too_large", "internal_error"];

const ERROR_HEADERS: Record<string, { codes: ErrorCode[]; headers: Record<string, unknown> } | undefined> = {
  "401": {
    codes: ["unauthenticated"],
    headers: { "WWW-Authenticate": { description: 'Bearer realm="mesh-six"', schema: { type: "string" } } },
  },
  "503": {
    codes: ["database_unavailable"],
    headers: { "Retry-After": { description: "Seconds to wait before sending the request again", schema: { type: "string" } } },
  },
};

/** Every error code the route can be answered with, by status, in ERROR_CODES order. */
function errorCodesByStatus(route: RouteSpec, hasPathParams: boolean): [string, ErrorCode[]][] {
  const codes = new Set<ErrorCode>([...EVERY_ROUTE, ...(route.errors ?? [])]);
  const secured = route.role !== "public";
  if (secured) for (const c of ["unauthenticated", "forbidden"] as const) codes.add(c);
  // Issued tokens are looked up in the database, so any secured route can find it unavailable.
  if (secured || route.database) codes.add("database_unavailable");
  // The router answers a path parameter it cannot percent-decode.
  if (hasPathParams) codes.add("invalid_request");
  if (route.body) for (const c of ["invalid_request", "payload_too_large", "unsupported_media_type"] as const) codes.add(c);
  const byStatus = new Map<string, ErrorCode[]>();
  for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
    if (!codes.has(code)) continue;
    const status = String(ERROR_CODES[code].status);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return [...byStatus];
}

function optionalParams(params: { name: string; description: string }[] | undefined, where: "query" | "header") {
  return (params ?? []).map((p) => ({ name: p.name, in: where, required: false, description: p.description, schema: { type: "string" } }));
}

const HOLDERS: Record<RankedRole, string> = { viewer: "viewer, operator or admin", operator: "operator or admin", admin: "admin" };

/**
 * Who may call the operation, three ways: `x-mesh-six-role` (the least role; `x-mesh-six-agent` when an
 * agent's token may too, and for which agent), the roles as the bearer requirement's role names (OpenAPI 3.1
 * allows them for schemes other than OAuth), and a sentence in the description.
 */
function access(route: RouteSpec): Record<string, unknown> {
  if (route.role === "public") return { security: [], "x-mesh-six-role": "public", description: "Served without a token." };
  const roles = RANKED_ROLES.filter((r) => holdsRole(r, route.role as RankedRole));
  const agent = route.agent ? ` or an agent token bound to ${route.agent.description}` : "";
  return {
    description: `Needs a token of role ${HOLDERS[route.role]}${agent}; any other token is answered 403 forbidden.`,
    security: [{ bearer: route.agent ? [...roles, "agent"] : roles }],
    "x-mesh-six-role": route.role,
    ...(route.agent ? { "x-mesh-six-agent": route.agent.description } : {}),
  };
}

/** The OpenAPI 3.1 document of the routes, with the schemas of server/schemas.ts as components. */
export function buildOpenApi(routes: readonly RouteSpec[], info: { version: string; publicUrl?: string }): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:([A-Za-z_]+)/g, "{$1}");
    const pathParams = [...route.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      schema: { type: "string" },
    }));
    const queryParams = optionalParams(route.query, "query");
    const headerParams = optionalParams(route.headers, "header");
    const responses: Record<string, unknown> = {};
    for (const [status, spec] of Object.entries(route.responses)) {
      responses[status] = {
        description: spec.description,
        ...(spec.schema ? { content: { [spec.contentType ?? "application/json"]: { schema: schemaRef(spec.schema, "output") } } } : {}),
        ...(spec.headers
          ? {
              headers: Object.fromEntries(
                Object.entries(spec.headers).map(([h, d]) => [h, { description: d, schema: { type: "string" } }]),
              ),
            }
          : {}),
      };
    }
    for (const [status, codes] of errorCodesByStatus(route, pathParams.length > 0)) {
      if (responses[status]) throw new Error(`${route.operationId}: status ${status} is both an answer and an error (${codes.join(", ")})`);
      const refs = codes.map((code) => schemaRef(errorSchemas[code], "output"));
      responses[status] = {
        description: codes.map((code) => `${code}: ${ERROR_CODES[code].description}`).join("; "),
        content: { "application/json": { schema: refs.length === 1 ? refs[0] : { anyOf: refs } } },
        ...(ERROR_HEADERS[status] && codes.some((c) => ERROR_HEADERS[status]!.codes.includes(c))
          ? { headers: ERROR_HEADERS[status]!.headers }
          : {}),
      };
    }
    paths[path] ??= {};
    paths[path][route.method] = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      ...access(route),
      ...(pathParams.length + queryParams.length + headerParams.length > 0
        ? { parameters: [...pathParams, ...queryParams, ...headerParams] }
        : {}),
      ...(route.body
        ? { requestBody: { required: !route.bodyOptional, content: { "application/json": { schema: schemaRef(route.body, "input") } } } }
        : {}),
      responses,
    };
  }
  const input = components("input");
  const output = components("output");
  // not_found answers paths outside every operation: the description says so, and no operation refers to it.
  delete output.Error_not_found;
  const requestIds = new Set(routes.flatMap((r) => (r.body ? [apiSchemas.get(r.body)?.id] : [])));
  return {
    openapi: "3.1.0",
    info: {
      title: "mesh-six onboarding server",
      version: info.version,
      description:
        'Onboards GitHub repositories into mesh-six as runs, delivers tasks to agents, receives GitHub webhooks. Every error is JSON: `{"error": "<code>"}`, with the fields its code documents (components `Error_<code>`). A path no operation serves is answered 404 `{"error": "not_found"}` (under /v1, 401 first without a token).',
      contact: { name: "mesh-six infra" },
      license: { name: "UNLICENSED (proprietary; not licensed for use outside mesh-six)" },
    },
    // Where the document was fetched from, unless the server knows its public URL.
    servers: [
      info.publicUrl
        ? { url: info.publicUrl, description: "This server's public URL" }
        : { url: "/", description: "The server that serves this document" },
    ],
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      // Request bodies are described as clients may send them (defaults optional), the rest as sent.
      schemas: Object.fromEntries(Object.keys(output).map((id) => [id, requestIds.has(id) ? input[id] : output[id]])),
    },
  };
}
