import { randomBytes } from "node:crypto";
import { chmod, lstat, mkdir, mkdtemp, readdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import * as tar from "tar";

/**
 * Fetches an agent's per-repo credential bundle from the auth service and unpacks it into the session
 * directory. A bundle is untrusted input that ends up next to the agent's tokens, so it is checked entry by
 * entry before anything is written, unpacked into a scratch directory beside the session dir, checked again,
 * and only then renamed into place: a bundle that breaks any rule leaves no trace.
 */

/** The files an agent cannot start without, relative to the session dir. */
export const EXPECTED_FILES = [".claude/.credentials.json", ".config/claude/config.json", ".claude/settings.json", ".claude.json"] as const;

export interface BundleLimits {
  /** Sum of the unpacked files' sizes, and also the most compressed bytes downloaded. */
  maxBytes: number;
  /** Entries in the archive, directories included. */
  maxEntries: number;
}

export const DEFAULT_LIMITS: Readonly<BundleLimits> = { maxBytes: 10 * 1024 * 1024, maxEntries: 1000 };

export interface FetchCredentialBundleOptions {
  authServiceUrl: string;
  authProjectId: string;
  bundleId: string;
  /** Where the bundle's files land; created (or replaced) only once the whole bundle passed every check. */
  sessionDir: string;
  /** Bearer token for the auth service, when it wants one. */
  token?: string;
  limits?: Partial<BundleLimits>;
  /** Aborts the download. */
  signal?: AbortSignal;
}

export type BundleErrorReason =
  | "download_failed"
  | "unsafe_path"
  | "unsupported_entry"
  | "too_large"
  | "too_many_entries"
  | "invalid_archive"
  | "missing_file";

export class CredentialBundleError extends Error {
  constructor(
    readonly reason: BundleErrorReason,
    message: string,
    /** The archive entry or expected file concerned, when there is one. */
    readonly entry?: string,
  ) {
    super(message);
    this.name = "CredentialBundleError";
  }
}

export interface CredentialBundle {
  sessionDir: string;
  /** Regular files written, relative to sessionDir. */
  files: string[];
}

export async function fetchCredentialBundle(opts: FetchCredentialBundleOptions): Promise<CredentialBundle> {
  const limits: BundleLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const sessionDir = path.resolve(opts.sessionDir);
  const parent = path.dirname(sessionDir);
  await mkdir(parent, { recursive: true });
  // Same parent, same file system: the final rename is atomic.
  const scratch = await mkdtemp(path.join(parent, `.${path.basename(sessionDir)}.incoming-`));
  try {
    await chmod(scratch, 0o700);
    const archive = path.join(scratch, "bundle.tar.gz");
    await writeFile(archive, await download(opts, limits.maxBytes), { mode: 0o600 });
    const files = checkArchive(archive, limits);
    const tree = path.join(scratch, "tree");
    await mkdir(tree, { mode: 0o700 });
    unpack(archive, tree);
    await tighten(tree);
    for (const expected of EXPECTED_FILES) {
      const stat = await lstat(path.join(tree, expected)).catch(() => undefined);
      if (!stat?.isFile()) throw new CredentialBundleError("missing_file", `credential bundle lacks ${expected}`, expected);
    }
    await swapInto(tree, sessionDir);
    return { sessionDir, files };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function bundleUrl(opts: FetchCredentialBundleOptions): string {
  for (const [field, value] of [["authProjectId", opts.authProjectId], ["bundleId", opts.bundleId]] as const) {
    if (!value) throw new CredentialBundleError("download_failed", `${field} is empty`);
  }
  const base = opts.authServiceUrl.replace(/\/+$/, "");
  return `${base}/projects/${encodeURIComponent(opts.authProjectId)}/provision/${encodeURIComponent(opts.bundleId)}`;
}

async function download(opts: FetchCredentialBundleOptions, maxBytes: number): Promise<Buffer> {
  const url = bundleUrl(opts);
  const what = `bundle ${opts.bundleId} of auth project ${opts.authProjectId}`;
  let res: Response;
  try {
    res = await fetch(url, { headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {}, signal: opts.signal });
  } catch (err) {
    throw new CredentialBundleError("download_failed", `fetching ${what}: ${(err as Error).message}`);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    throw new CredentialBundleError("download_failed", `fetching ${what}: HTTP ${res.status}`);
  }
  // Counted while streaming: a server that lies about (or omits) Content-Length still cannot fill the disk.
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      await res.body.cancel().catch(() => undefined);
      throw new CredentialBundleError("too_large", `${what} is larger than ${maxBytes} bytes compressed`);
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

const FILE_TYPES = new Set(["File", "OldFile", "ContiguousFile"]);

/** A path the bundle may name: relative, without "..", absolute or drive prefixes, NULs or backslashes. */
export function safeEntryPath(raw: string): string | undefined {
  if (!raw || raw.includes("\0") || raw.includes("\\")) return undefined;
  if (raw.startsWith("/") || /^[A-Za-z]:/.test(raw)) return undefined;
  const segments = raw.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.some((s) => s === "..")) return undefined;
  return segments.join("/"); // "" for the archive's root ("./")
}

/**
 * Reads every header before anything is written and throws on the first entry that breaks a rule. node-tar
 * would itself strip ".." and leading "/" with a warning; a bundle that tries either is refused, not repaired.
 */
function checkArchive(archive: string, limits: BundleLimits): string[] {
  const files: string[] = [];
  let entries = 0;
  let bytes = 0;
  let violation: CredentialBundleError | undefined;
  const refuse = (err: CredentialBundleError) => {
    violation ??= err;
  };
  try {
    tar.t({
      file: archive,
      sync: true,
      strict: true,
      onReadEntry(entry) {
        if (violation) return;
        entries += 1;
        const name = safeEntryPath(entry.path);
        if (entries > limits.maxEntries) {
          return refuse(new CredentialBundleError("too_many_entries", `credential bundle has more than ${limits.maxEntries} entries`));
        }
        if (name === undefined) return refuse(new CredentialBundleError("unsafe_path", `credential bundle entry ${JSON.stringify(entry.path)} is not a safe relative path`, entry.path));
        if (entry.type === "Directory") return;
        if (!FILE_TYPES.has(entry.type) || name === "") {
          const kind = entry.type === "SymbolicLink" ? "a symlink" : entry.type === "Link" ? "a hard link" : `of type ${entry.type}`;
          return refuse(new CredentialBundleError("unsupported_entry", `credential bundle entry ${JSON.stringify(entry.path)} is ${kind}; only files and directories are allowed`, entry.path));
        }
        bytes += entry.size;
        if (bytes > limits.maxBytes) return refuse(new CredentialBundleError("too_large", `credential bundle unpacks to more than ${limits.maxBytes} bytes`));
        files.push(name);
      },
    });
  } catch (err) {
    if (violation) throw violation;
    throw new CredentialBundleError("invalid_archive", `credential bundle is not a readable tar.gz: ${(err as Error).message}`);
  }
  if (violation) throw violation;
  if (entries === 0) throw new CredentialBundleError("invalid_archive", "credential bundle is empty");
  return files;
}

function unpack(archive: string, tree: string): void {
  try {
    tar.x({
      file: archive,
      cwd: tree,
      sync: true,
      strict: true,
      preservePaths: false,
      preserveOwner: false,
      // checkArchive already refused anything else; this keeps a second read from ever disagreeing with it.
      filter: (_p, entry) => "type" in entry && (entry.type === "Directory" || FILE_TYPES.has(entry.type)),
    });
  } catch (err) {
    throw new CredentialBundleError("invalid_archive", `unpacking credential bundle: ${(err as Error).message}`);
  }
}

/** Files 0600, directories 0700, whatever modes the archive carried; anything else found is refused. */
async function tighten(dir: string): Promise<void> {
  await chmod(dir, 0o700);
  for (const dirent of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, dirent.name);
    if (dirent.isDirectory()) await tighten(full);
    else if (dirent.isFile()) await chmod(full, 0o600);
    else throw new CredentialBundleError("unsupported_entry", `credential bundle produced ${dirent.name}, which is not a file or directory`, dirent.name);
  }
}

/** Renames the checked tree into place; an existing session dir is replaced only once the new one is there. */
async function swapInto(tree: string, sessionDir: string): Promise<void> {
  const existing = await lstat(sessionDir).catch(() => undefined);
  if (!existing) {
    await rename(tree, sessionDir);
    return;
  }
  const aside = `${sessionDir}.old-${randomBytes(4).toString("hex")}`;
  await rename(sessionDir, aside);
  try {
    await rename(tree, sessionDir);
  } catch (err) {
    await rename(aside, sessionDir);
    throw err;
  }
  await rm(aside, { recursive: true, force: true });
}
