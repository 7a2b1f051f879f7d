import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { DynamicResourceType } from "../domain/resource-types";
import { SERIALIZED_PROVIDERS_FILE } from "../lib/build-fingerprint";

/**
 * mesh-six's dynamic resources: each provider object is defined once under its type token from
 * domain/resource-types.ts (the one the policy pack and the tests match on), and each resource registers as
 * pulumi.dynamic.Resource does, `pulumi-nodejs:dynamic/<module>:<kind>` with the provider's serialized text as its
 * `__provider` input, the text the dynamic-provider process loads.
 *
 * That text is made by the build (`npm run build`: dist/providers/serialized-providers.json, pulumi/program-build.ts)
 * rather than at every run: serializing the providers took the program about a second of CPU and TypeScript's
 * parser in memory at each run (docs/BENCHMARKS.md, section timeline). Run from the sources (the unit tests, under
 * mocks) there is no such file beside this module, and each provider is serialized when first used, as Pulumi's
 * SDK does. Either way the text is the one `pulumi.runtime.serializeFunction` makes of the provider object
 * (tests/unit/program-build.test.ts compares the two).
 */

const providers = new Map<string, pulumi.dynamic.ResourceProvider>();

/** Defines the provider of a type: the object serialized into the dynamic-provider process, never the class. */
export function dynamicProvider<Inputs, Outputs>(
  type: DynamicResourceType,
  provider: pulumi.dynamic.ResourceProvider<Inputs, Outputs>,
): pulumi.dynamic.ResourceProvider<Inputs, Outputs> {
  if (providers.has(type.token)) throw new Error(`a second provider for ${type.token}`);
  providers.set(type.token, provider as pulumi.dynamic.ResourceProvider);
  return provider;
}

/** Every provider defined by the modules loaded so far, by type token (for the build). */
export function definedProviders(): ReadonlyMap<string, pulumi.dynamic.ResourceProvider> {
  return providers;
}

/** The text the dynamic-provider process loads for this provider, as Pulumi's SDK makes it. */
export async function serializeProvider(token: string, provider: pulumi.dynamic.ResourceProvider): Promise<string> {
  const { text, containsSecrets } = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
  // The SDK would keep such a text secret; a provider of ours has no business capturing a secret at all.
  if (containsSecrets) throw new Error(`the provider of ${token} captures a secret: pass it as an input instead`);
  return text;
}

let built: Record<string, string> | undefined | null = null;
const serializing = new Map<string, Promise<string>>();

function serializedText(token: string): pulumi.Input<string> {
  if (built === null) {
    const file = path.join(__dirname, SERIALIZED_PROVIDERS_FILE);
    built = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, string>) : undefined;
  }
  if (built) {
    const text = built[token];
    if (text === undefined) throw new Error(`${token} is not in the build's ${SERIALIZED_PROVIDERS_FILE}: run npm run build`);
    return text;
  }
  const provider = providers.get(token);
  if (!provider) throw new Error(`no provider is defined for ${token}`);
  let text = serializing.get(token);
  if (!text) serializing.set(token, (text = serializeProvider(token, provider)));
  return text;
}

export abstract class TypedDynamicResource extends pulumi.CustomResource {
  constructor(type: DynamicResourceType, name: string, props: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
    if ("__provider" in props) throw new Error("a dynamic resource must not define the __provider key");
    super(type.token, name, { ...props, __provider: serializedText(type.token) }, opts);
  }
}
