#!/bin/bash
# make-rootfs.sh — a minimal Debian 12 (bookworm) root file system for the lab's box, made
# with debootstrap from the host's Debian mirror (≈2–3 min on 2 vCPU). The VMs reach no
# mirror: every package a guest needs is baked in here (LAB_PKGS, plus EXTRA_PKGS=a,b,c).
# The .deb of ftpgate is NOT in it: the Vagrantfile copies the one built on the host in.
#
# Environment: R (the rootfs directory, default /var/cache/ftpgate-vagrant/rootfs),
# DEBS (debootstrap's package cache, kept between runs), MIRROR (default: the host's).
set -euo pipefail
CACHE=${FTPGATE_VAGRANT_CACHE:-/var/cache/ftpgate-vagrant}
R=${R:-$CACHE/rootfs}
DEBS=${DEBS:-$CACHE/debs}
# What the three roles need: the server vsftpd (+openssl for its TLS), the client curl and
# lftp, the gateway nftables (only to look at ftpgate's table) and systemd (the unit's
# Type=notify and sysusers). The ftpgate package itself depends on nothing else.
LAB_PKGS=vsftpd,lftp,curl,ca-certificates,openssl,nftables,openssh-sftp-server
BASE_PKGS=systemd-sysv,udev,linux-image-amd64,initramfs-tools,openssh-server,sudo,ifupdown,isc-dhcp-client,iproute2,iputils-ping,netbase,procps,kmod,less
if [[ -z ${MIRROR:-} ]]; then
	MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
	[[ -n $MIRROR ]] || MIRROR=$(awk '$1=="deb"{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
	[[ -n $MIRROR ]] || MIRROR=http://deb.debian.org/debian
fi
mode=()
if [[ ${1:-} == --download-only ]]; then
	mode=(--download-only)
fi
rm -rf "$R"
mkdir -p "$R" "$DEBS"
debootstrap --variant=minbase "${mode[@]}" --cache-dir="$DEBS" \
	--include="$BASE_PKGS,$LAB_PKGS${EXTRA_PKGS:+,$EXTRA_PKGS}" \
	bookworm "$R" "$MIRROR"
# Daemons must not have been started inside the chroot (invoke-rc.d finds no runlevel there,
# so they are not); say so loudly if one was, rather than leave it running on the host.
for p in $(pgrep -x 'vsftpd|sshd' || true); do
	if [[ $(readlink -f /proc/$p/root) == "$(readlink -f "$R")" ]]; then
		echo "make-rootfs.sh: WARNING: PID $p ($(cat /proc/$p/comm)) runs in the rootfs; stopping it" >&2
		kill "$p" || true
	fi
done
echo "make-rootfs.sh: bookworm rootfs in $R"
