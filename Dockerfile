# syntax=docker/dockerfile:1
#
# aiod-host and its first-party plugins, built from source.
#
#   docker build -t aiod-host .
#   docker run --rm aiod-host --help
#   script/run.sh local|test|prod [ARGS...]   # with a config, a secret and a state volume
#
# In the container: the config is read from /home/appuser/.aiod/config.toml, the client secret
# from CLIENT_SECRET (-e) or /home/appuser/.aiod/huggingface/.env (mount them), the state lives
# on the volume /home/appuser/.local/share/aiod-host (the host's default place), the plugins are
# in /opt/aiod-host/plugins/.

# --- build: the same script CI runs (script/build.sh), so CI keeps these steps honest ---------
FROM rust:1.95.0-slim-trixie AS build
# componentize-py (from PyPI, into a venv under target/) builds the OpenML plugin: it needs
# python3 with venv; componentize-js (from npm, under target/) builds the Zenodo plugin: it
# needs Node.js (trixie's is 20) and npm. Debian's current versions are taken on purpose
# (security updates).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The registry and target/ are cache mounts: a rebuild only compiles what changed.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    script/build.sh /out release

# --- runtime ----------------------------------------------------------------------------------
FROM debian:13-slim
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# The directories exist and belong to appuser, so a fresh named volume mounted on them does too.
RUN useradd --create-home --home-dir /home/appuser --uid 1000 --user-group \
        --shell /usr/sbin/nologin appuser \
    && mkdir -p /home/appuser/.aiod/huggingface \
        /home/appuser/.local/share/aiod-host \
        /home/appuser/.cache/aiod-host \
    && chown -R appuser:appuser /home/appuser
COPY --from=build /out/bin/aiod-host /usr/local/bin/aiod-host
COPY --from=build /out/plugins/ /opt/aiod-host/plugins/
# appuser, by number: a runtime that refuses root (runAsNonRoot) can check it.
USER 1000:1000
ENV HOME=/home/appuser
WORKDIR /home/appuser
# The state: cursor, what was uploaded, dead letters. Keep it across runs (a named volume):
# without it every run starts over with a new state.
VOLUME ["/home/appuser/.local/share/aiod-host"]
# `serve --status-addr 0.0.0.0:9464` answers /metrics and /healthz here.
EXPOSE 9464
ENTRYPOINT ["aiod-host"]
# Like the Python connector's image: a full sync of Hugging Face.
CMD ["run", "--plugin", "/opt/aiod-host/plugins/huggingface.wasm", "--mode", "all"]
