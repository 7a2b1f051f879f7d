import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { chmod, lstat, mkdir, open, readdir, readlink, rename, rm, symlink } from "node:fs/promises";
import path from "node:path";
import { Readable, Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import { createGunzip } from "node:zlib";
import * as tar from "tar";
import { acquireOwnerLock } from "../lib/owner-lock";

/**
 * Fetches an agent's per-repo credential bundle from the auth service and installs it as the session
 * directory. A bundle is untrusted input that ends up next to the agent's tokens, so:
 *
 * - The body is streamed through gunzip and the tar parser with byte counters on both sides; nothing is
 *   written until the whole archive has passed every check, and no more than the limits is ever held or
 *   inflated (a gzip bomb stops at the limit, in time and memory proportional to the limit).
 * - Installation never leaves a reader without a complete bundle. `sessionDir` is a symlink to
 *   `.<name>.versions/<id>` beside it; a new version is written and fsynced in full, a new symlink made
 *   next to the old one, and rename(2) swaps it in. rename over an existing symlink is atomic, so at every
 *   instant, and after a crash at any point, `sessionDir` resolves to the old bundle or the new one. (A
 *   rename-exchange of two directories would do the same, but Node exposes no renameat2.) The previous
 *   version is kept until the next replacement, so a reader that resolved the link just before a swap can
 *   finish; a reader wanting several files from one bundle resolves `sessionDir` once (realpath) and reads
 *   below that.
 * - Installs into one session dir are serialized: in this process they queue; another live process's lock
 *   is refused with reason `busy`; a lock left by a dead process on this host is taken over.
 */

/** The files an agent cannot start without, relative to the session dir. */
export const EXPECTED_FILES = [".claude/.credentials.json", ".config/claude/config.json", ".claude/settings.json", ".claude.json"] as const;

export interface BundleLimits {
  /**
   * Sum of the unpacked files' sizes, and also the most compressed bytes downloaded. The inflated tar
   * stream may exceed it only by its framing: 2 KiB per entry (header, a pax header, padding) and 10 KiB
   * for the end of the archive.
   */
  maxBytes: number;
  /** Entries in the archive, directories included. */
  maxEntries: number;
}

export const DEFAULT_LIMITS: Readonly<BundleLimits> = { maxBytes: 10 * 1024 * 1024, maxEntries: 1000 };

/** The points after which a replacement can be interrupted; see `onStep`. */
export const REPLACEMENT_STEPS = ["received", "written", "linked", "swapped", "cleaned"] as const;
export type ReplacementStep = (typeof REPLACEMENT_STEPS)[number];

export interface FetchCredentialBundleOptions {
  authServiceUrl: string;
  authProjectId: string;
  bundleId: string;
  /** Where the bundle's files appear; replaced only once the whole bundle passed every check. */
  sessionDir: string;
  /** Bearer token for the auth service, when it wants one. */
  token?: string;
  limits?: Partial<BundleLimits>;
  /** Aborts the download. */
  signal?: AbortSignal;
  /**
   * Called after each step of the replacement. What it throws is rethrown as is, with no further step
   * taken: this is how the tests simulate a crash at every point.
   */
  onStep?: (step: ReplacementStep) => void | Promise<void>;
}

export type BundleErrorReason =
  | "invalid_identifier"
  | "invalid_url"
  | "download_failed"
  | "unsafe_path"
  | "unsupported_entry"
  | "conflicting_entry"
  | "too_large"
  | "too_many_entries"
  | "invalid_archive"
  | "missing_file"
  | "busy"
  | "write_failed";

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
  /** Regular files written, relative to sessionDir, each once. */
  files: string[];
}

export async function fetchCredentialBundle(opts: FetchCredentialBundleOptions): Promise<CredentialBundle> {
  const limits: BundleLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const url = bundleUrl(opts);
  const sessionDir = path.resolve(opts.sessionDir);
  return serialized(sessionDir, async () => {
    const files = await receive(opts, url, limits);
    await opts.onStep?.("received");
    await install(files, sessionDir, opts.onStep);
    return { sessionDir, files: [...files.keys()] };
  });
}

