# shellcheck shell=bash
# Shared locations for the toolchain, the sandbox and the state backend. Sourced, not executed.
# Everything built is cached outside the checkout (keyed by version) so a fresh clone on the same
# machine finds it warm; the checkout only holds links to it under .tools/.
MESH_SIX_ROOT=${MESH_SIX_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
MESH_SIX_CACHE=${MESH_SIX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mesh-six-infra}
MESH_SIX_TOOLS=${MESH_SIX_TOOLS:-$MESH_SIX_ROOT/.tools}
MESH_SIX_SANDBOX_DIR=${MESH_SIX_SANDBOX_DIR:-$MESH_SIX_ROOT/.sandbox}
export MESH_SIX_ROOT MESH_SIX_CACHE MESH_SIX_TOOLS MESH_SIX_SANDBOX_DIR
export GOMODCACHE=${MESH_SIX_GOMODCACHE:-$MESH_SIX_CACHE/go/mod}
export GOCACHE=${MESH_SIX_GOCACHE:-$MESH_SIX_CACHE/go/build}
export GOTOOLCHAIN=local
export GOFLAGS=-mod=mod
export PATH="$MESH_SIX_TOOLS/bin:/usr/local/go/bin:$PATH"
# The CLI must never reach for the network: no update checks, no plugin downloads.
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_HOME=${PULUMI_HOME:-$MESH_SIX_CACHE/pulumi-home}
