#!/usr/bin/env bash
# net.sh — addresses and routes of the lab networks; runs on every `vagrant up`.
# Vagrant configures each private network's IPv4 address; this script finds the interface
# by that address and adds the IPv6 address and the static routes (idempotent).
# Arguments, repeated:  addr IPV4 IPV6/LEN   |   route DEST VIA
set -euo pipefail

while (($# > 0)); do
	case $1 in
	addr)
		(($# >= 3)) || { echo "net.sh: addr needs IPV4 IPV6/LEN" >&2; exit 2; }
		dev=$(ip -o -4 addr show | awk -v a="$2" '{ split($4, p, "/"); if (p[1] == a) print $2 }')
		if [[ -z $dev ]]; then
			echo "net.sh: no interface has $2 (did Vagrant configure the private network?)" >&2
			exit 1
		fi
		ip link set "$dev" up
		# nodad: usable at once, no duplicate address detection wait on a lab network.
		ip -6 addr replace "$3" dev "$dev" nodad
		echo "net.sh: $dev has $2 and $3"
		shift 3
		;;
	route)
		(($# >= 3)) || { echo "net.sh: route needs DEST VIA" >&2; exit 2; }
		ip route replace "$2" via "$3"
		echo "net.sh: route $2 via $3"
		shift 3
		;;
	*)
		echo "net.sh: unknown argument $1" >&2
		exit 2
		;;
	esac
done
