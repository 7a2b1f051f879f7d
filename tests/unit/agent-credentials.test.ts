import assert from "node:assert/strict";
import {
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { createGzip, gzipSync } from "node:zlib";
import * as tar from "tar";
import { CredentialBundleError, EXPECTED_FILES, fetchCredentialBundle } from "../../agent/credentials";

const PROJECT = "proj-1";
const bundles = new Map<string, Buffer>();
let server: Server;
let baseUrl: string;
const seenAuth: (string | undefined)[] = [];
/** Every request path the auth service saw, in order. */
const requests: string[] = [];
/** Bundles served by a test's own (mis)behaviour instead of a plain 200. */
const handlers = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
const work = mkdtempSync(path.join(tmpdir(), "agent-creds-"));

before(async () => {
  server = createServer((req, res) => {
    seenAuth.push(req.headers.authorization);
    requests.push(req.url ?? "");
    const match = /^\/projects\/([^/]+)\/provision\/([^/]+)$/.exec(req.url ?? "");
    const handler = match && match[1] === PROJECT ? handlers.get(decodeURIComponent(match[2])) : undefined;
    if (handler) return handler(req, res);
    const body = match && match[1] === PROJECT ? bundles.get(decodeURIComponent(match[2])) : undefined;
    if (!body) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": "application/gzip" }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(work, { recursive: true, force: true });
});

let counter = 0;

/** A directory holding the four expected files (plus `extra`), as an auth service would bundle them. */
function bundleTree(extra: Record<string, string> = {}, omit?: string): string {
  const dir = path.join(work, `src-${++counter}`);
  for (const [file, content] of Object.entries({ ...Object.fromEntries(EXPECTED_FILES.map((f) => [f, `{"file":"${f}"}`])), ...extra })) {
    if (file === omit) continue;
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), content, { mode: 0o644 });
  }
  return dir;
}

/** Packs `entries` (relative to `cwd`) with tar.c and serves the result as bundle `id`. */
function serveBundle(id: string, cwd: string, entries: string[], opts: { preservePaths?: boolean } = {}): void {
  const file = path.join(work, `${id}.tar.gz`);
  tar.c({ gzip: true, cwd, file, sync: true, portable: true, preservePaths: opts.preservePaths }, entries);
  bundles.set(id, readFileSync(file));
}

function sessionDir(): string {
  return path.join(work, `sessions-${++counter}`, "session");
}

/** A refused fetch creates nothing: the session dir's parent is absent or empty. */
function assertNothingBeside(dir: string): void {
  const parent = path.dirname(dir);
  assert.deepEqual(existsSync(parent) ? readdirSync(parent) : [], [], "nothing may be left beside the session dir");
}

/** Asserts the fetch failed with `reason` and left neither the session dir nor scratch dirs behind. */
async function assertRefused(
  id: string,
  reason: CredentialBundleError["reason"],
  message: RegExp,
  limits?: { maxBytes?: number; maxEntries?: number },
  signal?: AbortSignal,
) {
  const dir = sessionDir();
  await assert.rejects(
    fetchCredentialBundle({ authServiceUrl: baseUrl, authProjectId: PROJECT, bundleId: id, sessionDir: dir, limits, signal }),
    (err: unknown) => {
      assert.ok(err instanceof CredentialBundleError, String(err));
      assert.equal(err.reason, reason, err.message);
      assert.match(err.message, message);
      return true;
    },
  );
  assert.equal(existsSync(dir), false, "the session dir must not exist");
  assertNothingBeside(dir);
}

test("a good bundle lands in the session dir with files 0600 and directories 0700", async () => {
  serveBundle("good", bundleTree({ "notes/readme.txt": "hi" }), ["."]);
  const dir = sessionDir();
  const result = await fetchCredentialBundle({
    authServiceUrl: `${baseUrl}/`,
    authProjectId: PROJECT,
    bundleId: "good",
    sessionDir: dir,
    token: "tok-123",
  });
  assert.equal(seenAuth.at(-1), "Bearer tok-123");
  assert.deepEqual([...result.files].sort(), [...EXPECTED_FILES, "notes/readme.txt"].sort());
  for (const file of EXPECTED_FILES) {
    assert.equal(readFileSync(path.join(dir, file), "utf8"), `{"file":"${file}"}`);
    assert.equal(statSync(path.join(dir, file)).mode & 0o777, 0o600, file);
  }
  for (const sub of ["", ".claude", ".config", ".config/claude", "notes"]) {
    assert.equal(statSync(path.join(dir, sub)).mode & 0o777, 0o700, sub || "(session dir)");
  }
  assertNoDebris(dir);
});

test("a new bundle replaces an existing session dir as a whole", async () => {
  serveBundle("replace", bundleTree(), ["."]);
  const dir = sessionDir();
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "stale.txt"), "old");
  await fetchCredentialBundle({ authServiceUrl: baseUrl, authProjectId: PROJECT, bundleId: "replace", sessionDir: dir });
  assert.equal(existsSync(path.join(dir, "stale.txt")), false);
  assert.equal(existsSync(path.join(dir, ".claude.json")), true);
  assertNoDebris(dir);
});

