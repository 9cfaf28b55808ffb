#!/usr/bin/env bash
# Fetch the collector extension for the Dockerfile, and check its SHA-256.
#
# Neither prebuilt layer runs collector.yaml: the ADOT layer has `awsxray` but no processors (so no
# `decouple`), and the upstream opentelemetry-lambda layer has `decouple` but no `awsxray` exporter.
# Build your own (ADOT's lambdacomponents plus the decouple processor, or the upstream custom build plus
# the awsxray exporter), publish the zip of its /opt tree, and point COLLECTOR_URL at it.
set -euo pipefail
: "${COLLECTOR_URL:?set COLLECTOR_URL to your collector build (a zip of extensions/collector)}"
: "${COLLECTOR_SHA256:?set COLLECTOR_SHA256 to that zip's checksum}"
cd "$(dirname "$0")"
curl -fsSL -o collector.zip "$COLLECTOR_URL"
echo "${COLLECTOR_SHA256}  collector.zip" | sha256sum -c -
rm -rf layer && mkdir layer && unzip -q collector.zip -d layer && rm collector.zip
test -x layer/extensions/collector
