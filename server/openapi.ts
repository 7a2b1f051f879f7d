import { z } from "zod";
import type { RouteSpec } from "./route-table";
import { apiSchemas, errorBody, validationErrorBody } from "./schemas";

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

/** The OpenAPI 3.1 document of the routes, with the schemas of server/schemas.ts as components. */
export function buildOpenApi(routes: readonly RouteSpec[], info: { version: string }): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:([A-Za-z_]+)/g, "{$1}");
    const pathParams = [...route.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      schema: { type: "string" },
    }));
    const headerParams = (route.headers ?? []).map((h) => ({ name: h.name, in: "header", required: false, description: h.description, schema: { type: "string" } }));
    const responses: Record<string, unknown> = {};
    for (const [status, spec] of Object.entries(route.responses)) {
      responses[status] = {
        description: spec.description,
        ...(spec.schema ? { content: { [spec.contentType ?? "application/json"]: { schema: schemaRef(spec.schema, "output") } } } : {}),
        ...(spec.headers
          ? { headers: Object.fromEntries(Object.entries(spec.headers).map(([h, d]) => [h, { description: d, schema: { type: "string" } }])) }
          : {}),
      };
    }
    if (route.auth) {
      responses["401"] ??= { description: "No bearer token", content: { "application/json": { schema: schemaRef(errorBody, "output") } } };
      responses["403"] ??= { description: "Token not accepted", content: { "application/json": { schema: schemaRef(errorBody, "output") } } };
      // Every authenticated route reads or writes the database.
      responses["503"] ??= {
        description: "The database is unavailable (database_unavailable); nothing was done, send the request again",
        content: { "application/json": { schema: schemaRef(errorBody, "output") } },
        headers: { "Retry-After": { description: "Seconds to wait", schema: { type: "string" } } },
      };
    }
    if (route.body) {
      responses["400"] ??= { description: "Invalid request", content: { "application/json": { schema: schemaRef(validationErrorBody, "output") } } };
    }
    paths[path] ??= {};
    paths[path][route.method] = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      ...(route.auth ? {} : { security: [] }),
      ...(pathParams.length + headerParams.length > 0 ? { parameters: [...pathParams, ...headerParams] } : {}),
      ...(route.body ? { requestBody: { required: !route.bodyOptional, content: { "application/json": { schema: schemaRef(route.body, "input") } } } } : {}),
      responses,
    };
  }
  const input = components("input");
  const output = components("output");
  const requestIds = new Set(routes.flatMap((r) => (r.body ? [apiSchemas.get(r.body)?.id] : [])));
  return {
    openapi: "3.1.0",
    info: { title: "mesh-six onboarding server", version: info.version },
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