test("a refused bundle leaves an existing session dir unchanged", async () => {
  const src = bundleTree();
  symlinkSync("/etc/passwd", path.join(src, "link"));
  serveBundle("keep-old", src, ["."]);
  const dir = sessionDir();
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "stale.txt"), "old");
  await assert.rejects(
    fetchCredentialBundle({ authServiceUrl: baseUrl, authProjectId: PROJECT, bundleId: "keep-old", sessionDir: dir }),
    CredentialBundleError,
  );
  assert.deepEqual(readdirSync(dir), ["stale.txt"]);
  assertNoDebris(dir);
});

test("an entry climbing out with .. is refused", async () => {
  const outer = path.join(work, `outer-${++counter}`);
  const inner = bundleTree();
  mkdirSync(outer);
  writeFileSync(path.join(outer, "escape.txt"), "x");
  // Packed from inside the bundle tree, the sibling file's path keeps its "../".
  const rel = path.relative(inner, path.join(outer, "escape.txt"));
  serveBundle("dotdot", inner, [".", rel], { preservePaths: true });
  await assertRefused("dotdot", "unsafe_path", /\.\.\/.*escape\.txt.*not a safe relative path/);
});

test("an entry with an absolute path is refused", async () => {
  const src = bundleTree();
  serveBundle("absolute", src, [".", path.join(src, ".claude.json")], { preservePaths: true });
  await assertRefused("absolute", "unsafe_path", /not a safe relative path/);
});

test("a symlink is refused", async () => {
  const src = bundleTree();
  symlinkSync("/etc/passwd", path.join(src, ".claude", "evil"));
  serveBundle("symlink", src, ["."]);
  await assertRefused("symlink", "unsupported_entry", /\.claude\/evil.* is a symlink/);
});

test("a hard link is refused", async () => {
  const src = bundleTree();
  linkSync(path.join(src, ".claude.json"), path.join(src, "twin.json"));
  serveBundle("hardlink", src, ["."]);
  await assertRefused("hardlink", "unsupported_entry", /is a hard link/);
});

test("a bundle unpacking to more than the size limit is refused", async () => {
  serveBundle("big", bundleTree({ "big.bin": "x".repeat(64 * 1024) }), ["."]);
  await assertRefused("big", "too_large", /more than 16384 bytes/, { maxBytes: 16 * 1024 });
});

test("a download larger than the size limit is refused before it is unpacked", async () => {
  const random = Array.from({ length: 8192 }, () => Math.random().toString(36).slice(2)).join("");
  serveBundle("big-download", bundleTree({ "noise.txt": random }), ["."]);
  await assertRefused("big-download", "too_large", /larger than 4096 bytes compressed/, { maxBytes: 4096 });
});

test("a bundle with more entries than the limit is refused", async () => {
  const extra = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`many/f${i}`, "x"]));
  serveBundle("many", bundleTree(extra), ["."]);
  await assertRefused("many", "too_many_entries", /more than 10 entries/, { maxEntries: 10 });
});

test("a bundle without one of the expected files is refused, naming it", async () => {
  serveBundle("missing", bundleTree({}, ".claude/settings.json"), ["."]);
  await assertRefused("missing", "missing_file", /lacks \.claude\/settings\.json/);
});

test("a bundle the auth service does not have is an HTTP 404 error", async () => {
  await assertRefused("nope", "download_failed", /bundle nope of auth project proj-1: HTTP 404/);
});

