import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { removeTruncatedSidecars } from "../../pulumi/file-backend-repair";

test("empty .attrs sidecars of the recovered stack are removed; its files and other stacks' are left alone", async () => {
  const root = await mkdtemp(path.join(tmpdir(), "mesh-six-repair-"));
  try {
    const stacks = path.join(root, ".pulumi", "stacks", "mesh-six");
    const locks = path.join(root, ".pulumi", "locks", "organization", "mesh-six", "acme.widgets");
    await mkdir(stacks, { recursive: true });
    await mkdir(locks, { recursive: true });
    const files: Record<string, string> = {
      [path.join(stacks, "acme.widgets.json")]: "{}",
      [path.join(stacks, "acme.widgets.json.attrs")]: "",
      [path.join(stacks, "acme.widgets.json.bak.attrs")]: '{"user.content_type":"application/json"}\n',
      [path.join(locks, "1234.json.attrs")]: "",
      [path.join(stacks, "acme.gadgets.json.attrs")]: "",
    };
    for (const [file, content] of Object.entries(files)) await writeFile(file, content);

    const removed = await removeTruncatedSidecars(`file://${root}`, "acme.widgets");
    assert.deepEqual(removed.sort(), [
      path.join(".pulumi", "locks", "organization", "mesh-six", "acme.widgets", "1234.json.attrs"),
      path.join(".pulumi", "stacks", "mesh-six", "acme.widgets.json.attrs"),
    ]);
    assert.deepEqual((await readdir(stacks)).sort(), ["acme.gadgets.json.attrs", "acme.widgets.json", "acme.widgets.json.bak.attrs"]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("a backend other than the file backend is not touched", async () => {
  assert.deepEqual(await removeTruncatedSidecars("s3://bucket/state", "acme.widgets"), []);
});
