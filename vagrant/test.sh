#!/usr/bin/env bash
# test.sh — `make vagrant-test`: ftpgate's Debian package as a systemd service in a real VM
# between a client VM and a server VM (Vagrant + libvirt/QEMU), end to end. Not run in CI.
# Needs root, about 15 minutes and ~2 GB of disk (README.md, "make vagrant-test").
#
#  1. host set-up (host/setup-host.sh: packages, libvirtd; idempotent)
#  2. the box ftpgate/bookworm-lab, built once (host/make-rootfs.sh, host/build-box.sh) and
#     cached in $FTPGATE_VAGRANT_CACHE (/var/cache/ftpgate-vagrant) and ~/.vagrant.d
#  3. make deb
#  4. vagrant up: server (vsftpd, FTPS), gateway (the .deb, ftpgate.service), client
#  5. from the client, lab/client-matrix.sh: plain FTP and FTPS through the gateway, curl and
#     lftp, PASV/EPSV/PORT/EPRT, IPv4 and IPv6, a download and an upload each
#  6. checks: sha256 of every download (client) and upload (server) against the original;
#     a complete transfer record for each in ftpgate's journal on the gateway (and its
#     sha256, where the transfer went through ftpgate); systemctl is-active ftpgate
#  7. always (trap, also on failure or Ctrl-C): host/cleanup.sh destroys the VMs, the box
#     volumes, the pool, the daemons it started and libvirt's iptables chains.
# One summary line per transfer; exit status 1 if anything failed.
#
# Environment: FTPGATE_LAB_MIB (file size, default 4), FTPGATE_VAGRANT_KEEP=1 (leave the
# VMs up for a look; then run host/cleanup.sh yourself), FTPGATE_VAGRANT_CACHE.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
export FTPGATE_VAGRANT_STATE=${FTPGATE_VAGRANT_STATE:-/run/ftpgate-vagrant}
export FTPGATE_VAGRANT_CACHE=${FTPGATE_VAGRANT_CACHE:-/var/cache/ftpgate-vagrant}
export FTPGATE_LAB_MIB=${FTPGATE_LAB_MIB:-4}
export VAGRANT_CWD=$here
STATE=$FTPGATE_VAGRANT_STATE
CACHE=$FTPGATE_VAGRANT_CACHE
BOX_NAME=ftpgate/bookworm-lab
BOX_FILE=$CACHE/ftpgate-bookworm.box

if [[ $(id -u) != 0 ]]; then
	echo "vagrant-test: needs root (libvirt, debootstrap)" >&2
	exit 1
fi
mkdir -p "$STATE" "$CACHE"
t_start=$(date +%s)
timings=()
status=1
summary=""

# step NAME CMD...: run CMD, time it.
step() {
	local name=$1 t0 rc
	shift
	t0=$(date +%s)
	echo "=== $(date -u +%H:%M:%S) $name"
	rc=0
	"$@" || rc=$?
	timings+=("$(printf '%-28s %4ss%s' "$name" $(($(date +%s) - t0)) "$( ((rc == 0)) || echo "  (failed, status $rc)")")")
	return $rc
}

finish() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	if ((rc != 0 || status != 0)); then
		echo "=== failed: the VMs' state and the end of their consoles"
		virsh -c qemu:///system list --all 2>/dev/null
		for f in /var/log/libvirt/qemu/ftpgate-lab-*-console.log; do
			[[ -f $f ]] || continue
			echo "--- $f"
			tail -n 15 "$f"
		done
	fi
	if [[ ${FTPGATE_VAGRANT_KEEP:-0} == 1 ]]; then
		echo "=== FTPGATE_VAGRANT_KEEP=1: the VMs stay up; clean up with: bash $here/host/cleanup.sh"
	else
		step "clean-up" bash "$here/host/cleanup.sh"
	fi
	echo
	echo "=== timings"
	printf '  %s\n' "${timings[@]}"
	printf '  %-28s %4ss\n' "total" $(($(date +%s) - t_start))
	[[ -n $summary ]] && printf '%s\n' "$summary"
	if ((rc == 0 && status == 0)); then
		echo "vagrant-test: PASS"
		exit 0
	fi
	echo "vagrant-test: FAIL"
	exit 1
}
trap finish EXIT
trap 'exit 130' INT TERM

step "host set-up" bash "$here/host/setup-host.sh"

box_key=$(cat "$here/host/make-rootfs.sh" "$here/host/build-box.sh" | sha256sum | cut -c1-16)${EXTRA_PKGS:+-$EXTRA_PKGS}
build_box() {
	if [[ ! -f $BOX_FILE || $(cat "$CACHE/box.key" 2>/dev/null) != "$box_key" ]]; then
		# (errexit does not apply inside a function run by step: every command checks.)
		rm -f "$CACHE/box.key" "$CACHE/box.added"
		bash "$here/host/make-rootfs.sh" || return 1
		bash "$here/host/build-box.sh" || return 1
		rm -rf "$CACHE/rootfs"
		echo "$box_key" >"$CACHE/box.key"
	fi
	if [[ ! -f $CACHE/box.added ]] || ! vagrant box list 2>/dev/null | grep -q "^$BOX_NAME "; then
		vagrant box add --force --name "$BOX_NAME" "$BOX_FILE" || return 1
		touch "$CACHE/box.added"
	fi
}
if [[ -f $BOX_FILE && $(cat "$CACHE/box.key" 2>/dev/null) == "$box_key" ]] &&
	vagrant box list 2>/dev/null | grep -q "^$BOX_NAME " && [[ -f $CACHE/box.added ]]; then
	echo "=== box $BOX_NAME: cached ($BOX_FILE)"