test("a body that is not a tar.gz is refused", async () => {
  bundles.set("garbage", Buffer.from("this is not gzip"));
  await assertRefused("garbage", "invalid_archive", /not a readable tar\.gz/);
});

// ---- Hostile inputs: bombs, crashes, races, broken connections, odd identifiers, odd archives ----

interface RawEntry {
  name: string;
  body?: Buffer | string;
  type?: "File" | "Directory" | "SymbolicLink" | "Link" | "CharacterDevice" | "BlockDevice" | "FIFO";
  /** The size the header announces, when it differs from the body written (bombs). */
  size?: number;
}

/** One tar entry, header and padded body, built by hand so a test can say exactly what the archive holds. */
function tarEntry({ name, body = "", type = "File", size }: RawEntry): Buffer {
  const data = Buffer.from(body);
  const header = new tar.Header({
    path: name,
    type,
    size: size ?? (type === "File" ? data.length : 0),
    mode: type === "Directory" ? 0o755 : 0o644,
    mtime: new Date(0),
    uid: 0,
    gid: 0,
  });
  header.encode();
  const padding = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([header.block!, data, padding]);
}

const END_OF_ARCHIVE = Buffer.alloc(1024);

/** The four expected files, each naming `version`, so a reader can tell which bundle it sees. */
function expectedEntries(version: string): RawEntry[] {
  return EXPECTED_FILES.map((file) => ({ name: file, body: JSON.stringify({ v: version, file }) }));
}

function serveEntries(id: string, entries: RawEntry[]): void {
  bundles.set(id, gzipSync(Buffer.concat([...entries.map(tarEntry), END_OF_ARCHIVE])));
}

function fetchInto(dir: string, bundleId: string, extra: Record<string, unknown> = {}) {
  return fetchCredentialBundle({ authServiceUrl: baseUrl, authProjectId: PROJECT, bundleId, sessionDir: dir, ...extra } as Parameters<
    typeof fetchCredentialBundle
  >[0]);
}

/** The version every expected file of the session dir names; throws when they disagree or one is missing. */
function versionOf(dir: string): string {
  const versions = new Set(EXPECTED_FILES.map((file) => (JSON.parse(readFileSync(path.join(dir, file), "utf8")) as { v: string }).v));
  assert.equal(versions.size, 1, `the session dir mixes bundles: ${[...versions].join(", ")}`);
  return [...versions][0];
}

/** Only the session dir and its versions may be beside it: no scratch dirs, temporary links or locks. */
function assertNoDebris(dir: string): void {
  const base = path.basename(dir);
  const beside = readdirSync(path.dirname(dir)).filter((name) => name !== base && name !== `.${base}.versions`);
  assert.deepEqual(beside, [], "debris beside the session dir");
  const versions = path.join(path.dirname(dir), `.${base}.versions`);
  if (existsSync(versions)) assert.ok(readdirSync(versions).length <= 2, `old versions pile up: ${readdirSync(versions).join(", ")}`);
}

/** Streams `mebibytes` MiB of nearly-zero bytes (one random byte per 4 KiB keeps the ratio under node-tar's 1000) between prefix and suffix, gzipped. */
async function sparseGzip(prefix: Buffer, mebibytes: number, suffix: Buffer = Buffer.alloc(0)): Promise<Buffer> {
  const gz = createGzip();
  const out: Buffer[] = [];
  gz.on("data", (chunk: Buffer) => out.push(chunk));
  const done = new Promise((resolve) => gz.on("end", resolve));
  const write = (chunk: Buffer) => (gz.write(chunk) ? Promise.resolve() : new Promise((resolve) => gz.once("drain", resolve)));
  await write(prefix);
  for (let i = 0; i < mebibytes; i++) {
    const block = Buffer.alloc(1 << 20);
    for (let j = 0; j < block.length; j += 4096) block[j] = randomBytes(1)[0];
    await write(block);
  }
  gz.end(suffix);
  await done;
  return Buffer.concat(out);
}

const BOMB_MIB = 128;
const MIB = 1 << 20;

const MODULE_URL = pathToFileURL(path.join(__dirname, "../../agent/credentials.ts")).href;