// Only RFC 3986's unreserved characters: nothing a URL parser decodes (%2e), splits on (/ \ ? #) or resolves
// ("." and ".." are dot-segments), so the request goes to exactly the path the identifiers name.
const IDENTIFIER = /^[A-Za-z0-9._~-]{1,128}$/;

function bundleUrl(opts: FetchCredentialBundleOptions): string {
  for (const [field, value] of [
    ["authProjectId", opts.authProjectId],
    ["bundleId", opts.bundleId],
  ] as const) {
    if (typeof value !== "string" || !IDENTIFIER.test(value) || value === "." || value === "..") {
      const shown = typeof value === "string" ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value) : String(value);
      throw new CredentialBundleError(
        "invalid_identifier",
        `${field} ${shown} must be 1-128 letters, digits, ".", "_", "~" or "-", and not "." or ".."`,
      );
    }
  }
  let base: URL;
  try {
    base = new URL(opts.authServiceUrl);
  } catch {
    throw new CredentialBundleError("invalid_url", "authServiceUrl is not a URL");
  }
  // The URL is not echoed: one with credentials in it would put them in the error.
  if (!/^https?:$/.test(base.protocol) || base.username || base.password || base.search || base.hash) {
    throw new CredentialBundleError("invalid_url", "authServiceUrl must be an http(s) URL without credentials, query or fragment");
  }
  return `${base.origin}${base.pathname.replace(/\/+$/, "")}/projects/${opts.authProjectId}/provision/${opts.bundleId}`;
}

const queues = new Map<string, Promise<unknown>>();

/** Runs `work` after every earlier call for the same key has settled. */
async function serialized<T>(key: string, work: () => Promise<T>): Promise<T> {
  const run = (queues.get(key) ?? Promise.resolve()).then(work);
  const tail = run.catch(() => undefined);
  queues.set(key, tail);
  try {
    return await run;
  } finally {
    if (queues.get(key) === tail) queues.delete(key);
  }
}

// ---- Download and check, in memory bounded by the limits ----

/** Streams the bundle through gunzip and the tar parser; the checked files, by name, in archive order. */
async function receive(opts: FetchCredentialBundleOptions, url: string, limits: BundleLimits): Promise<Map<string, Buffer[]>> {
  const what = `bundle ${opts.bundleId} of auth project ${opts.authProjectId}`;
  const failed = (err: unknown) => {
    const detail = opts.signal?.aborted ? `aborted (${describe(opts.signal.reason)})` : describe(err);
    return new CredentialBundleError("download_failed", `fetching ${what}: ${detail}`);
  };
  let res: Response;
  try {
    res = await fetch(url, { headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {}, signal: opts.signal });
  } catch (err) {
    throw failed(err);
  }
  const refuseEarly = async (err: CredentialBundleError) => {
    await res.body?.cancel().catch(() => undefined);
    return err;
  };
  if (!res.ok || !res.body) throw await refuseEarly(new CredentialBundleError("download_failed", `fetching ${what}: HTTP ${res.status}`));
  const announced = Number(res.headers.get("content-length") ?? NaN);
  if (announced > limits.maxBytes) {
    throw await refuseEarly(
      new CredentialBundleError("too_large", `${what} announces ${announced} bytes, more than the ${limits.maxBytes} allowed`),
    );
  }
  const archive = new ArchiveCollector(limits);
  const maxInflated = limits.maxBytes + limits.maxEntries * 2048 + 10240;
  try {
    // Counted while streaming: a server that lies about (or omits) Content-Length gets no further.
    await pipeline(
      Readable.fromWeb(res.body as NodeReadableStream<Uint8Array>),
      byteLimit(
        limits.maxBytes,
        () => new CredentialBundleError("too_large", `${what} is larger than ${limits.maxBytes} bytes compressed`),
      ),
      createGunzip(),
      byteLimit(maxInflated, () => new CredentialBundleError("too_large", `credential bundle inflates to more than ${maxInflated} bytes`)),
      archive.sink(),
    );
  } catch (err) {
    if (archive.failure) throw archive.failure;
    if (err instanceof CredentialBundleError) throw err;
    if (isArchiveError(err)) throw notReadable(err);
    throw failed(err);
  }
  return archive.result();
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : "";
  return `${err.message}${cause}`;
}

