#!/usr/bin/env bash
# gateway.sh — install and start ftpgate from the synced repository (/ftpgate).
# Go is not installed here (Debian 12's golang is older than the Go ftpgate needs): the
# binary is the one built on the host with `make build`, copied in by the rsync folder.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

repo=/ftpgate
bin=$repo/bin/ftpgate
if [[ ! -x $bin ]]; then
	echo "gateway.sh: $bin is missing. On the host run 'make build' in the repository," >&2
	echo "then: vagrant rsync gateway && vagrant provision gateway" >&2
	exit 1
fi
if ! "$bin" version; then
	echo "gateway.sh: $bin does not run here; build it for this VM on the host:" >&2
	echo "  CGO_ENABLED=0 GOOS=linux GOARCH=amd64 make build" >&2
	exit 1
fi

# nft(8) is only for looking at the table; ftpgate talks netlink itself.
apt-get update -qq
apt-get install -y -qq nftables >/dev/null

bash "$repo/deploy/install.sh" "$bin"
sysctl --system >/dev/null
# install.sh put the modules ftpgate needs in /etc/modules-load.d (the unit may not load
# modules); load them now.
systemctl restart systemd-modules-load

systemctl enable ftpgate >/dev/null 2>&1
systemctl restart ftpgate
sleep 1
if ! systemctl is-active --quiet ftpgate; then
	journalctl -u ftpgate --no-pager -n 30 >&2
	echo "gateway.sh: ftpgate did not start" >&2
	exit 1
fi
nft list table inet ftpgate
ip rule
echo "gateway.sh: ftpgate is running"
