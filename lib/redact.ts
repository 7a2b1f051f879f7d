/** What a redacted secret reads as in a log line. */
export const REDACTED = "[redacted]";

// user:password@ in any URL a tool printed (the Pulumi CLI prints its backend URL in errors, pg its connection string).
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@"]*):[^\s@/"]*@/gi;

// The credential of an Authorization header quoted in a message (an error that echoes a request, a curl line).
const AUTH_CREDENTIALS = /\b(Bearer|Basic|token) +[A-Za-z0-9._~+/-]{8,}=*/g;

/** The text with every URL's password replaced by `censor`. */
export function redactUrlCredentials(text: string, censor: string): string {
  return text.replace(URL_CREDENTIALS, `$1:${censor}@`);
}

/**
 * The text with URL passwords, Authorization credentials and every one of `secrets` (values this process knows are
 * secret: its API tokens, Vault token, database password) replaced by [redacted]. Secrets are also matched as JSON
 * escapes them, since the text may be a JSON line.
 */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = redactUrlCredentials(text, REDACTED).replace(AUTH_CREDENTIALS, `$1 ${REDACTED}`);
  for (const secret of secrets) {
    for (const form of new Set([secret, JSON.stringify(secret).slice(1, -1)])) out = out.split(form).join(REDACTED);
  }
  return out;
}
