import { type Server, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { ERROR_CODES, type ErrorCode } from "./errors";

/**
 * Requests Node's HTTP parser refuses (headers over 16 KiB, a malformed request line or header, a bad chunked
 * body, Content-Length with Transfer-Encoding) never reach Express. Node's own answer to them is a bare
 * status line without a body; this one carries a JSON error code like every other error of the API.
 */

function codeFor(err: NodeJS.ErrnoException): ErrorCode {
  if (err.code === "HPE_HEADER_OVERFLOW") return "header_too_large";
  if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") return "request_timeout";
  return "bad_request";
}

/** Writes the answer to a refused request on its socket and closes it; a socket that cannot take it is destroyed. */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // The same test Node makes before its own answer: a response already under way on this connection
  // (a request pipelined behind it, or the body of one being answered) cannot be followed by another.
  const current = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code === "ECONNRESET" || !socket.writable || current?.headersSent) {
    socket.destroy();
    return;
  }
  const code = codeFor(err);
  const { status } = ERROR_CODES[code];
  const body = JSON.stringify({ error: code });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      "Content-Type: application/json; charset=utf-8\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      "Connection: close\r\n\r\n" +
      body,
  );
}

export function answerClientErrors<S extends Server>(server: S): S {
  server.on("clientError", answerClientError);
  return server;
}
