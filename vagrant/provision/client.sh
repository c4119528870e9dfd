#!/usr/bin/env bash
# client.sh — the client has curl and lftp from the box; it trusts the lab's gateway CA
# (/etc/ftpgate-lab/gateway-ca.crt), the issuer of the certificate ftpgate shows it.
set -euo pipefail
install -d -m 0755 /etc/ftpgate-lab
install -m 0644 /tmp/ftpgate-pki/gateway-ca.crt /etc/ftpgate-lab/gateway-ca.crt
rm -rf /tmp/ftpgate-pki
curl --version | head -n 1
lftp --version | head -n 1
echo "client.sh: ready; try: curl -sS --ssl-reqd --cacert /etc/ftpgate-lab/gateway-ca.crt ftp://ftptest:ftptest@198.51.100.140/hello.txt"
