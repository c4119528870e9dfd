#!/bin/bash
# cleanup.sh — undoes a lab run (needs root); safe to run more than once:
#  1. vagrant destroy -f (all three VMs);
#  2. the networks the Vagrantfile made (ftpgate-mgmt, ftpgate-a, ftpgate-b), if left;
#  3. the box's volumes in libvirt's pool "default" (vagrant-libvirt's copies of the box
#     image; the box itself stays in ~/.vagrant.d as a cache), then the pool, when
#     setup-host.sh found none before;
#  4. libvirtd and virtlogd, by the PIDs setup-host.sh recorded (only those it started);
#  5. the LIBVIRT_* chains libvirtd left in iptables and ip6tables (filter, nat, mangle) and
#     the jumps to them, and tables that were not there before and are empty now.
# KEEP=1 skips everything but the VMs (for manual use: daemons and pool stay).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
STATE=${FTPGATE_VAGRANT_STATE:-/run/ftpgate-vagrant}
V="virsh -c qemu:///system"
say() { echo "cleanup.sh: $*"; }

if command -v vagrant >/dev/null; then
	(cd "$here/.." && timeout 300 vagrant destroy -f) || say "vagrant destroy failed (going on)"
fi
if ! $V version >/dev/null 2>&1; then
	say "libvirtd is not running; nothing else to do in libvirt"
else
	# Domains of this Vagrantfile that vagrant did not know any more (a half-made up).
	for d in $($V list --all --name | grep -E '^vagrant_(client|gateway|server)$' || true); do
		$V destroy "$d" >/dev/null 2>&1; $V undefine "$d" --nvram >/dev/null 2>&1 || $V undefine "$d" >/dev/null 2>&1
		say "removed domain $d"
	done
	for n in ftpgate-mgmt ftpgate-a ftpgate-b; do
		if $V net-info "$n" >/dev/null 2>&1; then
			$V net-destroy "$n" >/dev/null 2>&1; $V net-undefine "$n" >/dev/null 2>&1
			say "removed network $n"
		fi
	done
	[[ ${KEEP:-0} == 1 ]] && exit 0
	if $V pool-info default >/dev/null 2>&1; then
		for vol in $($V vol-list default 2>/dev/null | awk 'NR>2 && $1 != "" {print $1}'); do
			case $vol in
			ftpgate-VAGRANTSLASH-* | vagrant_client* | vagrant_gateway* | vagrant_server*)
				$V vol-delete --pool default "$vol" >/dev/null && say "deleted volume $vol" ;;
			esac
		done
		if [[ $(cat "$STATE/pool.before" 2>/dev/null) != yes ]]; then
			$V pool-destroy default >/dev/null 2>&1; $V pool-undefine default >/dev/null 2>&1
			say "removed pool default"
		fi
	fi
fi
[[ ${KEEP:-0} == 1 ]] && exit 0

for d in libvirtd virtlogd; do
	f=$STATE/$d.pid
	[[ -s $f ]] || continue
	pid=$(cat "$f")
	if [[ -d /proc/$pid && $(cat /proc/$pid/comm 2>/dev/null) == "$d" ]]; then
		kill "$pid"
		for i in $(seq 1 40); do [[ -d /proc/$pid ]] || break; sleep 0.25; done
		say "stopped $d (PID $pid)"
	fi
	rm -f "$f"
done
if [[ -s $STATE/started-units ]]; then
	while read -r u; do systemctl stop "$u" && say "stopped $u"; done <"$STATE/started-units"
	rm -f "$STATE/started-units"
fi

# iptables: jumps to LIBVIRT_* chains first, then the chains.
for ipt in iptables ip6tables; do
	command -v $ipt >/dev/null || continue
	for t in filter nat mangle; do
		$ipt -t $t -S 2>/dev/null | grep -E '^-A [A-Z]+ .*-j LIBVIRT_' | while read -r _ rest; do
			# shellcheck disable=SC2086
			$ipt -t $t -D $rest
		done
		for c in $($ipt -t $t -S 2>/dev/null | awk '$1=="-N" && $2 ~ /^LIBVIRT_/ {print $2}'); do
			$ipt -t $t -F "$c"; $ipt -t $t -X "$c" && say "removed $ipt -t $t chain $c"
		done
	done
done
# Tables that iptables-nft created for libvirtd and that are empty now.
if [[ -e $STATE/tables.before ]] && command -v nft >/dev/null; then
	nft list tables 2>/dev/null | sort | comm -13 "$STATE/tables.before" - | while read -r _ fam name; do
		case $name in filter | nat | mangle) ;; *) continue ;; esac
		if ! nft list table "$fam" "$name" 2>/dev/null | grep -qE '^\s+(ip|ip6|meta|counter|jump|goto|accept|drop|tcp|udp|oif|iif|ct)'; then
			nft delete table "$fam" "$name" && say "removed empty table $fam $name"
		fi
	done
	rm -f "$STATE/tables.before"
fi
rm -f "$STATE/pool.before"
say "done"
