/**
 * Real webhook payloads, as GitHub sends them (@octokit/webhooks-examples, the examples GitHub's docs are checked
 * against), for tests of what deliveries become: each a fresh deep copy to adjust (a draft, a bot sender, labels…).
 */
import { createRequire } from "node:module";

// Loaded untyped: the package's types name @octokit/webhooks-types, which this project does not install.
type Definition = { name: string; examples: Record<string, unknown>[] };
const definitions = createRequire(__filename)("@octokit/webhooks-examples") as Definition[];

/** The first example of `event` with `action`, addressed to `fullName` (its `repository.full_name`). */
export function githubExample(event: string, action: string, fullName = "Codertocat/Hello-World"): Payload {
  const example = definitions.find((d) => d.name === event)?.examples.find((e) => e.action === action);
  if (!example) throw new Error(`@octokit/webhooks-examples has no ${event}.${action} example`);
  const copy = structuredClone(example) as Payload;
  copy.repository = { ...copy.repository, full_name: fullName, name: fullName.split("/")[1] };
  return copy;
}

/** A payload to adjust: the fields tests change, loosely typed. */
export type Payload = Record<string, unknown> & {
  repository: Record<string, unknown>;
  sender: { login: string; type: string } & Record<string, unknown>;
  issue?: { labels: { name: string }[]; user: { login: string; type: string } } & Record<string, unknown>;
  comment?: { user: { login: string; type: string } } & Record<string, unknown>;
  pull_request?: {
    draft: boolean;
    labels: { name: string }[];
    user: { login: string; type: string };
    head: { ref: string };
    base: { ref: string };
  } & Record<string, unknown>;
  label?: { name: string };
};

/** A GitHub App's identity as payloads show it. */
export const botUser = (name = "github-actions") => ({ login: `${name}[bot]`, type: "Bot" });
