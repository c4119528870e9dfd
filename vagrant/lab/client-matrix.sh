#!/usr/bin/env bash
# client-matrix.sh — runs on the client VM (`make vagrant-test` copies it there): plain FTP and
# explicit FTPS transfers through the gateway to the server, in every data mode curl and lftp
# can do, one download (RETR dl-ID.bin) and one upload (STOR up-ID.bin) per ID.
#
#   client-matrix.sh --list                      the IDs, one a line (also on the host)
#   client-matrix.sh SHA256 [UPLOAD_MIB]         run; SHA256 is the sum of the server's file
#
# One line per transfer on stdout:
#   RESULT ID TOOL FAMILY MODE SECURITY COMMAND NAME ok|FAIL SECONDS SHA256-OR-- DETAIL...
# A download's sum is checked here; an upload's is printed (the server checks what arrived).
# The tools' transcripts go to /tmp/lab/ID.log.
#
# Modes: curl does PASV, EPSV, PORT and EPRT over IPv4 and EPSV, EPRT over IPv6 in plain FTP;
# over TLS it cannot do active mode (curl issue 10666: it hangs), so FTPS with curl is PASV and
# EPSV. lftp does PASV, EPSV and PORT over IPv4 and EPSV and EPRT over IPv6 (it has no
# setting for EPRT over IPv4), plain and FTPS.
set -uo pipefail
S4=${S4:-198.51.100.140}
S6=${S6:-2001:db8:2::140}
CA=${CA:-/etc/ftpgate-lab/gateway-ca.crt}
USERPASS=ftptest:ftptest

ids() {
	local m
	for m in pasv epsv port eprt; do echo "curl-v4-$m-plain"; done
	for m in epsv eprt; do echo "curl-v6-$m-plain"; done
	for m in pasv epsv; do echo "curl-v4-$m-ftps"; done
	echo "curl-v6-epsv-ftps"
	for s in plain ftps; do
		for m in pasv epsv port; do echo "lftp-v4-$m-$s"; done
		for m in epsv eprt; do echo "lftp-v6-$m-$s"; done
	done
}
if [[ ${1:-} == --list ]]; then
	ids
	exit 0
fi
want=${1:?usage: client-matrix.sh SHA256 [UPLOAD_MIB]}
mib=${2:-4}
dir=/tmp/lab
rm -rf "$dir"
mkdir -p "$dir"
head -c $((mib * 1024 * 1024)) /dev/urandom >"$dir/up.bin"
upsum=$(sha256sum "$dir/up.bin" | cut -d' ' -f1)

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
result() { echo "RESULT $*"; }

# check_dl ID TOOL FAM MODE SEC NAME T0 T1 OK DETAIL: the download's line.
check_dl() {
	local id=$1 tool=$2 fam=$3 mode=$4 sec=$5 name=$6 t=$7 ok=$8 detail=$9 got="-"
	if [[ -f $dir/$name ]]; then
		got=$(sha256sum "$dir/$name" | cut -d' ' -f1)
		if [[ $got != "$want" ]]; then ok=FAIL; detail="sha256 differs: $detail"; fi
	else
		ok=FAIL; detail="nothing arrived: $detail"
	fi
	result "$id $tool $fam $mode $sec RETR $name $ok $t $got $detail"
}