function isArchiveError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && code.startsWith("Z_");
}

function notReadable(err: unknown): CredentialBundleError {
  return new CredentialBundleError("invalid_archive", `credential bundle is not a readable tar.gz: ${describe(err)}`);
}

function byteLimit(max: number, refuse: () => CredentialBundleError): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      total += chunk.length;
      if (total > max) done(refuse());
      else done(null, chunk);
    },
  });
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

function parentsOf(name: string): string[] {
  const segments = name.split("/");
  return segments.slice(0, -1).map((_, i) => segments.slice(0, i + 1).join("/"));
}

/**
 * Receives the inflated tar stream and keeps the files' contents, refusing on the first entry that breaks
 * a rule and stopping the stream there. node-tar would itself strip ".." and leading "/" with a warning; a
 * bundle that tries either is refused, not repaired. Two entries that would land on one path are refused too:
 * which one "wins" is not something a credential bundle should leave open.
 */
class ArchiveCollector {
  failure: CredentialBundleError | undefined;
  private readonly files = new Map<string, Buffer[]>();
  private readonly dirs = new Set<string>();
  private entries = 0;
  private bytes = 0;
  private readonly parser: tar.Parser;
  private head: Buffer | undefined = Buffer.alloc(0);
  /** The end-of-archive blocks were read; what follows is padding (or junk) that is counted, not parsed. */
  private atEnd = false;
  private pending: ((err?: Error | null) => void) | undefined;

  constructor(private readonly limits: BundleLimits) {
    // brotli and zstd off: the stream is already inflated (and gzip inside it is refused in write()).
    this.parser = new tar.Parser({
      strict: true,
      brotli: false,
      zstd: false,
      maxMetaEntrySize: 64 * 1024,
      onReadEntry: (entry) => this.onEntry(entry),
    });
    this.parser.on("error", (err: Error) => this.fail(notReadable(err)));
    this.parser.on("eof", () => (this.atEnd = true));
  }

  sink(): Writable {
    return new Writable({
      write: (chunk: Buffer, _encoding, done) => this.write(chunk, done),
      final: (done) => {
        if (this.failure) return done(this.failure);
        this.pending = done;
        this.parser.once("end", () => this.settle());
        if (this.head) this.parser.write(this.head);
        this.parser.end();
      },
    });
  }

  private write(chunk: Buffer, done: (err?: Error | null) => void): void {
    if (this.failure) return done(this.failure);
    // node-tar appends every chunk after the end to one growing buffer, copying it again each time.
    if (this.atEnd) return done();
    if (this.head) {
      // node-tar would gunzip a gzip stream inside the gzip stream itself, past the byte counter.
      this.head = Buffer.concat([this.head, chunk]);
      if (this.head.length < 2) return done();
      if (this.head[0] === 0x1f && this.head[1] === 0x8b)
        return done(
          this.fail(new CredentialBundleError("invalid_archive", "credential bundle is not a readable tar.gz: it is compressed twice")),
        );
      chunk = this.head;
      this.head = undefined;
    }
    this.pending = done;
    if (this.parser.write(chunk) || this.failure) this.settle();
    else this.parser.once("drain", () => this.settle());
  }

  private settle(): void {
    const done = this.pending;
    this.pending = undefined;
    done?.(this.failure ?? null);
  }

  private fail(err: CredentialBundleError): CredentialBundleError {
    this.failure ??= err;
    this.settle();
    return this.failure;
  }

  private onEntry(entry: tar.ReadEntry): void {
    if (this.failure) return void entry.resume();
    try {
      this.accept(entry);
    } catch (err) {
      entry.resume();
      this.fail(err as CredentialBundleError);
      this.parser.abort(new Error("stopped at a refused entry"));
    }
  }

