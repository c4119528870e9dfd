#!/usr/bin/env bash
# client.sh — FTP clients, then a smoke test through the gateway (failure only warns).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

apt-get update -qq
apt-get install -y -qq curl lftp >/dev/null

if out=$(curl -sS --max-time 20 ftp://ftptest:ftptest@203.0.113.10/hello.txt); then
	echo "client.sh: smoke test through ftpgate: $out"
else
	echo "client.sh: WARNING: smoke test failed; see: vagrant ssh gateway -c 'sudo journalctl -u ftpgate'" >&2
fi