else
	step "rootfs + box" build_box
fi

step "make deb" make -C "$root" deb
FTPGATE_DEB=$(ls -t "$root"/dist/ftpgate_*.deb | head -n 1)
export FTPGATE_DEB
echo "package: $FTPGATE_DEB"

# Leftovers of an earlier, interrupted run would make vagrant up fail.
KEEP=1 bash "$here/host/cleanup.sh" >/dev/null 2>&1 || true
rm -f /var/log/libvirt/qemu/ftpgate-lab-*-console.log
step "vagrant up (3 VMs)" vagrant up

ssh_cfg=$STATE/ssh-config
vagrant ssh-config >"$ssh_cfg"
vssh() { ssh -F "$ssh_cfg" -o LogLevel=ERROR -o ConnectTimeout=30 "$@"; }

mapfile -t ids < <(bash "$here/lab/client-matrix.sh" --list)
prepare_server() {
	# A download name per transfer (hard links to data.bin), so that each transfer has its own
	# record in the journal; and the original's sum.
	vssh server "sudo sh -c 'cd /home/ftptest && rm -f dl-*.bin up-*.bin && for i in ${ids[*]}; do ln data.bin dl-\$i.bin; done && sha256sum data.bin'" >"$STATE/data.sum"
	cat "$STATE/data.sum"
}
step "prepare server" prepare_server
want=$(cut -d' ' -f1 "$STATE/data.sum")

run_matrix() {
	scp -F "$ssh_cfg" -o LogLevel=ERROR -q "$here/lab/client-matrix.sh" client:/tmp/client-matrix.sh
	vssh client "bash /tmp/client-matrix.sh $want $FTPGATE_LAB_MIB" | tee "$STATE/results"
}
step "transfers (client)" run_matrix || true
collect() {
	vssh server "sudo sh -c 'cd /home/ftptest && sha256sum up-*.bin'" >"$STATE/uploads.sum" || true
	vssh gateway "sudo systemctl is-active ftpgate" >"$STATE/active" || true
	vssh gateway "sudo journalctl -u ftpgate -o cat --no-pager" >"$STATE/journal" || true
	vssh gateway "sudo systemctl show ftpgate -p Type -p ActiveState -p SubState -p MainPID -p User -p NRestarts" >"$STATE/unit" || true
	cat "$STATE/unit"
	echo "journal: $(wc -l <"$STATE/journal") lines, $(grep -c '"msg":"transfer"' "$STATE/journal") transfer records"
}
step "collect (server, gateway)" collect

# Evaluate: one line per transfer.
evaluate() {
	python3 - "$STATE/results" "$STATE/uploads.sum" "$STATE/journal" "$STATE/active" "${#ids[@]}" <<'PY'
import json, sys
results, upsums, journal, active, nids = sys.argv[1:6]
ups = {}
for l in open(upsums):
    p = l.split()
    if len(p) == 2:
        ups[p[1]] = p[0]
recs = {}
for l in open(journal):
    l = l.strip()
    if not l.startswith("{"):
        continue
    try:
        r = json.loads(l)
    except ValueError:
        continue
    if r.get("msg") == "transfer":
        recs.setdefault((r.get("command"), r.get("arg")), []).append(r)
lines, fails, n = [], 0, 0
for l in open(results):
    if not l.startswith("RESULT "):
        continue
    p = l.split()
    _, id_, tool, fam, mode, sec, cmd, name, ok, secs, sha = p[:11]
    detail = " ".join(p[11:])
    n += 1
    why = [] if ok == "ok" else ["client: " + detail]
    if cmd == "STOR":
        got = ups.get(name)
        if got is None:
            why.append("not on the server")
        elif got != sha:
            why.append("sha256 on the server differs")
    gw = "no record"
    rs = recs.get((cmd, name), [])
    if not rs:
        why.append("no transfer record in the gateway's journal")
    else:
        r = rs[-1]
        gw = "path=%s" % r.get("path")
        if not r.get("complete"):
            why.append("record not complete (reply %s)" % r.get("reply"))
        if r.get("sha256"):
            if r["sha256"] == sha:
                gw += " sha256=match"
            else:
                why.append("gateway sha256 differs")
        if r.get("tls_client"):
            gw += " tls"
    res = "PASS" if not why else "FAIL"
    fails += bool(why)
    tls = ""
    if sec == "ftps" and "TLSv" in detail:
        tls = " " + detail[detail.index("TLSv"):].split(";")[0].split(" ")[0]
    lines.append("%s %-4s %s %-4s %-5s %s %-27s %6ss  sha256 %s  gateway: %s%s%s" % (
        res, tool, "IPv4" if fam == "v4" else "IPv6", mode, sec, cmd, name, secs,
        "ok" if res == "PASS" or "sha256" not in " ".join(why) else "BAD", gw, tls,
        "" if not why else "  <- " + "; ".join(why)))
want = 2 * int(nids)
act = open(active).read().strip() or "unknown"
print("=== summary: one line per transfer")
print("\n".join(lines))
print("transfers: %d of %d ran, %d failed; ftpgate.service on the gateway: %s" % (n, want, fails, act))
sys.exit(0 if fails == 0 and n == want and act == "active" else 1)
PY
}
if summary=$(evaluate); then
	status=0
fi