/**
 * Fetches a bomb in a fresh process and asserts too_large, with that process's peak RSS growing by far less
 * than the bomb. A fresh process because the peak is a high-water mark: in this one, earlier tests could have
 * raised it above what the bomb costs.
 */
async function assertBombStops(id: string, bomb: Buffer) {
  assert.ok(bomb.length < MIB, `the bomb is small when compressed (${bomb.length} bytes)`);
  bundles.set(id, bomb);
  bundles.set("warm-up", goodBundle());
  const script = `
    const loaded = await import(${JSON.stringify(MODULE_URL)});
    const { fetchCredentialBundle } = loaded.fetchCredentialBundle ? loaded : loaded.default; // tsx may hand over a CommonJS namespace
    // A first, ordinary fetch loads fetch, zlib and tar, so that the peak below is the bomb's alone.
    await fetchCredentialBundle(${JSON.stringify({ authServiceUrl: baseUrl, authProjectId: PROJECT, bundleId: "warm-up", sessionDir: sessionDir() })});
    const peakBefore = process.resourceUsage().maxRSS * 1024;
    let reason = "none";
    try {
      await fetchCredentialBundle(${JSON.stringify({ authServiceUrl: baseUrl, authProjectId: PROJECT, bundleId: id, sessionDir: sessionDir(), limits: { maxBytes: MIB } })});
    } catch (err) {
      reason = err.reason ?? String(err);
    }
    console.log(JSON.stringify({ reason, growth: process.resourceUsage().maxRSS * 1024 - peakBefore }));`;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  await once(child, "exit");
  const { reason, growth } = JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as { reason: string; growth: number };
  assert.equal(reason, "too_large");
  assert.ok(growth < 48 * MIB, `peak RSS grew by ${(growth / MIB).toFixed(1)} MiB for a ${BOMB_MIB} MiB bomb with a 1 MiB limit`);
}

test("a gzip bomb declaring one huge file stops at the size limit with too_large, in bounded memory", async () => {
  const head = Buffer.concat([...expectedEntries("bomb").map(tarEntry), tarEntry({ name: "pad.bin", size: BOMB_MIB * MIB })]);
  await assertBombStops("bomb-entry", await sparseGzip(head, BOMB_MIB, END_OF_ARCHIVE));
});

test("a gzip bomb hidden after the archive's end stops at the size limit with too_large, in bounded memory", async () => {
  const archive = Buffer.concat([...expectedEntries("bomb").map(tarEntry), END_OF_ARCHIVE]);
  await assertBombStops("bomb-trailer", await sparseGzip(archive, BOMB_MIB));
});

test("a Content-Length beyond the limit is refused before the body is read", async () => {
  handlers.set("announced-huge", (_req, res) => {
    res.writeHead(200, { "content-length": String(64 * MIB) });
    res.write(Buffer.alloc(16));
  });
  // The body never ends: only a refusal that does not wait for it beats the guard's abort.
  await assertRefused("announced-huge", "too_large", /announces 67108864 bytes/, { maxBytes: MIB }, AbortSignal.timeout(5000));
});

