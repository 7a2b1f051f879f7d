import assert from "node:assert/strict";
import Module from "node:module";
import * as pulumi from "@pulumi/pulumi";

/**
 * Pulumi's mocks (pulumi.runtime.setMocks) with a recorder of what a program declares, for the tests that run
 * components and stack programs without an engine. A dynamic resource is checked as the engine checks it: its
 * serialized provider (the `__provider` input, the text the dynamic-provider process loads) is loaded and its check()
 * run on the inputs, secrets unwrapped as the engine hands them to a dynamic provider, so what is recorded, and the
 * state the mocks answer with, are the inputs create() would be given. What check() refuses is recorded in `failures`
 * rather than thrown, for the tests to judge.
 *
 * A program's modules must be loaded after mockPulumi(), so that their resources register with the mocks.
 */

/* eslint-disable @typescript-eslint/no-explicit-any -- resource inputs are any shape; the tests read them as they expect */
export interface Registered {
  type: string;
  name: string;
  inputs: Record<string, any>;
  /** What the dynamic provider's check() refused; empty for a resource that passed or is not dynamic. */
  failures: pulumi.dynamic.CheckFailure[];
}
/* eslint-enable @typescript-eslint/no-explicit-any */

export interface MockOptions {
  /** @default "mesh-six" */
  readonly project?: string;
  readonly stack: string;
  /** The stack's config as the language host hands it to the program (`<namespace>:<key>` → string). @default none */
  readonly config?: Record<string, string>;
  /** The state a resource reports once created. @default its (checked) inputs */
  readonly state?: (resource: Registered) => Record<string, unknown>;
}

export interface MockedPulumi {
  /** Every resource declared so far, in the order the mocks saw them. */
  readonly registered: Registered[];
  ofType(type: string): Registered[];
  /** The one resource of `type` (named `name`, if given); fails the test when there is not exactly one. */
  one(type: string, name?: string): Registered;
  /** Resolves once the program has stopped declaring resources (registrations chain on promises, not timers). */
  settled(): Promise<void>;
  /** Resolves once `predicate` holds of what is registered; fails after `timeoutMs`. @default timeoutMs 2000 */
  until(predicate: (registered: Registered[]) => boolean, timeoutMs?: number): Promise<void>;
}

const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

function isSecret(value: unknown): value is { value: unknown } {
  return value !== null && typeof value === "object" && (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG;
}

/** The value with every secret replaced by what it holds: a dynamic provider does not accept secrets. */
function unwrapSecrets(value: unknown): unknown {
  if (isSecret(value)) return unwrapSecrets(value.value);
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

const loadedProviders = new Map<string, pulumi.dynamic.ResourceProvider>();

/** The provider a serialized `__provider` holds, loaded as the dynamic-provider process loads it. */
function loadProvider(serialized: string): pulumi.dynamic.ResourceProvider {
  let provider = loadedProviders.get(serialized);
  if (!provider) {
    const loader = Module as unknown as { _nodeModulePaths(dir: string): string[] };
    const mod = new Module("__provider", undefined) as Module & { _compile(code: string, filename: string): void };
    mod.paths = loader._nodeModulePaths(process.cwd());
    mod._compile(serialized, "__provider.js");
    provider = (mod.exports as { handler(): pulumi.dynamic.ResourceProvider }).handler();
    loadedProviders.set(serialized, provider);
  }
  return provider;
}

/** The provider of a recorded dynamic resource, loaded from its serialized `__provider` as the engine loads it. */
export function dynamicProviderOf(resource: Registered): pulumi.dynamic.ResourceProvider {
  const serialized = resource.inputs.__provider;
  if (typeof serialized !== "string") throw new Error(`${resource.type} ${resource.name} is not a dynamic resource`);
  return loadProvider(serialized);
}

/** A dynamic resource's inputs after its provider's check(), with the secrets it was given kept secret. */
async function checked(inputs: Record<string, unknown>): Promise<Pick<Registered, "inputs" | "failures">> {
  const serialized = inputs.__provider;
  if (typeof serialized !== "string") return { inputs, failures: [] };
  const provider = loadProvider(serialized);
  if (!provider.check) return { inputs, failures: [] };
  const result = await provider.check({}, unwrapSecrets(inputs));
  const out: Record<string, unknown> = { ...(result.inputs ?? inputs), __provider: serialized };
  for (const [key, value] of Object.entries(inputs)) {
    if (isSecret(value) && key in out) out[key] = { [SECRET_SIG_KEY]: SECRET_SIG, value: out[key] };
  }
  return { inputs: out, failures: [...(result.failures ?? [])] };
}

export function mockPulumi(options: MockOptions): MockedPulumi {
  const registered: Registered[] = [];
  if (options.config) pulumi.runtime.setAllConfig(options.config);
  void pulumi.runtime.setMocks(
    {
      async newResource(args) {
        const resource: Registered = { type: args.type, name: args.name, ...(await checked(args.inputs)) };
        registered.push(resource);
        return { id: `${args.name}-id`, state: options.state?.(resource) ?? resource.inputs };
      },
      call: (args) => args.inputs,
    },
    options.project ?? "mesh-six",
    options.stack,
    false,
  );
  const ofType = (type: string) => registered.filter((r) => r.type === type);
  return {
    registered,
    ofType,
    one(type, name) {
      const found = ofType(type).filter((r) => name === undefined || r.name === name);
      assert.equal(found.length, 1, `expected one ${type}${name === undefined ? "" : ` named ${name}`}, found ${found.length}`);
      return found[0];
    },
    async settled() {
      let stableTurns = 0;
      let seen = -1;
      while (stableTurns < 3) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        stableTurns = registered.length === seen ? stableTurns + 1 : 0;
        seen = registered.length;
      }
    },
    async until(predicate, timeoutMs = 2000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(registered)) {
        if (Date.now() > deadline) throw new Error(`the program did not declare what was awaited within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

/** The value an output resolves to. */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

/** The value with every output in it, however deep, resolved. */
export async function resolveDeep(value: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) return resolveDeep(await valueOf(value as pulumi.Output<unknown>));
  if (Array.isArray(value)) return Promise.all(value.map(resolveDeep));
  if (value && typeof value === "object") {
    const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await resolveDeep(v)] as const));
    return Object.fromEntries(entries);
  }
  return value;
}
