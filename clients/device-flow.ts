/**
 * An OAuth 2.0 device authorization grant client (RFC 8628): ask the authorization server for a device
 * code and a user code, show the user where to enter it, then poll the token endpoint until the user has
 * approved (or denied, or the code expired). The device code is a secret of this process: it is never
 * returned by anything here except the authorization it came in, and never logged.
 */
import type { AuthPrompt } from "../domain/runs";
import { abortableSleep } from "../lib/abort";

export interface DeviceFlowConfig {
  deviceAuthorizationUrl: string;
  tokenUrl: string;
  clientId: string;
  scope?: string;
}

/** The device authorization response (RFC 8628 §3.2), camel-cased. */
export interface DeviceAuthorization {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  verificationUriComplete?: string;
  expiresIn: number;
  /** Seconds between token requests; the RFC's default is 5. */
  interval: number;
}

/** A successful token response (RFC 6749 §5.1). */
export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in?: number;
  refresh_token?: string;
  scope?: string;
  [extra: string]: unknown;
}

/** Why the grant ended without a token: the RFC's error code and what the server said about it. */
export class DeviceFlowError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "DeviceFlowError";
  }
}

export const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
const DEFAULT_INTERVAL_S = 5;
// RFC 8628 §3.5: on slow_down the interval grows by 5 seconds for this and every later request.
const SLOW_DOWN_S = 5;

export interface PollOptions {
  signal?: AbortSignal;
  /** Milliseconds per second of the polling interval (tests shrink it; default 1000). Lifetimes stay real. */
  secondMs?: number;
  /** Called before each wait with the interval in force (seconds), so the schedule can be observed. */
  onWait?: (intervalS: number) => void;
}

async function postForm(
  url: string,
  form: Record<string, string>,
  signal?: AbortSignal,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: new URLSearchParams(form),
    signal,
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = text ? JSON.parse(text) : {};
    if (parsed && typeof parsed === "object") body = parsed as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's error page): the status says enough, and the text may be long.
  }
  return { status: res.status, body };
}

function describe(body: Record<string, unknown>, fallback: string): string {
  const code = typeof body.error === "string" ? body.error : fallback;
  return typeof body.error_description === "string" ? `${code}: ${body.error_description}` : code;
}

/** Step 1 (RFC 8628 §3.1): the device authorization request. */
export async function requestDeviceAuthorization(cfg: DeviceFlowConfig, signal?: AbortSignal): Promise<DeviceAuthorization> {
  const form: Record<string, string> = { client_id: cfg.clientId };
  if (cfg.scope) form.scope = cfg.scope;
  const { status, body } = await postForm(cfg.deviceAuthorizationUrl, form, signal);
  if (status !== 200)
    throw new DeviceFlowError(
      String(body.error ?? "device_authorization_failed"),
      `device authorization request failed (HTTP ${status}): ${describe(body, "no error given")}`,
    );
  const str = (key: string) => (typeof body[key] === "string" && body[key] !== "" ? (body[key] as string) : undefined);
  const deviceCode = str("device_code");
  const userCode = str("user_code");
  const verificationUri = str("verification_uri");
  const expiresIn = body.expires_in;
  if (!deviceCode || !userCode || !verificationUri || typeof expiresIn !== "number" || expiresIn <= 0) {
    throw new DeviceFlowError(
      "invalid_response",
      "device authorization response lacks device_code, user_code, verification_uri or expires_in",
    );
  }
  const interval = typeof body.interval === "number" && body.interval > 0 ? body.interval : DEFAULT_INTERVAL_S;
  return { deviceCode, userCode, verificationUri, verificationUriComplete: str("verification_uri_complete"), expiresIn, interval };
}

export function promptFor(auth: DeviceAuthorization, now = Date.now()): AuthPrompt {
  return {
    verificationUri: auth.verificationUri,
    ...(auth.verificationUriComplete ? { verificationUriComplete: auth.verificationUriComplete } : {}),
    userCode: auth.userCode,
    expiresAt: new Date(now + auth.expiresIn * 1000).toISOString(),
  };
}

/**
 * Step 2 (RFC 8628 §3.4-3.5): polls the token endpoint every `interval` seconds until a token comes back.
 * authorization_pending waits again, slow_down waits 5 s longer from then on; expired_token, access_denied
 * and any other error end the grant with a DeviceFlowError. The code's own lifetime bounds the wait even
 * when the server never says expired_token.
 */
export async function pollForToken(cfg: DeviceFlowConfig, auth: DeviceAuthorization, opts: PollOptions = {}): Promise<TokenResponse> {
  const secondMs = opts.secondMs ?? 1000;
  const deadline = Date.now() + auth.expiresIn * 1000;
  let interval = auth.interval;
  for (;;) {
    opts.onWait?.(interval);
    await abortableSleep(interval * secondMs, opts.signal);
    const { status, body } = await postForm(
      cfg.tokenUrl,
      { grant_type: DEVICE_CODE_GRANT, device_code: auth.deviceCode, client_id: cfg.clientId },
      opts.signal,
    );
    if (status === 200) {
      if (typeof body.access_token !== "string" || typeof body.token_type !== "string") {
        throw new DeviceFlowError("invalid_response", "token response lacks access_token or token_type");
      }
      return body as TokenResponse;
    }
    const error = typeof body.error === "string" ? body.error : undefined;
    if (error === "authorization_pending" || error === "slow_down") {
      if (error === "slow_down") interval += SLOW_DOWN_S;
      // A server that never says expired_token must not keep us waiting past the code's lifetime.
      if (Date.now() >= deadline)
        throw new DeviceFlowError("expired_token", `the user code ${auth.userCode} expired before the user approved it`);
      continue;
    }
    if (error === "expired_token")
      throw new DeviceFlowError(error, `the user code ${auth.userCode} expired before the user approved it (${describe(body, error)})`);
    if (error === "access_denied") throw new DeviceFlowError(error, `the user denied the authorization request (${describe(body, error)})`);
    throw new DeviceFlowError(
      error ?? "token_request_failed",
      `token request failed (HTTP ${status}): ${describe(body, "no error given")}`,
    );
  }
}

/**
 * Hands the credentials to the auth service, which keeps them for the repo's agents. The token is in the
 * body only; the error never echoes what was sent.
 */
export async function deliverCredentials(
  authServiceUrl: string,
  authProjectId: string,
  token: TokenResponse,
  signal?: AbortSignal,
): Promise<void> {
  const url = new URL(
    `projects/${encodeURIComponent(authProjectId)}/credentials`,
    authServiceUrl.endsWith("/") ? authServiceUrl : `${authServiceUrl}/`,
  );
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ source: "oauth-device-flow", token }),
    signal,
  });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`the auth service refused the credentials for project ${authProjectId} (HTTP ${res.status})`);
}