for id in $(ids); do
	IFS=- read -r tool fam mode sec <<<"$id"
	MODE=${mode^^}
	host=$S4
	[[ $fam == v6 ]] && host="[$S6]"
	log=$dir/$id.log
	dl=dl-$id.bin
	up=up-$id.bin
	case $tool in
	curl)
		args=(-sS -v -g --max-time 120 --connect-timeout 10)
		case $MODE in
		PASV) args+=(--ftp-pasv --disable-epsv) ;;
		EPSV) args+=(--ftp-pasv) ;;
		PORT) args+=(--ftp-port - --disable-eprt) ;;
		EPRT) args+=(--ftp-port -) ;;
		esac
		[[ $sec == ftps ]] && args+=(--ssl-reqd --cacert "$CA")
		for cmd in RETR STOR; do
			t0=$(now)
			if [[ $cmd == RETR ]]; then
				curl "${args[@]}" -o "$dir/$dl" "ftp://$USERPASS@$host/$dl" 2>"$log.$cmd"
			else
				curl "${args[@]}" -T "$dir/up.bin" "ftp://$USERPASS@$host/$up" 2>"$log.$cmd"
			fi
			rc=$?
			t=$(secs "$t0" "$(now)")
			ok=ok detail="rc=$rc"
			[[ $rc == 0 ]] || ok=FAIL
			grep -q "^> $MODE" "$log.$cmd" || { ok=FAIL; detail="$detail; $MODE not used"; }
			if [[ $sec == ftps ]]; then
				if grep -q "SSL connection using" "$log.$cmd" && grep -q "^> PROT P" "$log.$cmd"; then
					detail="$detail; $(grep -m1 'SSL connection using' "$log.$cmd" | sed 's/^\* SSL connection using //'); issuer:$(grep -m1 ' issuer:' "$log.$cmd" | sed 's/.*CN=//')"
				else
					ok=FAIL; detail="$detail; not TLS with PROT P"
				fi
			fi
			[[ $ok == ok ]] || detail="$detail; $(grep -E '^(curl:|< [45])' "$log.$cmd" | tail -n 2 | tr '\n' ' ')"
			if [[ $cmd == RETR ]]; then
				check_dl "$id" "$tool" "$fam" "$MODE" "$sec" "$dl" "$t" "$ok" "$detail"
			else
				result "$id $tool $fam $MODE $sec STOR $up $ok $t $upsum $detail"
			fi
		done
		;;
	lftp)
		set=("set net:max-retries 1" "set net:timeout 20" "set cmd:fail-exit yes")
		case $MODE in
		PASV) set+=("set ftp:passive-mode on" "set ftp:prefer-epsv no") ;;
		EPSV) set+=("set ftp:passive-mode on" "set ftp:prefer-epsv yes") ;;
		PORT | EPRT) set+=("set ftp:passive-mode off") ;;
		esac
		if [[ $sec == ftps ]]; then
			set+=("set ftp:ssl-allow yes" "set ftp:ssl-force yes" "set ftp:ssl-protect-data yes"
				"set ftp:ssl-protect-list yes" "set ssl:verify-certificate yes"
				"set ssl:check-hostname yes" "set ssl:ca-file $CA")
		else
			set+=("set ftp:ssl-allow no")
		fi
		script=$(printf '%s; ' "${set[@]}")
		lhost=$S4
		[[ $fam == v6 ]] && lhost=$S6
		t0=$(now)
		lftp -d -u "${USERPASS/:/,}" -e "${script}get $dl -o $dir/$dl; put $dir/up.bin -o $up; bye" "$lhost" >"$log" 2>&1
		rc=$?
		t=$(secs "$t0" "$(now)")
		ok=ok detail="rc=$rc (one lftp session for both)"
		[[ $rc == 0 ]] || ok=FAIL
		grep -q -- "---> $MODE" "$log" || { ok=FAIL; detail="$detail; $MODE not used"; }
		if [[ $sec == ftps ]]; then
			grep -q -- "---> AUTH TLS" "$log" && grep -q -- "---> PROT P" "$log" ||
				{ ok=FAIL; detail="$detail; no AUTH TLS and PROT P"; }
		fi
		[[ $ok == ok ]] || detail="$detail; $(grep -E '^(lftp:|<--- [45]|.*[Ff]atal)' "$log" | tail -n 2 | tr '\n' ' ')"
		check_dl "$id" "$tool" "$fam" "$MODE" "$sec" "$dl" "$t" "$ok" "$detail"
		result "$id $tool $fam $MODE $sec STOR $up $ok $t $upsum $detail"
		;;
	esac
done
