import assert from "node:assert/strict";
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import * as tar from "tar";
import { CredentialBundleError, EXPECTED_FILES, fetchCredentialBundle } from "../../agent/credentials";

const PROJECT = "proj-1";
const bundles = new Map<string, Buffer>();
let server: Server;
let baseUrl: string;
const seenAuth: (string | undefined)[] = [];
const work = mkdtempSync(path.join(tmpdir(), "agent-creds-"));

before(async () => {
  server = createServer((req, res) => {
    seenAuth.push(req.headers.authorization);
    const match = /^\/projects\/([^/]+)\/provision\/([^/]+)$/.exec(req.url ?? "");
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

/** Asserts the fetch failed with `reason` and left neither the session dir nor scratch dirs behind. */
async function assertRefused(id: string, reason: CredentialBundleError["reason"], message: RegExp, limits?: { maxBytes?: number; maxEntries?: number }) {
  const dir = sessionDir();
  await assert.rejects(
    fetchCredentialBundle({ authServiceUrl: baseUrl, authProjectId: PROJECT, bundleId: id, sessionDir: dir, limits }),
    (err: unknown) => {
      assert.ok(err instanceof CredentialBundleError, String(err));
      assert.equal(err.reason, reason, err.message);
      assert.match(err.message, message);
      return true;
    },
  );
  assert.equal(existsSync(dir), false, "the session dir must not exist");
  assert.deepEqual(readdirSync(path.dirname(dir)), [], "nothing may be left beside the session dir");
}

test("a good bundle lands in the session dir with files 0600 and directories 0700", async () => {
  serveBundle("good", bundleTree({ "notes/readme.txt": "hi" }), ["."]);
  const dir = sessionDir();
  const result = await fetchCredentialBundle({ authServiceUrl: `${baseUrl}/`, authProjectId: PROJECT, bundleId: "good", sessionDir: dir, token: "tok-123" });
  assert.equal(seenAuth.at(-1), "Bearer tok-123");
  assert.deepEqual([...result.files].sort(), [...EXPECTED_FILES, "notes/readme.txt"].sort());
  for (const file of EXPECTED_FILES) {
    assert.equal(readFileSync(path.join(dir, file), "utf8"), `{"file":"${file}"}`);
    assert.equal(statSync(path.join(dir, file)).mode & 0o777, 0o600, file);
  }
  for (const sub of ["", ".claude", ".config", ".config/claude", "notes"]) {
    assert.equal(statSync(path.join(dir, sub)).mode & 0o777, 0o700, sub || "(session dir)");
  }
  assert.deepEqual(readdirSync(path.dirname(dir)), ["session"], "no scratch dir is left behind");
});

test("a new bundle replaces an existing session dir as a whole", async () => {
  serveBundle("replace", bundleTree(), ["."]);
  const dir = sessionDir();
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "stale.txt"), "old");
  await fetchCredentialBundle({ authServiceUrl: baseUrl, authProjectId: PROJECT, bundleId: "replace", sessionDir: dir });
  assert.equal(existsSync(path.join(dir, "stale.txt")), false);
  assert.equal(existsSync(path.join(dir, ".claude.json")), true);
  assert.deepEqual(readdirSync(path.dirname(dir)), ["session"]);
});

test("a refused bundle leaves an existing session dir unchanged", async () => {
  const src = bundleTree();
  symlinkSync("/etc/passwd", path.join(src, "link"));
  serveBundle("keep-old", src, ["."]);
  const dir = sessionDir();
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "stale.txt"), "old");
  await assert.rejects(fetchCredentialBundle({ authServiceUrl: baseUrl, authProjectId: PROJECT, bundleId: "keep-old", sessionDir: dir }), CredentialBundleError);
  assert.deepEqual(readdirSync(dir), ["stale.txt"]);
  assert.deepEqual(readdirSync(path.dirname(dir)), ["session"]);
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
