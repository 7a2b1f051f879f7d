import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type NtfyEmulator, startNtfyEmulator } from "../../emulators/ntfy/server";
import type { ClaimedDelivery } from "../../notify/delivery-store";
import { messageText, ntfyRequest } from "../../notify/messages";

// The ntfy stand-in answers "publish as JSON" as ntfy's docs describe it (docs.ntfy.sh/publish/#publish-as-json, and
// the errors of its server), and the notifier's ntfy request is one it takes.

let ntfy: NtfyEmulator;
before(async () => {
  ntfy = await startNtfyEmulator();
});
after(() => ntfy.close());

const publish = (body: string, path = "/") => fetch(`${ntfy.url}${path}`, { method: "POST", body });

test("the documented example is published and answered as the message a subscriber would get", async () => {
  const example = {
    topic: "mytopic",
    message: "Disk space is low at 5.1 GB",
    title: "Low disk space alert",
    tags: ["warning", "cd"],
    priority: 4,
    click: "https://homecamera.lan/xasds1h2xsSsa/",
  };
  const res = await publish(JSON.stringify(example));
  assert.equal(res.status, 200);
  const message = (await res.json()) as Record<string, unknown>;
  assert.match(String(message.id), /^[A-Za-z0-9_-]{12}$/);
  assert.equal(message.event, "message");
  assert.ok(Number(message.expires) > Number(message.time));
  assert.deepEqual(
    { ...message, id: undefined, time: undefined, expires: undefined, event: undefined },
    {
      ...example,
      id: undefined,
      time: undefined,
      expires: undefined,
      event: undefined,
    },
  );
  const listed = (await (await fetch(`${ntfy.url}/_emulator/messages?topic=mytopic`)).json()) as { messages: { message: unknown }[] };
  assert.deepEqual(listed.messages.at(-1)?.message, message);
  // The topic is the only required field; an empty message is "triggered".
  assert.equal(((await (await publish('{"topic":"bare"}')).json()) as { message: string }).message, "triggered");
});

test("what ntfy refuses is refused with its error codes", async () => {
  const refused = async (body: string, code: number) => {
    const res = await publish(body);
    assert.equal(res.status, 400);
    const json = (await res.json()) as { code: number; http: number; error: string; link: string };
    assert.equal(json.code, code);
    assert.equal(json.http, 400);
    assert.equal(typeof json.error, "string");
  };
  await refused("not json", 40017);
  await refused('["topic"]', 40017);
  await refused('{"message":"no topic"}', 40009);
  await refused('{"topic":"has spaces"}', 40009);
  await refused(JSON.stringify({ topic: "a".repeat(65) }), 40009);
  await refused('{"topic":"t","priority":6}', 40007);
  // Only the root publish the notifier uses is served: a JSON body POSTed to a topic's URL is, for ntfy, a plain
  // message whose text is that JSON, which is not what the notifier means to send.
  assert.equal((await publish('{"topic":"t"}', "/t")).status, 404);
});

test("the notifier's ntfy request is a JSON publish to the root, the link as its click action", async () => {
  const delivery: ClaimedDelivery = {
    id: "1",
    deliveryId: "8d4c5cf8-4f5b-4a8e-9a57-6a2f6ac7f6d1",
    attempt: 1,
    subscriptionId: "4c7e1f4e-8b8e-4a58-9d3e-7e0f0c9c2b11",
    channel: "ntfy",
    url: `${ntfy.url}/`,
    topic: "mesh-six-ops",
    kind: "run.failed",
    owner: "acme",
    repo: "widgets",
    title: "onboard of acme/widgets failed",
    path: "/v1/runs/0b0c2a8e-64a3-4d5e-8f51-3f1c7f0a7f11",
    data: { failedStep: "up", reason: "the cluster said no" },
    occurredAt: new Date(),
  };
  const req = ntfyRequest(delivery, "https://mesh-six.example/");
  assert.equal(req.url, `${ntfy.url}/`, "the server's root, one slash");
  const res = await fetch(req.url, { method: "POST", headers: req.headers, body: req.body });
  assert.equal(res.status, 200);
  const message = (await res.json()) as Record<string, unknown>;
  assert.equal(message.topic, "mesh-six-ops");
  assert.equal(message.title, "onboard of acme/widgets failed");
  assert.equal(message.message, messageText(delivery));
  assert.equal(message.message, "step up: the cluster said no");
  assert.equal(message.click, "https://mesh-six.example/v1/runs/0b0c2a8e-64a3-4d5e-8f51-3f1c7f0a7f11");
  assert.equal(message.priority, 4);
  assert.deepEqual(message.tags, ["x"]);
});
