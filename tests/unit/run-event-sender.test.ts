import assert from "node:assert/strict";
import { test } from "node:test";
import { RunEventSender } from "../../pulumi/run-event-sender";
import type { RunEvent } from "../../domain/runs";
import { captureLogs, logEntries, logMessages } from "../../testkit/log-capture";

const refused = () => Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
const log = (n: number): RunEvent => ({ type: "log", message: `event ${n}` });

/** An emit that records what reached the "database", failing while `down()` says so. */
function database(down: () => boolean) {
  const recorded: string[] = [];
  let calls = 0;
  const emit = async (event: RunEvent) => {
    calls++;
    if (down()) throw refused();
    recorded.push(event.type === "log" ? event.message : event.type);
  };
  return { emit, recorded, calls: () => calls };
}

const fast = { startingDelayMs: 1, maxDelayMs: 5 };

test("events sent while the database is away are held and recorded in order once it answers again", async () => {
  let failures = 3;
  const db = database(() => failures-- > 0);
  const captured = captureLogs();
  const lines = () => logMessages(captured.lines);
  const sender = new RunEventSender(db.emit, { ...fast, log: captured.log });
  for (let i = 1; i <= 5; i++) void sender.send(log(i));
  await sender.flush();
  assert.deepEqual(db.recorded, ["event 1", "event 2", "event 3", "event 4", "event 5"]);
  assert.equal(db.calls(), 8, "the head event was tried 4 times, the others once");
  assert.equal(lines().filter((l) => l.startsWith("run event not recorded")).length, 0);
  assert.match(lines()[0], /^run events held while the database is unavailable: connect ECONNREFUSED/);
  assert.match(lines()[1], /^run events recorded again after \d+ ms \(5 held\)$/);
});

test("an error that is not the database being away is not retried: that event is dropped, the next one recorded", async () => {
  const recorded: string[] = [];
  let calls = 0;
  const captured = captureLogs();
  const lines = () => logMessages(captured.lines);
  const sender = new RunEventSender(
    async (event) => {
      calls++;
      if (event.type === "log" && event.message === "event 1") throw Object.assign(new Error("invalid byte sequence"), { code: "22021" });
      recorded.push(event.type);
    },
    { ...fast, log: captured.log },
  );
  void sender.send(log(1));
  await sender.send({ type: "step", step: "up" });
  assert.equal(calls, 2);
  assert.deepEqual(recorded, ["step"]);
  assert.deepEqual(lines(), ["run event not recorded (log): invalid byte sequence"]);
  assert.deepEqual(
    logEntries(captured.lines).map((e) => e.level),
    ["error"],
  );
});

test("past the hold, events are dropped without each waiting the hold again, and recording resumes when the database does", async () => {
  let down = true;
  const db = database(() => down);
  const captured = captureLogs();
  const lines = () => logMessages(captured.lines);
  const sender = new RunEventSender(db.emit, { ...fast, holdForMs: 30, log: captured.log });
  const started = Date.now();
  for (let i = 1; i <= 20; i++) void sender.send(log(i));
  await sender.flush();
  const dropped = lines().filter((l) => l.startsWith("run event not recorded (log): connect ECONNREFUSED")).length;
  assert.equal(dropped, 20);
  assert.ok(db.calls() < 20 + 30, `the 19 events behind the first were tried once each (${db.calls()} calls)`);
  assert.ok(Date.now() - started < 20 * 30, "one hold for the whole outage, not one per event");
  down = false;
  await sender.send(log(21));
  assert.deepEqual(db.recorded, ["event 21"]);
  assert.match(lines().at(-1) ?? "", /^run events recorded again after \d+ ms \(1 held\)$/);
});

test("once the run's signal fires, events stop waiting for the database", async () => {
  const db = database(() => true);
  const captured = captureLogs();
  const lines = () => logMessages(captured.lines);
  const controller = new AbortController();
  const sender = new RunEventSender(db.emit, { ...fast, holdForMs: 60_000, signal: controller.signal, log: captured.log });
  const sent = sender.send(log(1));
  setTimeout(() => controller.abort(), 20);
  await sent;
  assert.ok(controller.signal.aborted);
  assert.deepEqual(lines().slice(-1), ["run event not recorded (log): connect ECONNREFUSED 127.0.0.1:5432"]);
});