test("readers never find the session dir missing or incomplete while it is replaced many times", async () => {
  const dir = sessionDir();
  serveEntries("reader-0", expectedEntries("reader-0"));
  await fetchInto(dir, "reader-0");
  // [0]: stop; [1]: reads finished, passed or failed.
  const flag = new SharedArrayBuffer(8);
  const finished = () => Atomics.load(new Int32Array(flag), 1);
  const reader = new Worker(
    `const { workerData, parentPort } = require("node:worker_threads");
     const fs = require("node:fs");
     const path = require("node:path");
     const stop = new Int32Array(workerData.flag);
     let reads = 0, failed = 0;
     const failures = [];
     while (Atomics.load(stop, 0) === 0) {
       try {
         const top = fs.readdirSync(workerData.dir);
         for (const name of [".claude", ".config", ".claude.json"]) if (!top.includes(name)) throw new Error("listing lacks " + name + ": " + top.join(","));
         for (const file of workerData.files) {
           const parsed = JSON.parse(fs.readFileSync(path.join(workerData.dir, file), "utf8"));
           if (parsed.file !== file) throw new Error(file + " holds " + parsed.file);
         }
         reads++;
         Atomics.add(stop, 1, 1);
       } catch (err) {
         Atomics.add(stop, 1, 1);
         failed++;
         if (failures.length < 5) failures.push(String(err.message));
       }
     }
     parentPort.postMessage({ reads, failed, failures });`,
    { eval: true, workerData: { dir, flag, files: EXPECTED_FILES } },
  );
  const report = new Promise<{ reads: number; failed: number; failures: string[] }>((resolve) => reader.once("message", resolve));
  for (let i = 1; i <= 30; i++) {
    serveEntries(`reader-${i}`, expectedEntries(`reader-${i}`));
    await fetchInto(dir, `reader-${i}`);
    // The promise is for a reader that resolved the link before a swap: the previous version outlives the swap.
    // Two reads finished after it mean the read now in flight began after it, so the next swap keeps what it is on;
    // without this a starved reader could still be on a version two swaps old.
    const seen = finished();
    for (const deadline = Date.now() + 10_000; finished() < seen + 2;) {
      assert.ok(Date.now() < deadline, "the reader finished two reads after the swap within 10 s");
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
  Atomics.store(new Int32Array(flag), 0, 1);
  const { reads, failed, failures } = await report;
  await reader.terminate();
  assert.equal(failed, 0, `a reader saw a missing or partial session dir ${failed} times: ${failures.join(" | ")}`);
  assert.ok(reads > 30, `the reader ran (${reads} reads)`);
  assert.equal(versionOf(dir), "reader-30");
  assertNoDebris(dir);
});

// The contract a crash test holds the code to: each point after which the process may die.
const REPLACEMENT_STEPS = ["received", "written", "linked", "swapped", "cleaned"] as const;

test("a crash at any step of a replacement leaves the old or the new bundle whole, and the next fetch cleans up", async () => {
  serveEntries("crash-old", expectedEntries("crash-old"));
  serveEntries("crash-new", expectedEntries("crash-new"));
  serveEntries("crash-next", expectedEntries("crash-next"));
  for (const [index, step] of REPLACEMENT_STEPS.entries()) {
    const dir = sessionDir();
    await fetchInto(dir, "crash-old");
    await assert.rejects(
      fetchInto(dir, "crash-new", {
        onStep(at: string) {
          if (at === step) throw new Error(`simulated crash after ${at}`);
        },
      }),
      /simulated crash after/,
      `the crash after ${step} must surface`,
    );
    const expected = index >= REPLACEMENT_STEPS.indexOf("swapped") ? "crash-new" : "crash-old";
    assert.equal(versionOf(dir), expected, `after a crash following ${step}`);
    await fetchInto(dir, "crash-next");
    assert.equal(versionOf(dir), "crash-next", `a fetch after the crash following ${step} works`);
    assertNoDebris(dir);
  }
});

/** A session dir holding bundle `<name>-1`, with `<name>-2` served for the replacement. */
async function establishedSession(name: string): Promise<string> {
  const dir = sessionDir();
  for (const id of [`${name}-1`, `${name}-2`]) serveEntries(id, expectedEntries(id));
  await fetchInto(dir, `${name}-1`);
  return dir;
}

test("debris of a killed fetch (orphan version, temporary link, stale lock) is cleaned by the next fetch", async () => {
  const dir = await establishedSession("debris");
  const parent = path.dirname(dir);
  mkdirSync(path.join(parent, ".session.versions", "orphan"), { recursive: true });
  writeFileSync(path.join(parent, ".session.versions", "orphan", "half.json"), "{");
  symlinkSync(".session.versions/orphan", path.join(parent, ".session.link-orphan"));
  writeFileSync(path.join(parent, ".session.lock"), JSON.stringify({ pid: await deadPid(), host: hostname() }));
  await fetchInto(dir, "debris-2");
  assert.equal(versionOf(dir), "debris-2");
  assert.equal(existsSync(path.join(parent, ".session.versions", "orphan")), false, "the orphan version is removed");
  assertNoDebris(dir);
});

/** The pid of a process that has exited (pids are not reused this fast). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await once(child, "exit");
  return child.pid!;
}

test("ten concurrent fetches into one session dir serialize and leave one whole bundle", async () => {
  const dir = sessionDir();
  const ids = Array.from({ length: 10 }, (_, i) => `concurrent-${i}`);
  for (const id of ids) serveEntries(id, expectedEntries(id));
  const results = await Promise.allSettled(ids.map((id) => fetchInto(dir, id)));
  for (const result of results) {
    if (result.status === "rejected") {
      assert.ok(result.reason instanceof CredentialBundleError, `a concurrent fetch failed with a raw ${String(result.reason)}`);
      assert.equal(result.reason.reason, "busy", result.reason.message);
    }
  }
  assert.equal(results.filter((r) => r.status === "fulfilled").length, 10, "fetches in one process wait for each other");
  assert.ok(ids.includes(versionOf(dir)));
  assertNoDebris(dir);
});

test("a session dir locked by another live process is refused as busy and left alone", async () => {
  const dir = await establishedSession("locked");
  const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
  try {
    const lock = path.join(path.dirname(dir), ".session.lock");
    writeFileSync(lock, JSON.stringify({ pid: holder.pid, host: hostname() }));
    await assert.rejects(fetchInto(dir, "locked-2"), (err: unknown) => {
      assert.ok(err instanceof CredentialBundleError, String(err));
      assert.equal(err.reason, "busy");
      assert.match(err.message, new RegExp(`process ${holder.pid}`));
      return true;
    });
    assert.equal(versionOf(dir), "locked-1");
    assert.equal(existsSync(lock), true, "another process's lock is not taken away");
  } finally {
    holder.kill();
  }
});

const TOKEN = "tok-must-not-leak-4242";

/** Asserts a download that breaks mid-body is a typed download_failed error that keeps the token out. */
async function assertBodyFailure(id: string, message: RegExp, extra: Record<string, unknown> = {}) {
  const dir = sessionDir();
  await assert.rejects(fetchInto(dir, id, { token: TOKEN, ...extra }), (err: unknown) => {
    assert.ok(err instanceof CredentialBundleError, `expected a CredentialBundleError, got ${String(err)}`);
    assert.equal(err.reason, "download_failed", err.message);
    assert.match(err.message, message);
    assert.ok(!err.message.includes(TOKEN), "the token appears in the error");
    return true;
  });
  assert.equal(existsSync(dir), false);
  assertNothingBeside(dir);
}

function goodBundle(): Buffer {
  return gzipSync(
    Buffer.concat([...expectedEntries("x").map(tarEntry), tarEntry({ name: "noise.bin", body: randomBytes(32 * 1024) }), END_OF_ARCHIVE]),
  );
}

test("a body that stalls is a download_failed error once the signal aborts", async () => {
  handlers.set("stall", (_req, res) => {
    res.writeHead(200, { "content-type": "application/gzip" });
    res.write(goodBundle().subarray(0, 100));
  });
  await assertBodyFailure("stall", /abort/i, { signal: AbortSignal.timeout(300) });
});

test("a body shorter than its Content-Length is a download_failed error", async () => {
  handlers.set("short", (_req, res) => {
    const body = goodBundle();
    res.writeHead(200, { "content-length": String(body.length) });
    res.write(body.subarray(0, body.length >> 1), () => res.socket?.end());
  });
  await assertBodyFailure("short", /bundle short of auth project proj-1/);
});

test("a connection reset mid-body is a download_failed error", async () => {
  handlers.set("reset", (req, res) => {
    const body = goodBundle();
    res.writeHead(200, { "content-type": "application/gzip" });
    res.write(body.subarray(0, body.length >> 1), () => req.socket.resetAndDestroy());
  });
  await assertBodyFailure("reset", /bundle reset of auth project proj-1/);
});

test("identifiers a URL parser treats specially are refused before any request", async () => {
  const hostile = [".", "..", "", "%2e", "%2E%2e", ".%2E", "%2f", "a/b", "a\\b", "a?b", "a#b", "a b", "a\0b", "x".repeat(300)];
  for (const field of ["authProjectId", "bundleId"] as const) {
    for (const value of hostile) {
      const seen = requests.length;
      await assert.rejects(
        fetchCredentialBundle({
          authServiceUrl: baseUrl,
          authProjectId: PROJECT,
          bundleId: "good",
          sessionDir: sessionDir(),
          [field]: value,
        }),
        (err: unknown) => {
          assert.ok(err instanceof CredentialBundleError, `${field}=${JSON.stringify(value)}: ${String(err)}`);
          assert.equal(err.reason, "invalid_identifier", `${field}=${JSON.stringify(value)}: ${err.message}`);
          assert.match(err.message, new RegExp(field));
          return true;
        },
      );
      assert.equal(requests.length, seen, `${field}=${JSON.stringify(value)} reached the auth service`);
    }
  }
});

/** Every path below `dir` that is not a directory, with what it is. */
function walk(dir: string, prefix = ""): { name: string; file: boolean }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const name = prefix + d.name;
    return d.isDirectory() ? walk(path.join(dir, d.name), `${name}/`) : [{ name, file: d.isFile() }];
  });
}

