# shellcheck shell=bash disable=SC2034 # sourced: the variables are used by the scripts that source it
# Pinned versions of everything scripts/bootstrap builds. Sourced, not executed.
# The npm SDK versions in package.json must match the CLI and plugin versions here
# (tests/unit/toolchain-versions.test.ts checks it).

# The Pulumi CLI. @pulumi/pulumi 3.249+ needs Node 22, which this platform does not have.
PULUMI_VERSION=3.248.0

# pulumi-kubernetes: the provider module is untagged below provider/, so the proxy serves it as a
# pseudo-version; f47bc2d6f199 is the commit tagged v4.25.0 upstream.
KUBERNETES_PLUGIN_VERSION=4.25.0
KUBERNETES_PLUGIN_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199

# The sandbox's Kubernetes control plane, etcd, the node simulator and the Vault-API server.
KUBERNETES_VERSION=1.36.3
ETCD_VERSION=3.6.8
KWOK_VERSION=0.8.0
VAULT_VERSION=1.21.4
# The published Vault sdk its go.mod names (scripts/bootstrap adapts three call sites to it).
VAULT_SDK_VERSION=0.21.0

# The sandbox's S3-compatible store and its standalone IAM service (per-repo storage prefixes).
VERSITYGW_VERSION=1.8.0

# The GitHub Actions workflows' checker (tests/unit/workflows.test.ts runs it).
ACTIONLINT_VERSION=1.7.12