  private accept(entry: tar.ReadEntry): void {
    this.entries += 1;
    if (this.entries > this.limits.maxEntries) {
      throw new CredentialBundleError("too_many_entries", `credential bundle has more than ${this.limits.maxEntries} entries`);
    }
    const name = safeEntryPath(entry.path);
    if (name === undefined)
      throw new CredentialBundleError(
        "unsafe_path",
        `credential bundle entry ${JSON.stringify(entry.path)} is not a safe relative path`,
        entry.path,
      );
    if (entry.type === "Directory") {
      if (name !== "") this.claim(name, "directory");
      return void entry.resume();
    }
    if (!FILE_TYPES.has(entry.type) || name === "") {
      const kind = entry.type === "SymbolicLink" ? "a symlink" : entry.type === "Link" ? "a hard link" : `of type ${entry.type}`;
      throw new CredentialBundleError(
        "unsupported_entry",
        `credential bundle entry ${JSON.stringify(entry.path)} is ${kind}; only files and directories are allowed`,
        entry.path,
      );
    }
    this.bytes += entry.size;
    if (this.bytes > this.limits.maxBytes)
      throw new CredentialBundleError("too_large", `credential bundle unpacks to more than ${this.limits.maxBytes} bytes`);
    this.claim(name, "file");
    const chunks: Buffer[] = [];
    this.files.set(name, chunks);
    entry.on("data", (chunk: Buffer) => chunks.push(chunk));
  }

  private claim(name: string, kind: "file" | "directory"): void {
    const conflict = (message: string) =>
      new CredentialBundleError("conflicting_entry", `credential bundle entry ${JSON.stringify(name)} ${message}`, name);
    if (kind === "file" && this.files.has(name)) throw conflict("appears more than once");
    if (kind === "file" ? this.dirs.has(name) : this.files.has(name)) throw conflict("is both a file and a directory");
    for (const parent of parentsOf(name)) {
      if (this.files.has(parent)) throw conflict(`is inside ${JSON.stringify(parent)}, which is both a file and a directory`);
      this.dirs.add(parent);
    }
    if (kind === "directory") this.dirs.add(name);
  }

  result(): Map<string, Buffer[]> {
    if (this.entries === 0) throw new CredentialBundleError("invalid_archive", "credential bundle is empty");
    for (const expected of EXPECTED_FILES) {
      if (!this.files.has(expected)) throw new CredentialBundleError("missing_file", `credential bundle lacks ${expected}`, expected);
    }
    return this.files;
  }
}

// ---- Install: write a new version, swap the link, drop what no reader can still be on ----

interface Layout {
  sessionDir: string;
  parent: string;
  versions: string;
  lock: string;
  /** Temporary links are `<linkPrefix><id>`. */
  linkPrefix: string;
}

function layoutOf(sessionDir: string): Layout {
  const parent = path.dirname(sessionDir);
  const base = path.basename(sessionDir);
  return {
    sessionDir,
    parent,
    versions: path.join(parent, `.${base}.versions`),
    lock: path.join(parent, `.${base}.lock`),
    linkPrefix: `.${base}.link-`,
  };
}

/** Runs a file-system step; its failure is a write_failed error naming the step. */
async function fsStep<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof CredentialBundleError) throw err;
    throw new CredentialBundleError("write_failed", `${what}: ${describe(err)}`);
  }
}

async function install(files: Map<string, Buffer[]>, sessionDir: string, onStep: FetchCredentialBundleOptions["onStep"]): Promise<void> {
  const layout = layoutOf(sessionDir);
  await fsStep("creating the session dir's parent", () => mkdir(layout.parent, { recursive: true }));
  const release = await lock(layout);
  const id = `${Date.now().toString(36)}-${randomBytes(6).toString("hex")}`;
  const version = path.join(layout.versions, id);
  const link = path.join(layout.parent, `${layout.linkPrefix}${id}`);
  let swapped = false;
  try {
    await fsStep("clearing what an interrupted replacement left", () => clearDebris(layout));
    await fsStep("writing the new version", () => writeVersion(version, files));
    await onStep?.("written");
    await fsStep("linking the new version", () => symlink(path.relative(layout.parent, version), link));
    await onStep?.("linked");
    const previous = await fsStep("replacing the session dir", () => swap(layout, link));
    swapped = true;
    await onStep?.("swapped");
    await fsStep("removing old versions", () => removeVersionsBut(layout, [id, previous]));
    await onStep?.("cleaned");
  } finally {
    if (!swapped) {
      await rm(link, { force: true }).catch(() => undefined);
      await rm(version, { recursive: true, force: true }).catch(() => undefined);
      await rm(layout.versions).catch(() => undefined); // only when empty: a first install that failed leaves nothing
    }
    await release();
  }
}

