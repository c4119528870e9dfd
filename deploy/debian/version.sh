#!/bin/sh
# version.sh — print the Debian version of the checkout: from `git describe --tags --always
# --dirty` (the version `make build` writes into the binary), made a valid Debian version:
#   v1.2.3                 -> 1.2.3
#   v1.2.3-rc1             -> 1.2.3~rc1          (sorts before 1.2.3)
#   v1.2.3-4-gabc1234      -> 1.2.3+git4.abc1234 (4 commits after the tag)
#   abc1234 (no tag)       -> 0.0.0~git20261126.abc1234 (the commit's date, UTC)
#   ...-dirty              -> ...+dirty, or .dirty after a "+"
#   no git                 -> 0.0.0~dev
set -eu
d=$(git describe --tags --always --dirty 2>/dev/null) || d=""
[ -n "$d" ] || { echo 0.0.0~dev; exit 0; }
dirty=""
case $d in *-dirty) dirty=1; d=${d%-dirty} ;; esac
if printf '%s' "$d" | grep -Eq '^v?[0-9]+(\.[0-9]+)+'; then
	v=$(printf '%s' "$d" | sed -E 's/^v//; s/-([0-9]+)-g([0-9a-f]+)$/+git\1.\2/; s/^([0-9.]*[0-9])-/\1~/')
else
	v="0.0.0~git$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y%m%d).$d"
fi
if [ -n "$dirty" ]; then
	case $v in *+*) v="$v.dirty" ;; *) v="$v+dirty" ;; esac
fi
# Anything else a tag may hold becomes a dot.
printf '%s\n' "$v" | sed -E 's/[^A-Za-z0-9.+~]/./g'
