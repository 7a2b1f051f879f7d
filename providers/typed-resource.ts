import * as pulumi from "@pulumi/pulumi";
import type { DynamicResourceType } from "../domain/resource-types";

/**
 * A dynamic resource registered under its type token from domain/resource-types.ts, the one the policy pack and the
 * tests match on. Only the provider object is serialized into the dynamic-provider process, never this class.
 */
export abstract class TypedDynamicResource extends pulumi.dynamic.Resource {
  constructor(
    type: DynamicResourceType,
    provider: pulumi.dynamic.ResourceProvider,
    name: string,
    props: pulumi.Inputs,
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(provider, name, props, opts, type.module, type.kind);
  }
}
