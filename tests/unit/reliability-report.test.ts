// docs/RELIABILITY.md from the fault tests' records: the tables it shows and the verdict that fails the command.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { type FaultRecord, judge, readRecords, REGENERATE, renderReliability } from "../../scripts/reliability-report";

const meta = { date: "2026-11-26T10:00Z", machine: "2 × test cpu, commit abc1234" };

const killed: FaultRecord = {
  fault: "server killed during up",
  injected: "SIGKILL mid-up",
  outcome: "recovered, succeeded",
  runs: { accepted: 3, accounted: 3 },
  logLines: 120,
  secretsInLogs: 0,
  durationMs: 41_500,
};

const hostile: FaultRecord = {
  fault: "hostile requests",
  injected: "1200 hostile requests",
  outcome: "all refused",
  runs: { accepted: 0, accounted: 0 },
  deliveries: { accepted: 1, accounted: 1 },
  tasks: { accepted: 2, accounted: 2 },
  requests: { sent: 1200, byStatus: { "413": 100, "400": 700, "401": 400 } },
  logLines: 300,
  secretsInLogs: 0,
  durationMs: 30_000,
};

test("a clean run passes and shows both tables, the machine and the command that regenerates them", () => {
  const verdict = judge([killed, hostile]);
  assert.deepEqual(verdict, { ok: true, problems: [] });
  const doc = renderReliability([killed, hostile], verdict, meta);
  assert.match(doc, /never edited by hand/);
  assert.ok(doc.includes(`\`${REGENERATE}\``));
  assert.ok(doc.includes(meta.machine) && doc.includes(meta.date));
  assert.match(doc, /\*\*Verdict: pass\*\*/);
  assert.match(doc, /## Faults\n\n\| fault \| injected \| outcome \| runs accepted \/ accounted/);
  assert.match(
    doc,
    /\| server killed during up \| SIGKILL mid-up \| recovered, succeeded \| 3 \/ 3 \| — \| — \| — \| 0 in 120 lines \| 41\.5 s \|/,
  );
  assert.match(doc, /\| hostile requests \| .* \| 0 \/ 0 \| 1 \/ 1 \| 2 \/ 2 \| 1200 \(400: 700, 401: 400, 413: 100\) \|/);
  // The second table: one column per status, in order.
  assert.match(
    doc,
    /## Answers by status[\s\S]*\| fault \| sent \| 400 \| 401 \| 413 \|\n[^\n]*\n\| hostile requests \| 1200 \| 700 \| 400 \| 100 \|/,
  );
});

test("a run accepted but not found in the database fails the verdict, naming the fault", () => {
  const lost = { ...killed, runs: { accepted: 3, accounted: 2 } };
  const verdict = judge([lost, hostile]);
  assert.equal(verdict.ok, false);
  assert.deepEqual(verdict.problems, ["server killed during up: 1 of 3 accepted runs not accounted for"]);
  assert.match(renderReliability([lost, hostile], verdict, meta), /\*\*Verdict: FAIL\*\* — server killed during up: 1 of 3 accepted runs/);
});

test("a lost delivery or task fails the verdict too", () => {
  const verdict = judge([{ ...hostile, deliveries: { accepted: 5, accounted: 4 }, tasks: { accepted: 2, accounted: 0 } }]);
  assert.deepEqual(verdict.problems, [
    "hostile requests: 1 of 5 accepted deliveries not accounted for",
    "hostile requests: 2 of 2 accepted tasks not accounted for",
  ]);
});

test("a secret in a log line fails the verdict", () => {
  const verdict = judge([{ ...killed, secretsInLogs: 1 }]);
  assert.deepEqual(verdict.problems, ["server killed during up: 1 log line(s) held a secret"]);
});

test("no records, or a failed fault tier, fail the verdict", () => {
  assert.deepEqual(judge([]).problems, ["no fault test recorded a result"]);
  assert.deepEqual(judge([killed], 1).problems, ["the fault tier failed (exit 1); its output says which test"]);
});

test("a pipe in a fault's text does not break the table", () => {
  const doc = renderReliability([{ ...killed, outcome: "a | b" }], judge([killed]), meta);
  assert.match(doc, /\| a \\\| b \|/);
});

test("records are read from their directory, and a malformed one is refused", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "reliability-"));
  try {
    writeFileSync(path.join(dir, "server-killed.json"), JSON.stringify({ ...killed, recordedAt: "2026-11-26T10:00:00Z" }));
    assert.deepEqual(
      readRecords(dir).map((r) => r.fault),
      ["server killed during up"],
    );
    writeFileSync(path.join(dir, "broken.json"), JSON.stringify({ fault: "x", runs: { accepted: -1 } }));
    assert.throws(() => readRecords(dir), /broken\.json: not a fault record/);
    assert.deepEqual(readRecords(path.join(dir, "missing")), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
