#!/usr/bin/env bash
# gateway.sh — installs the ftpgate package built on the host (copied to /tmp/ftpgate.deb),
# configures it for the lab and starts ftpgate.service. Nothing comes from a mirror.
#
# Configuration: one service for the client network with the preset readwrite and FTPS on
# both legs: toward the client ftpgate presents its static certificate (gateway.crt, issued by
# the lab's gateway CA, which the client trusts); it verifies the server's self-signed
# certificate against exactly that certificate (verify: ca, ca_file). Logs in JSON, so that
# the test can read the transfer records from the journal.
set -euo pipefail

dpkg -i /tmp/ftpgate.deb
ftpgate version

# The certificates (a re-run with --provision-with deb,gateway keeps the installed ones).
tls=/etc/ftpgate/tls
if [[ -d /tmp/ftpgate-pki ]]; then
	install -d -m 0755 "$tls"
	install -m 0644 /tmp/ftpgate-pki/gateway.crt "$tls/gateway.crt"
	install -m 0640 -g ftpgate /tmp/ftpgate-pki/gateway.key "$tls/gateway.key"
	install -m 0644 /tmp/ftpgate-pki/server.crt "$tls/server.crt"
	rm -rf /tmp/ftpgate-pki
fi

cat >/etc/ftpgate/ftpgate.yaml <<'YAML'
# /etc/ftpgate/ftpgate.yaml of the Vagrant lab (vagrant/provision/gateway.sh).
version: 1
services:
  - name: lab
    client_networks: [198.51.100.0/25, "2001:db8:1::/64"]
    server_networks: [198.51.100.128/25, "2001:db8:2::/64"]
    policy: lab
policies:
  lab:
    base: readwrite
    tls:
      certificate: {cert: /etc/ftpgate/tls/gateway.crt, key: /etc/ftpgate/tls/gateway.key}
      verify: ca
      ca_file: /etc/ftpgate/tls/server.crt
YAML
ftpgate check -c /etc/ftpgate/ftpgate.yaml >/dev/null
echo 'FTPGATE_ARGS="-log-format json"' >/etc/default/ftpgate

# The modules first (nf_conntrack_acct exists only once nf_conntrack is loaded), then the
# package's sysctl file (forwarding, loose rp_filter, conntrack accounting).
systemctl restart systemd-modules-load
sysctl --system >/dev/null || echo "gateway.sh: warning: sysctl --system reported an error" >&2
sysctl net.ipv4.ip_forward net.ipv6.conf.all.forwarding net.netfilter.nf_conntrack_acct

systemctl restart ftpgate
if ! systemctl is-active --quiet ftpgate; then
	journalctl -u ftpgate --no-pager -n 30 >&2
	echo "gateway.sh: ftpgate did not start" >&2
	exit 1
fi
systemctl show ftpgate -p Type -p MainPID -p User -p ActiveState -p SubState
nft list table inet ftpgate
ip rule
echo "gateway.sh: ftpgate.service is active"
