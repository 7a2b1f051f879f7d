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
# Vault builds its in-tree sdk/ (a replace we cannot repeat: it is not in the module zip); v0.21.0, which its
# go.mod names, already has main's newer ActivationFunc signature, so use the last release with the older one.
VAULT_SDK_VERSION=0.20.0
