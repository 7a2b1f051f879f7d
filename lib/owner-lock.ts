import { constants } from "node:fs";
import { open, readFile, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";

/** Who holds a lock file: its process and host, as written into the file. */
export interface LockOwner {
  pid: number;
  host: string;
}

export type OwnerLock = { acquired: true; release: () => Promise<void> } | { acquired: false; owner: LockOwner | undefined };

/**
 * An O_EXCL lock file naming its owner, for work one process at a time may do (the embedded database's directory, a
 * credential bundle's session dir). A lock whose owner is a dead process on this host is removed and taken once
 * more; so is one whose owner cannot be read once it is older than `unreadableGraceMs` (it may be a lock being
 * written until then; by default never). Between reading a stale lock and removing it another process doing the
 * same could take it first and lose it to us: a window of a few system calls after a crash, which this accepts.
 * Errors other than the lock being taken are thrown as they are, for the caller to name.
 */
export async function acquireOwnerLock(file: string, opts: { unreadableGraceMs?: number } = {}): Promise<OwnerLock> {
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        await handle.writeFile(JSON.stringify({ pid: process.pid, host: hostname() } satisfies LockOwner));
      } finally {
        await handle.close();
      }
      return { acquired: true, release: () => unlink(file).catch(() => undefined) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const owner = await readOwner(file);
    const stale = owner ? owner.host === hostname() && !alive(owner.pid) : await olderThan(file, opts.unreadableGraceMs ?? Infinity);
    if (!stale || attempt > 0) return { acquired: false, owner };
    await unlink(file).catch(() => undefined);
  }
}

async function readOwner(file: string): Promise<LockOwner | undefined> {
  try {
    const owner = JSON.parse(await readFile(file, "utf8")) as Partial<LockOwner>;
    return typeof owner.pid === "number" && typeof owner.host === "string" ? { pid: owner.pid, host: owner.host } : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function olderThan(file: string, ms: number): Promise<boolean> {
  if (ms === Infinity) return false;
  const stats = await stat(file).catch(() => undefined);
  return !stats || Date.now() - stats.mtimeMs > ms;
}
