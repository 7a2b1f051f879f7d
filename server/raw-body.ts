import type { IncomingMessage } from "node:http";
import type { Request } from "express";

const RAW = Symbol("rawBody");

/** express.json's `verify` hook: keeps the bytes it parsed with the request. */
export function keepRawBody(req: IncomingMessage, _res: unknown, buf: Buffer): void {
  (req as IncomingMessage & { [RAW]?: Buffer })[RAW] = buf;
}

/** The JSON body's text as received (UTF-8, the only charset express.json takes); undefined without a body. */
export function rawBodyText(req: Request): string | undefined {
  return (req as Request & { [RAW]?: Buffer })[RAW]?.toString("utf8");
}
