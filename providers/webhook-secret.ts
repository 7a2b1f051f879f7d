import * as pulumi from "@pulumi/pulumi";
import { WEBHOOK_SECRET } from "../domain/resource-types";
import { requireStrings, withDefaults } from "./check";
import { TypedDynamicResource, dynamicProvider } from "./typed-resource";

export interface WebhookSecretArgs {
  /** Any value; changing it replaces the secret with a new random one. @default "initial" */
  readonly rotation?: pulumi.Input<string>;
}

interface SecretInputs {
  rotation: string;
}

interface SecretOutputs extends SecretInputs {
  value: string;
}

const SECRET_DEFAULTS = { rotation: "initial" };

dynamicProvider<SecretInputs, SecretOutputs>(WEBHOOK_SECRET, {
  async check(_olds: SecretInputs, news: Partial<SecretInputs>) {
    const inputs = withDefaults(news, SECRET_DEFAULTS);
    return { inputs, failures: requireStrings<SecretInputs>(inputs, ["rotation"]) };
  },
  async create(inputs: SecretInputs) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- runs in the dynamic-provider process
    const { randomBytes } = require("node:crypto") as typeof import("node:crypto");
    const value = randomBytes(32).toString("hex");
    return { id: randomBytes(8).toString("hex"), outs: { rotation: inputs.rotation, value } };
  },
  async diff(_id: string, olds: SecretOutputs, news: SecretInputs) {
    const changed = olds.rotation !== news.rotation;
    return { changes: changed, replaces: changed ? ["rotation"] : [], deleteBeforeReplace: false };
  },
});

/**
 * A random HMAC secret for a GitHub webhook (32 random bytes, hex), generated inside the dynamic provider so it never
 * appears in the program or its config. (Generating it here also saves building the random provider.) Adopts nothing.
 * `value` is a Pulumi secret, in the state and wherever it is passed on; nothing else about it is output.
 */
export class WebhookSecret extends TypedDynamicResource {
  declare public readonly value: pulumi.Output<string>;

  constructor(name: string, args: WebhookSecretArgs, opts?: pulumi.CustomResourceOptions) {
    super(WEBHOOK_SECRET, name, { ...args, value: undefined }, { ...opts, additionalSecretOutputs: ["value"] });
  }
}