/** Files 0600 and directories 0700 whatever the archive said, each fsynced, so a swapped-in version is whole even after a power cut. */
async function writeVersion(version: string, files: Map<string, Buffer[]>): Promise<void> {
  await mkdir(path.dirname(version), { recursive: true, mode: 0o700 });
  await chmod(path.dirname(version), 0o700);
  const dirs = new Set([version]);
  await mkdir(version, { mode: 0o700 });
  for (const [name, chunks] of files) {
    const full = path.join(version, name);
    for (const parent of parentsOf(name)) dirs.add(path.join(version, parent));
    await mkdir(path.dirname(full), { recursive: true, mode: 0o700 });
    // O_EXCL and O_NOFOLLOW: nothing but this loop writes here, and nothing it did not create is followed.
    const handle = await open(full, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      for (const chunk of chunks) await handle.writeFile(chunk);
      await handle.chmod(0o600);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
  for (const dir of dirs) {
    await chmod(dir, 0o700);
    await syncDir(dir);
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** rename(2)s the link over the session dir; returns the version id it pointed to before, if any. */
async function swap(layout: Layout, link: string): Promise<string | undefined> {
  const existing = await lstat(layout.sessionDir).catch(() => undefined);
  let previous: string | undefined;
  if (existing?.isSymbolicLink()) {
    const target = path.resolve(layout.parent, await readlink(layout.sessionDir));
    if (path.dirname(target) === layout.versions) previous = path.basename(target);
  } else if (existing) {
    // A session dir from before versions existed is a real directory, which a symlink cannot be renamed over.
    // Moving it aside first is the one moment it is missing; it happens once per session dir.
    previous = `legacy-${randomBytes(4).toString("hex")}`;
    await rename(layout.sessionDir, path.join(layout.versions, previous));
  }
  await rename(link, layout.sessionDir);
  await syncDir(layout.parent);
  return previous;
}

async function removeVersionsBut(layout: Layout, keep: (string | undefined)[]): Promise<void> {
  for (const name of await readdir(layout.versions)) {
    if (!keep.includes(name)) await rm(path.join(layout.versions, name), { recursive: true, force: true });
  }
}

/** Temporary links of a killed install, and the scratch dirs of this module's earlier, unversioned layout. */
async function clearDebris(layout: Layout): Promise<void> {
  const base = path.basename(layout.sessionDir);
  const legacy = [`.${base}.incoming-`, `${base}.old-`];
  for (const name of await readdir(layout.parent)) {
    if (name.startsWith(layout.linkPrefix)) await rm(path.join(layout.parent, name), { force: true });
    else if (legacy.some((prefix) => name.startsWith(prefix))) await rm(path.join(layout.parent, name), { recursive: true, force: true });
  }
}

// ---- The lock between processes ----

/** How long a lock file without a readable owner may be someone's lock being written, not debris. */
const UNREADABLE_LOCK_GRACE_MS = 60_000;

async function lock(layout: Layout): Promise<() => Promise<void>> {
  let held;
  try {
    held = await acquireOwnerLock(layout.lock, { unreadableGraceMs: UNREADABLE_LOCK_GRACE_MS });
  } catch (err) {
    throw new CredentialBundleError("write_failed", `locking the session dir: ${describe(err)}`);
  }
  if (held.acquired) return held.release;
  const by = held.owner ? `process ${held.owner.pid} on ${held.owner.host}` : "another process";
  throw new CredentialBundleError("busy", `session dir ${layout.sessionDir} is being replaced by ${by} (lock ${layout.lock})`);
}