test("the file list is exactly the regular files written, each once", async () => {
  serveEntries("listed", [
    { name: "./", type: "Directory" },
    { name: ".claude/", type: "Directory" },
    { name: ".config/claude/", type: "Directory" },
    ...expectedEntries("listed").map((e) => ({ ...e, name: `./${e.name}` })),
    { name: "notes//deep/./a.txt", body: "a" },
    { name: "empty/", type: "Directory" },
  ]);
  const dir = sessionDir();
  const { files } = await fetchInto(dir, "listed");
  const written = walk(dir);
  assert.ok(
    written.every((w) => w.file),
    `only regular files: ${JSON.stringify(written)}`,
  );
  assert.deepEqual([...files].sort(), written.map((w) => w.name).sort());
  assert.equal(new Set(files).size, files.length, `no duplicates: ${files.join(", ")}`);
  assert.deepEqual([...files].sort(), [...EXPECTED_FILES, "notes/deep/a.txt"].sort());
});

test("an archive naming one path twice, or a file and a directory at one path, is refused", async () => {
  const cases: [string, RawEntry[]][] = [
    ["twice", [{ name: ".claude.json", body: "{}" }]],
    ["twice-spelled-apart", [{ name: "./.claude//settings.json", body: "{}" }]],
    [
      "file-then-dir",
      [
        { name: "notes", body: "x" },
        { name: "notes/a.txt", body: "y" },
      ],
    ],
    [
      "dir-then-file",
      [
        { name: "notes/", type: "Directory" },
        { name: "notes", body: "y" },
      ],
    ],
  ];
  for (const [id, extra] of cases) {
    serveEntries(`conflict-${id}`, [...expectedEntries(id), ...extra]);
    await assertRefused(`conflict-${id}`, "conflicting_entry", /more than once|both a file and a directory/);
  }
});

