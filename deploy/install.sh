#!/usr/bin/env bash
# install.sh — install ftpgate on this box without a package manager: the binary, the
# systemd unit, the default file, the sysctl settings, the kernel modules to load at boot and
# the system user ftpgate. Safe to run again (an upgrade replaces the binary and the unit and
# keeps an existing /etc/default/ftpgate). It neither enables nor starts the service.
# On Debian and derivatives, prefer the package (make deb; dpkg -i dist/ftpgate_*.deb).
#
# Usage (from the repository, after `make build`):
#   sudo deploy/install.sh [path/to/ftpgate]
# Environment:
#   DESTDIR  stage into this directory instead of / (for packaging; no root needed)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin=${1:-$here/../bin/ftpgate}
destdir=${DESTDIR:-}
destdir=${destdir%/}

# The unit names the package's /usr/sbin/ftpgate; it is installed with this path instead.
bin_path=/usr/local/bin/ftpgate
bin_dst=$destdir$bin_path
unit_dst=$destdir/etc/systemd/system/ftpgate.service
default_dst=$destdir/etc/default/ftpgate
sysctl_dst=$destdir/etc/sysctl.d/90-ftpgate.conf
modules_dst=$destdir/etc/modules-load.d/ftpgate.conf
sysusers_dst=$destdir/etc/sysusers.d/ftpgate.conf
# The example configuration is installed beside the real one, never as it: its services name
# example networks, and until /etc/ftpgate/ftpgate.yaml exists the built-in default applies
# (every connection, preset readwrite).
example_dst=$destdir/etc/ftpgate/ftpgate.yaml.example
script_dst=$destdir/etc/ftpgate/policy.star.example
# ftpgate's rule set, for operators who include it in /etc/nftables.conf (-manage-table=false).
nft_dst=$destdir/usr/share/ftpgate/ftpgate.nft

die() { echo "install.sh: $*" >&2; exit 1; }

[[ -f $bin && -x $bin ]] || die "no executable at $bin: run 'make build' first or pass the binary's path"
if [[ -z $destdir && $(id -u) -ne 0 ]]; then
	die "run as root (or set DESTDIR to stage the files elsewhere)"
fi
for f in ftpgate.service ftpgate.default 90-ftpgate.conf ftpgate.yaml policy.star ftpgate.modules ftpgate.sysusers; do
	[[ -f $here/$f ]] || die "missing $here/$f"
done

# put SRC DST MODE: install SRC as DST unless DST already has the same content.
put() {
	if [[ -f $2 ]] && cmp -s "$1" "$2"; then
		echo "unchanged  $2"
	else
		install -D -m "$3" "$1" "$2"
		echo "installed  $2"
	fi
}

unit=$(mktemp)
trap 'rm -f "$unit"' EXIT
sed "s|/usr/sbin/ftpgate|$bin_path|g" "$here/ftpgate.service" >"$unit"

put "$bin" "$bin_dst" 0755
put "$unit" "$unit_dst" 0644
put "$here/90-ftpgate.conf" "$sysctl_dst" 0644
put "$here/ftpgate.modules" "$modules_dst" 0644
put "$here/ftpgate.sysusers" "$sysusers_dst" 0644
put "$here/ftpgate.yaml" "$example_dst" 0644
put "$here/policy.star" "$script_dst" 0644
put "$here/ftpgate.nft" "$nft_dst" 0644
if [[ -e $default_dst ]]; then
	echo "kept       $default_dst (existing; the example is $here/ftpgate.default)"
else
	put "$here/ftpgate.default" "$default_dst" 0644
fi

# The unit runs as the system user and group ftpgate (User=, Group=).
if [[ -z $destdir ]]; then
	if command -v systemd-sysusers >/dev/null; then
		systemd-sysusers "$sysusers_dst"
	elif ! getent passwd ftpgate >/dev/null; then
		useradd --system --user-group --home-dir /nonexistent --no-create-home \
			--shell /usr/sbin/nologin --comment "ftpgate transparent FTP gateway" ftpgate
	fi
	echo "user       ftpgate: $(id ftpgate)"
fi

if [[ -z $destdir && -d /run/systemd/system ]]; then
	systemctl daemon-reload
	echo "reloaded   systemd units"
fi

if [[ -z $destdir ]]; then
	"$bin_dst" version || die "the installed binary does not run on this system"
fi

cat <<'NEXT'

Next steps:
  1. Review the kernel settings and apply them:  sysctl --system
     and load the kernel modules:                systemctl restart systemd-modules-load
  2. Set flags, if any, in /etc/default/ftpgate (FTPGATE_ARGS).
  3. Write /etc/ftpgate/ftpgate.yaml (services and policies; start from the two .example
     files there, renamed without .example) and check it: ftpgate check -c /etc/ftpgate/ftpgate.yaml
     Without it every connection gets the preset readwrite.
  4. Preview what ftpgate will install:          ftpgate rules
  5. Start it now and at boot:                   systemctl enable --now ftpgate
     (after an upgrade:                           systemctl restart ftpgate;
      after editing the configuration:            systemctl reload ftpgate)
  6. Check:  systemctl status ftpgate; journalctl -u ftpgate
             nft list table inet ftpgate; ip rule; ip -6 rule
If you keep your own nftables ruleset, read /usr/share/ftpgate/ftpgate.nft first: include it
from /etc/nftables.conf and run ftpgate with -manage-table=false (FTPGATE_ARGS).
NEXT
