#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo need, when they are missing.
set -euo pipefail
need=()
command -v softhsm2-util >/dev/null 2>&1 || need+=(softhsm2)
[ -e /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so ] || [ -e /usr/lib/aarch64-linux-gnu/opensc-pkcs11.so ] || need+=(opensc)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# make bench drives cis serve over HTTP with wrk (bench/served.py).
command -v wrk >/dev/null 2>&1 || need+=(wrk)
# The deployment guide's nginx configuration is tested in front of cis serve (tests/ops).
[ -x /usr/sbin/nginx ] || need+=(nginx)
# The reliability suite builds its power-cut write log (reliability/powerloss/writelog.c).
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "Installing system packages: ${need[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${need[@]}" >/dev/null
