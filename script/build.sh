#!/usr/bin/env bash
# Builds what the Docker image ships, from source, and stages it under OUT:
#
#   OUT/bin/aiod-host              the host (release build)
#   OUT/plugins/huggingface.wasm   the first-party plugins (cargo xtask build-plugins)
#   OUT/plugins/openml.wasm
#   OUT/plugins/zenodo.wasm
#
# The Dockerfile's build stage runs exactly this, and so does CI (.ci/run), so the image's
# build steps are exercised even where docker is not available.
#
# usage: script/build.sh OUT [PROFILE]
#   PROFILE: the cargo profile of the host, `release` by default (the image's); CI may pass
#   another one to save time.
#
# Needs a rustup toolchain (the wasm32-unknown-unknown target is added on first use),
# python3 with venv (componentize-py, for the OpenML plugin, is installed from PyPI into a
# venv under target/) and Node.js with npm (componentize-js, for the Zenodo plugin, is
# installed from npm under target/).
set -euo pipefail

usage() {
    echo "usage: $0 OUT [PROFILE]   (stages bin/aiod-host and plugins/*.wasm under OUT)" >&2
    exit 2
}
[[ $# -ge 1 && $# -le 2 && -n $1 ]] || usage
out=$1
profile=${2:-release}
case $out in
/*) ;;
*) out=$PWD/$out ;;
esac

cd "$(dirname "${BASH_SOURCE[0]}")/.."
target=${CARGO_TARGET_DIR:-target}
# cargo puts the `dev` profile under target/debug, every other one under its own name.
profile_dir=$profile
[[ $profile == dev ]] && profile_dir=debug

cargo build --locked --profile "$profile" --package aiod-host
cargo run --locked --quiet --package xtask -- build-plugins

install -D -m 0755 "$target/$profile_dir/aiod-host" "$out/bin/aiod-host"
for plugin in huggingface openml zenodo; do
    install -D -m 0644 "plugins/$plugin.wasm" "$out/plugins/$plugin.wasm"
done

# The staged binary runs, and knows its plugins.
"$out/bin/aiod-host" --version
for plugin in "$out"/plugins/*.wasm; do
    "$out/bin/aiod-host" plugin inspect "$plugin" >/dev/null
done
echo "staged under $out:" >&2
(cd "$out" && find . -type f | sort) >&2
