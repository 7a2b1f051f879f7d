import { readdir, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { fileBackendDir } from "./state-store";

/**
 * The file state backend (gocloud's fileblob) writes each checkpoint atomically (temp file + rename), but the
 * `<file>.attrs` sidecar beside it is truncated and rewritten in place: a process killed in between leaves an
 * empty sidecar, and every later command on that stack fails with "failed to load checkpoint: EOF". The
 * sidecar only holds a content type and a checksum, and a missing one is read as defaults, so an empty one
 * is deleted before the stack is recovered. Returns the files removed (relative to the state directory).
 */
export async function removeTruncatedSidecars(backendUrl: string, stackName: string): Promise<string[]> {
  if (!backendUrl.startsWith("file://")) return [];
  const root = fileBackendDir(backendUrl);
  const removed: string[] = [];
  const entries = await readdir(path.join(root, ".pulumi"), { recursive: true }).catch(() => [] as string[]);
  for (const entry of entries) {
    // The stack's checkpoint (and its .bak) in stacks/<project>/, its locks in locks/<org>/<project>/<stack>/.
    const ofStack = path.basename(entry).startsWith(`${stackName}.json`) || entry.split(path.sep).includes(stackName);
    if (!entry.endsWith(".attrs") || !ofStack) continue;
    const file = path.join(root, ".pulumi", entry);
    const info = await stat(file).catch(() => undefined);
    if (info?.isFile() && info.size === 0) {
      await unlink(file);
      removed.push(path.join(".pulumi", entry));
    }
  }
  return removed;
}
