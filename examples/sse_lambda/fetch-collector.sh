#!/usr/bin/env bash
# Download the opentelemetry-lambda collector layer for the Dockerfile, and check its SHA-256.
# Set COLLECTOR_VERSION and COLLECTOR_SHA256 from the release page:
#   https://github.com/open-telemetry/opentelemetry-lambda/releases
set -euo pipefail
: "${COLLECTOR_VERSION:?set COLLECTOR_VERSION (e.g. 0.120.0)}"
: "${COLLECTOR_SHA256:?set COLLECTOR_SHA256 (the release's checksum of the zip)}"
arch="${ARCH:-amd64}"
url="https://github.com/open-telemetry/opentelemetry-lambda/releases/download/layer-collector%2F${COLLECTOR_VERSION}/opentelemetry-collector-layer-${arch}.zip"
cd "$(dirname "$0")"
curl -fsSL -o collector.zip "$url"
echo "${COLLECTOR_SHA256}  collector.zip" | sha256sum -c -
rm -rf extensions && mkdir extensions && unzip -q collector.zip -d extensions && rm collector.zip
test -x extensions/extensions/collector
