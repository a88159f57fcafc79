#!/usr/bin/env bash
# Runs the aiod-host image against one AIoD environment, like the Python connector's run.sh.
#
#   script/run.sh local|test|prod [ARGS...]
#
# mounts (read-only)
#   script/config.<which>.toml  as /home/appuser/.aiod/config.toml            (AIoD and Keycloak URLs)
#   script/.<which>.env         as /home/appuser/.aiod/huggingface/.env       (CLIENT_SECRET=...)
# and the named volumes
#   aiod-host-<which>-state     on /home/appuser/.local/share/aiod-host       (the state; one per
#                               environment, since a state belongs to one catalogue)
#   aiod-host-<which>-plugin-cache
#                               on /home/appuser/.cache/aiod-host             (compiled plugins; one
#                               per environment: compiled code runs as native code, so a cache
#                               that one environment can write is not shared with another)
# ARGS go to aiod-host unchanged; without them the image's default command runs (a full sync
# of Hugging Face). `local` uses the host's network, to reach an AIoD on localhost.
#
# Environment:
#   AIOD_HOST_IMAGE   the image (default: aiod-host); built from this repository when missing
#   AIOD_HOST_BUILD   1: build the image first even if it exists
#   CLIENT_SECRET, PLATFORM_NAME, HF_TOKEN, AIOD_HF_API_KEY
#                     passed into the container when set (by name: no value is on a command line);
#                     they win over the env file
set -euo pipefail

usage() {
    cat >&2 <<USAGE
usage: $0 local|test|prod [ARGS...]

Runs the aiod-host image with script/config.<which>.toml, script/.<which>.env and the
state volume aiod-host-<which>-state. ARGS go to aiod-host; without them the image's
default command runs (a full sync of Hugging Face). Examples:

  $0 local --help
  $0 prod run --plugin /opt/aiod-host/plugins/huggingface.wasm --mode since --value 2024-01-01
  $0 prod failures
USAGE
    exit 2
}

[[ $# -ge 1 ]] || usage
which=$1
shift
case $which in
local | test | prod) ;;
*) usage ;;
esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
config=$here/config.$which.toml
env_file=$here/.$which.env
home=/home/appuser

# docker's --mount splits its value at commas.
if [[ $here == *,* ]]; then
    echo "$0: cannot mount files from $here: the path has a comma" >&2
    exit 2
fi
if [[ ! -f $config ]]; then
    echo "$0: $config is missing" >&2
    exit 2
fi

image=${AIOD_HOST_IMAGE:-aiod-host}
if [[ ${AIOD_HOST_BUILD:-} == 1 ]] || ! docker image inspect "$image" >/dev/null 2>&1; then
    docker build --tag "$image" "$root"
fi

args=(
    run --rm --init
    # One container per environment at a time: two syncs never share a state.
    --name "aiod-host-$which"
    --mount "type=bind,source=$config,target=$home/.aiod/config.toml,readonly"
)
if [[ -f $env_file ]]; then
    args+=(--mount "type=bind,source=$env_file,target=$home/.aiod/huggingface/.env,readonly")
else
    echo "$0: warning: $env_file is missing (copy script/.local.env and set CLIENT_SECRET);" \
        "without CLIENT_SECRET in the environment, uploads are refused" >&2
fi
args+=(
    --mount "type=volume,source=aiod-host-$which-state,target=$home/.local/share/aiod-host"
    --mount "type=volume,source=aiod-host-$which-plugin-cache,target=$home/.cache/aiod-host"
)
for var in CLIENT_SECRET PLATFORM_NAME HF_TOKEN AIOD_HF_API_KEY; do
    if [[ -n ${!var:-} ]]; then
        args+=(--env "$var")
    fi
done
if [[ $which == local ]]; then
    args+=(--network host)
fi
if [[ -t 0 && -t 1 ]]; then
    args+=(--interactive --tty)
fi

exec docker "${args[@]}" "$image" "$@"
