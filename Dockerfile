# The image `deploywatch schedule export --format kubernetes` names (deploywatch:VERSION by default):
#
#   docker build -t deploywatch:0.1.0 .      # in a checkout of deploywatch at that version
#
# It has git, and its entrypoint (docker/entrypoint.sh) clones $DEPLOYWATCH_REPO_URL into
# $DEPLOYWATCH_REPO_DIR — or fetches, when a volume kept the clone — then runs `deploywatch ARGS`,
# e.g. `docker run --rm -e DEPLOYWATCH_REPO_URL=https://HOST/OWNER/REPO.git deploywatch:0.1.0
# drift --config /workspace/repo/deploywatch.toml`. The CronJob's args, env and volume match this
# layout (commands/schedule_sources.py holds the same paths; a test keeps them together).
FROM python:3.12-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
 && rm -rf /var/lib/apt/lists/*

COPY pyproject.toml README.md LICENSE /tmp/deploywatch-src/
COPY src /tmp/deploywatch-src/src
RUN pip install --no-cache-dir /tmp/deploywatch-src && rm -rf /tmp/deploywatch-src

COPY docker/entrypoint.sh /usr/local/bin/deploywatch-entrypoint
RUN chmod 0755 /usr/local/bin/deploywatch-entrypoint \
 && groupadd --gid 10001 deploywatch \
 && useradd --uid 10001 --gid 10001 --home-dir /workspace --create-home deploywatch

ENV DEPLOYWATCH_REPO_DIR=/workspace/repo \
    HOME=/workspace \
    PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /workspace
VOLUME /workspace
ENTRYPOINT ["/usr/local/bin/deploywatch-entrypoint"]
CMD ["--help"]
