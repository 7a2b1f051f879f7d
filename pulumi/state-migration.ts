import type { StateBlobStore } from "./state-store";

/**
 * Moving stacks between state stores (file → PostgreSQL, or any pair of the stores in state-store.ts) with
 * their history. Per stack: refused when an update holds it (a lock at either end) or when the target already
 * has it with different state; skipped when the target has it byte for byte; otherwise its history and backups
 * are written first and its checkpoint last, so an interrupted migration leaves no half stack (the target shows
 * the stack only once the checkpoint is there) and the next run completes it.
 */
export type StackMigrationStatus = "copied" | "already-there" | "refused";

export interface StackMigration {
  /** `<project>/<stack>`, as the blobs name it. */
  id: string;
  stackName: string;
  status: StackMigrationStatus;
  /** Blobs written to the target. */
  copied: number;
  /** Blobs of the stack (checkpoint, history, backups) at the source. */
  blobs: number;
  reason?: string;
}

interface StateKey {
  kind: "checkpoint" | "history" | "backup" | "lock" | "meta" | "other";
  id?: string;
}

const CHECKPOINT = /^\.pulumi\/stacks\/(.+?)\.json(\.gz)?$/;
// The checkpoint before the last update, kept beside it.
const CHECKPOINT_BACKUP = /^\.pulumi\/stacks\/(.+?)\.json(\.gz)?\.bak$/;
const PER_STACK = /^\.pulumi\/(history|backups)\/([^/]+\/[^/]+)\//;
const LOCK = /^\.pulumi\/locks\/[^/]+\/([^/]+\/[^/]+)\//;

export function classifyStateKey(key: string): StateKey {
  if (key === ".pulumi/meta.yaml") return { kind: "meta" };
  const checkpoint = CHECKPOINT.exec(key);
  if (checkpoint) return { kind: "checkpoint", id: checkpoint[1] };
  const backup = CHECKPOINT_BACKUP.exec(key);
  if (backup) return { kind: "backup", id: backup[1] };
  const perStack = PER_STACK.exec(key);
  if (perStack) return { kind: perStack[1] === "history" ? "history" : "backup", id: perStack[2] };
  const lock = LOCK.exec(key);
  if (lock) return { kind: "lock", id: lock[1] };
  return { kind: "other" };
}

export interface MigrationResult {
  stacks: StackMigration[];
  /** Set when the stores disagree on the backend's layout version: nothing was written. */
  refusedWhole?: string;
}

export async function migrateStacks(from: StateBlobStore, to: StateBlobStore): Promise<MigrationResult> {
  const [sourceKeys, targetKeys] = await Promise.all([from.list(), to.list()]);
  const meta = await from.read(".pulumi/meta.yaml");
  const targetMeta = await to.read(".pulumi/meta.yaml");
  if (meta && targetMeta && !meta.equals(targetMeta)) {
    return {
      stacks: [],
      refusedWhole: `the stores' .pulumi/meta.yaml differ (${oneLine(meta)} vs ${oneLine(targetMeta)}): they use different backend layouts`,
    };
  }

  const byStack = new Map<string, { checkpoints: string[]; rest: string[]; locked: boolean }>();
  const entry = (id: string) => byStack.get(id) ?? byStack.set(id, { checkpoints: [], rest: [], locked: false }).get(id)!;
  for (const key of sourceKeys) {
    const k = classifyStateKey(key);
    if (!k.id) continue;
    if (k.kind === "checkpoint") entry(k.id).checkpoints.push(key);
    else if (k.kind === "lock") entry(k.id).locked = true;
    else entry(k.id).rest.push(key);
  }
  const lockedAtTarget = new Set(
    targetKeys
      .map(classifyStateKey)
      .filter((k) => k.kind === "lock")
      .map((k) => k.id),
  );

  if (meta && !targetMeta) await to.write(".pulumi/meta.yaml", meta);
  const stacks: StackMigration[] = [];
  for (const [id, keys] of [...byStack].sort(([a], [b]) => a.localeCompare(b))) {
    if (keys.checkpoints.length === 0) continue; // history of a removed stack: not a stack any more
    const stackName = id.split("/").pop()!;
    const all = [...keys.rest, ...keys.checkpoints];
    const result: StackMigration = { id, stackName, status: "copied", copied: 0, blobs: all.length };
    stacks.push(result);
    if (keys.locked || lockedAtTarget.has(id)) {
      Object.assign(result, { status: "refused", reason: `locked by an update in progress at the ${keys.locked ? "source" : "target"}` });
      continue;
    }
    const conflict = await firstConflict(from, to, all);
    if (conflict) {
      Object.assign(result, { status: "refused", reason: `the target already has ${conflict} with different contents` });
      continue;
    }
    // The checkpoint last: until it is written the target has no such stack, only unreferenced history.
    for (const key of [...keys.rest, ...keys.checkpoints]) {
      const data = (await from.read(key))!;
      const there = await to.read(key);
      if (there?.equals(data)) continue;
      await to.write(key, data);
      result.copied++;
    }
    if (result.copied === 0) result.status = "already-there";
  }
  return { stacks };
}

async function firstConflict(from: StateBlobStore, to: StateBlobStore, keys: string[]): Promise<string | undefined> {
  for (const key of keys) {
    const there = await to.read(key);
    if (there && !there.equals((await from.read(key))!)) return key;
  }
  return undefined;
}

function oneLine(data: Buffer): string {
  return JSON.stringify(data.toString("utf8").trim().slice(0, 60));
}
