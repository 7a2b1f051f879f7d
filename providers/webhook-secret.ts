import * as pulumi from "@pulumi/pulumi";

/**
 * A random HMAC secret for a GitHub webhook, generated inside the dynamic provider so it never appears in the
 * program or its config, and kept as a Pulumi secret in the state. (Generating it here also saves building the
 * random provider.) Change `rotation` to get a new value.
 */
export interface WebhookSecretArgs {
  /** Any value; changing it replaces the secret. */
  rotation?: pulumi.Input<string>;
}

interface SecretInputs {
  rotation: string;
}

const webhookSecretProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: SecretInputs) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- runs in the dynamic-provider process
    const { randomBytes } = require("node:crypto") as typeof import("node:crypto");
    const value = randomBytes(32).toString("hex");
    return { id: randomBytes(8).toString("hex"), outs: { rotation: inputs.rotation, value } };
  },
  async diff(_id: string, olds: SecretInputs, news: SecretInputs) {
    const changed = olds.rotation !== news.rotation;
    return { changes: changed, replaces: changed ? ["rotation"] : [], deleteBeforeReplace: false };
  },
};

export class WebhookSecret extends pulumi.dynamic.Resource {
  declare public readonly value: pulumi.Output<string>;

  constructor(name: string, args: WebhookSecretArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      webhookSecretProvider,
      name,
      { rotation: args.rotation ?? "initial", value: undefined },
      { ...opts, additionalSecretOutputs: ["value"] },
      "github",
      "WebhookSecret",
    );
  }
}