test("devices and fifos in the archive are refused", async () => {
  for (const type of ["CharacterDevice", "BlockDevice", "FIFO"] as const) {
    serveEntries(`special-${type}`, [...expectedEntries(type), { name: `dev-${type}`, type }]);
    await assertRefused(`special-${type}`, "unsupported_entry", new RegExp(`of type ${type}`));
  }
});

test("a tar.gz gzipped once more is refused, not inflated a second time past the byte counter", async () => {
  bundles.set("twice", gzipSync(gzipSync(Buffer.concat([...expectedEntries("twice").map(tarEntry), END_OF_ARCHIVE]))));
  await assertRefused("twice", "invalid_archive", /compressed twice/);
});

test("a gzip stream cut short (the connection closed cleanly) is an invalid archive", async () => {
  const whole = goodBundle();
  bundles.set("cut", whole.subarray(0, whole.length - 100));
  await assertRefused("cut", "invalid_archive", /not a readable tar\.gz/);
});

test("an auth service URL carrying credentials is refused without echoing them", async () => {
  const url = new URL(baseUrl);
  url.username = "agent";
  url.password = "hunter2-secret";
  const seen = requests.length;
  await assert.rejects(
    fetchCredentialBundle({ authServiceUrl: url.href, authProjectId: PROJECT, bundleId: "good", sessionDir: sessionDir() }),
    (err: unknown) => {
      assert.ok(err instanceof CredentialBundleError, String(err));
      assert.equal(err.reason, "invalid_url");
      assert.match(err.message, /authServiceUrl/);
      assert.ok(!err.message.includes("hunter2-secret"), err.message);
      return true;
    },
  );
  assert.equal(requests.length, seen);
});
