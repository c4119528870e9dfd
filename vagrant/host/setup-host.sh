#!/bin/bash
# setup-host.sh — the host side of the lab, idempotent (needs root; Debian 12):
#  - installs Vagrant, vagrant-libvirt, libvirt, QEMU and debootstrap from Debian (only what
#    is missing);
#  - writes the qemu.conf lines libvirt needs where PID 1 is not systemd (containers, CI
#    machines): user/group root, no cgroup controllers, no namespaces, no security driver;
#  - never lets libvirt's stock 'default' network (192.168.122.0/24 NAT) autostart;
#  - starts virtlogd and libvirtd by hand when they are not running and PID 1 is not
#    systemd (with systemd: systemctl start), and records in $STATE which ones it started,
#    with the nftables tables that existed before, so that cleanup.sh undoes exactly that.
set -euo pipefail
STATE=${FTPGATE_VAGRANT_STATE:-/run/ftpgate-vagrant}
mkdir -p "$STATE"
pkgs=(vagrant vagrant-libvirt libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients
	qemu-system-x86 qemu-utils dnsmasq-base iptables ebtables debootstrap openssl e2fsprogs)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "setup-host.sh: installing ${missing[*]}"
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

rm -f /etc/libvirt/qemu/networks/autostart/default.xml
systemd_pid1=false
[[ -d /run/systemd/system ]] && systemd_pid1=true
if ! $systemd_pid1 && ! grep -q 'ftpgate-vagrant' /etc/libvirt/qemu.conf; then
	cat >>/etc/libvirt/qemu.conf <<'EOC'
# --- ftpgate-vagrant: PID 1 is not systemd here; libvirtd is started by hand ---
user = "root"
group = "root"
cgroup_controllers = [ ]
namespaces = [ ]
security_driver = "none"
EOC
fi

# What cleanup.sh must not remove: the nftables tables (iptables-nft's too) from before.
[[ -e $STATE/tables.before ]] || nft list tables 2>/dev/null | sort >"$STATE/tables.before" || true
mkdir -p /run/libvirt
if $systemd_pid1; then
	for d in virtlogd libvirtd; do
		systemctl is-active --quiet "$d" || { systemctl start "$d"; echo "$d" >>"$STATE/started-units"; }
	done
else
	if ! pgrep -x virtlogd >/dev/null; then
		rm -f /run/virtlogd.pid
		/usr/sbin/virtlogd -d
		for i in $(seq 1 20); do [[ -s /run/virtlogd.pid ]] && break; sleep 0.25; done
		cat /run/virtlogd.pid >"$STATE/virtlogd.pid"
		echo "setup-host.sh: started virtlogd (PID $(cat "$STATE/virtlogd.pid"))"
	fi
	if ! pgrep -x libvirtd >/dev/null; then
		rm -f /run/libvirtd.pid
		/usr/sbin/libvirtd -d
		for i in $(seq 1 20); do [[ -s /run/libvirtd.pid ]] && break; sleep 0.25; done
		cat /run/libvirtd.pid >"$STATE/libvirtd.pid"
		echo "setup-host.sh: started libvirtd (PID $(cat "$STATE/libvirtd.pid"))"
	fi
fi
for i in $(seq 1 40); do virsh -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.5; done
virsh -c qemu:///system version
# Remember whether the storage pool "default" existed (vagrant-libvirt creates it if not).
if [[ ! -e $STATE/pool.before ]]; then
	if virsh -c qemu:///system pool-info default >/dev/null 2>&1; then echo yes; else echo no; fi >"$STATE/pool.before"
fi
