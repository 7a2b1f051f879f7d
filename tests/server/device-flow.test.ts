import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import {
  type DeviceFlowConfig,
  DeviceFlowError,
  deliverCredentials,
  pollForToken,
  promptFor,
  requestDeviceAuthorization,
} from "../../clients/device-flow";
import { startAuthorizationServer, startAuthService } from "../../testkit/oauth-server";

// The RFC's 5-second interval, shrunk: one "second" of interval is this many milliseconds here.
const SECOND_MS = 20;

async function rejection(promise: Promise<unknown>): Promise<DeviceFlowError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof DeviceFlowError, `expected a DeviceFlowError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected the device flow to fail");
}

test("the device authorization response is exposed, and an approved device gets its token", async () => {
  const as = await startAuthorizationServer();
  try {
    const device = await requestDeviceAuthorization(as.config);
    assert.match(device.userCode, /^[A-Z]{4}-[A-Z]{4}$/);
    assert.ok(device.verificationUri.endsWith("/device"));
    assert.ok(
      device.verificationUriComplete?.includes(encodeURIComponent(device.userCode)) ||
        device.verificationUriComplete?.includes(device.userCode),
    );
    assert.equal(device.interval, 5, "the RFC's default when the server names none");
    const prompt = promptFor(device, Date.parse("2026-01-01T00:00:00Z"));
    assert.equal(prompt.expiresAt, new Date(Date.parse("2026-01-01T00:00:00Z") + device.expiresIn * 1000).toISOString());
    assert.ok(!JSON.stringify(prompt).includes(device.deviceCode), "the prompt never carries the device code");

    await as.approve(device.verificationUriComplete!);
    const waits: number[] = [];
    const token = await pollForToken(as.config, device, { secondMs: SECOND_MS, onWait: (s) => waits.push(s) });
    assert.equal(token.token_type, "Bearer");
    assert.equal(typeof token.access_token, "string");
    assert.deepEqual(waits, [5], "one request after one interval");
  } finally {
    await as.close();
  }
});

test("authorization_pending keeps polling at the interval until the user approves", async () => {
  const as = await startAuthorizationServer();
  try {
    const device = await requestDeviceAuthorization(as.config);
    let approving: Promise<void> | undefined;
    const waits: number[] = [];
    const token = await pollForToken(as.config, device, {
      secondMs: SECOND_MS,
      onWait: (s) => {
        waits.push(s);
        // Two pending answers first, then the user turns up.
        if (waits.length === 3) approving = as.approve(device.verificationUriComplete!);
      },
    });
    await approving;
    assert.ok(waits.length >= 3, `polled ${waits.length} times`);
    assert.ok(
      waits.every((s) => s === 5),
      "pending never changes the interval",
    );
    assert.equal(token.token_type, "Bearer");
  } finally {
    await as.close();
  }
});

test("slow_down adds 5 seconds to the interval for every later request", async () => {
  const requests: { at: number; body: URLSearchParams }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
      res.setHeader("content-type", "application/json");
      if (req.url === "/device") {
        res.end(
          JSON.stringify({
            device_code: "dc-1",
            user_code: "ABCD-EFGH",
            verification_uri: "https://as.example/device",
            expires_in: 60,
            interval: 1,
          }),
        );
        return;
      }
      requests.push({ at: Date.now(), body });
      const answers = ["slow_down", "authorization_pending"];
      const error = answers[requests.length - 1];
      if (error) res.writeHead(400).end(JSON.stringify({ error }));
      else res.end(JSON.stringify({ access_token: "at-1", token_type: "Bearer", expires_in: 60 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const cfg: DeviceFlowConfig = { deviceAuthorizationUrl: `${base}/device`, tokenUrl: `${base}/token`, clientId: "c" };
  try {
    const device = await requestDeviceAuthorization(cfg);
    assert.equal(device.interval, 1);
    const waits: number[] = [];
    const token = await pollForToken(cfg, device, { secondMs: SECOND_MS, onWait: (s) => waits.push(s) });
    assert.equal(token.access_token, "at-1");
    assert.deepEqual(waits, [1, 6, 6]);
    assert.ok(requests[1].at - requests[0].at >= 6 * SECOND_MS - 2, `waited ${requests[1].at - requests[0].at} ms after slow_down`);
    for (const r of requests) {
      assert.equal(r.body.get("grant_type"), "urn:ietf:params:oauth:grant-type:device_code");
      assert.equal(r.body.get("device_code"), "dc-1");
      assert.equal(r.body.get("client_id"), "c");
    }
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test("expired_token from the server ends the grant with a clear reason", async () => {
  const as = await startAuthorizationServer({ deviceCodeTtlS: 1 });
  try {
    const device = await requestDeviceAuthorization(as.config);
    const err = await rejection(pollForToken(as.config, device, { secondMs: SECOND_MS }));
    assert.equal(err.code, "expired_token");
    assert.match(err.message, new RegExp(`user code ${device.userCode} expired before the user approved it`));
    assert.match(err.message, /device code is expired/, "the server's own answer, not our clock");
  } finally {
    await as.close();
  }
});

test("access_denied (the user aborts on the verification page) ends the grant", async () => {
  const as = await startAuthorizationServer();
  try {
    const device = await requestDeviceAuthorization(as.config);
    let denying: Promise<void> | undefined;
    let polls = 0;
    const err = await rejection(
      pollForToken(as.config, device, {
        secondMs: SECOND_MS,
        onWait: () => {
          if (++polls === 2) denying = as.deny(device.verificationUriComplete!);
        },
      }),
    );
    await denying;
    assert.equal(err.code, "access_denied");
    assert.match(err.message, /the user denied the authorization request/);
  } finally {
    await as.close();
  }
});

test("an unknown client is refused at the device authorization request", async () => {
  const as = await startAuthorizationServer();
  try {
    const err = await rejection(requestDeviceAuthorization({ ...as.config, clientId: "nobody" }));
    assert.equal(err.code, "invalid_client");
    assert.match(err.message, /HTTP 40\d/);
  } finally {
    await as.close();
  }
});

test("an aborted poll stops at once with the signal's reason", async () => {
  const as = await startAuthorizationServer();
  try {
    const device = await requestDeviceAuthorization(as.config);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("cancelled by request")), 3 * 5 * SECOND_MS);
    await assert.rejects(pollForToken(as.config, device, { secondMs: SECOND_MS, signal: controller.signal }), /cancelled by request/);
  } finally {
    await as.close();
  }
});

test("credentials are delivered to the auth service under the project; a refusal does not echo the token", async () => {
  const service = await startAuthService();
  try {
    const token = { access_token: "secret-access", token_type: "Bearer", refresh_token: "secret-refresh", expires_in: 60 };
    await deliverCredentials(service.url, "proj/1", token);
    assert.equal(service.received.length, 1);
    assert.equal(service.received[0].path, "POST /projects/proj%2F1/credentials");
    assert.deepEqual(service.received[0].body.token, token);
    service.failWith = 500;
    await assert.rejects(
      deliverCredentials(service.url, "p", token),
      (err: Error) => /HTTP 500/.test(err.message) && !err.message.includes("secret-"),
    );
  } finally {
    await service.close();
  }
});
