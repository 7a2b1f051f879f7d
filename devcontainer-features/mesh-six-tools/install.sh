#!/usr/bin/env bash
# Installs the mesh-six tools into a Debian or Ubuntu based dev container. Options arrive as upper-cased
# environment variables (devcontainer feature spec): INSTALLGH.
set -euo pipefail

INSTALL_GH=${INSTALLGH:-true}
# Where RepoEnvironment (components/repo-environment.ts, SESSION_MOUNT) mounts the session volume.
SESSION_DIR=/var/lib/mesh-six/session

if [ "$(id -u)" -ne 0 ]; then
  echo "mesh-six-tools: the feature installer must run as root" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "mesh-six-tools: only Debian and Ubuntu based images are supported (no apt-get)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends ca-certificates curl git jq gnupg

if [ "$INSTALL_GH" = "true" ] && ! command -v gh >/dev/null 2>&1; then
  keyring=/usr/share/keyrings/githubcli-archive-keyring.gpg
  curl -fsSL https://cli.github.com/packages/githubcli-archive-keyring.gpg -o "$keyring"
  chmod go+r "$keyring"
  echo "deb [arch=$(dpkg --print-architecture) signed-by=$keyring] https://cli.github.com/packages stable main" \
    > /etc/apt/sources.list.d/github-cli.list
  apt-get update
  apt-get install -y --no-install-recommends gh
fi

# The agent's session state: writable by the container's non-root user when there is one.
mkdir -p "$SESSION_DIR"
if [ -n "${_REMOTE_USER:-}" ] && [ "${_REMOTE_USER}" != "root" ] && id "${_REMOTE_USER}" >/dev/null 2>&1; then
  chown -R "${_REMOTE_USER}" "$SESSION_DIR"
fi

rm -rf /var/lib/apt/lists/*
echo "mesh-six-tools installed (gh: $INSTALL_GH, session dir: $SESSION_DIR)"
