# Redis from Debian's packages, for machines that cannot pull redis:7 from a registry.
# Same contract as the official image where docker-compose.yml relies on it: `redis-server
# <config>` as the command, data in /data, redis-cli.
ARG BASE_IMAGE=fedloom-base:bookworm
FROM ${BASE_IMAGE}
RUN set -eu; \
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; \
    apt-get update -qq; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null; \
    rm -rf /var/lib/apt/lists/*; \
    mkdir -p /data; chown redis:redis /data
USER redis
WORKDIR /data
VOLUME ["/data"]
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no"]
