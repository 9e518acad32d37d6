#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make install / make uninstall into a DESTDIR, and the systemd units through
# systemd-analyze verify (when present).
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
dest=$(mktemp -d /tmp/svcnat-install.XXXXXX) || exit 1
trap 'rm -rf "$dest"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

make -s BUILD="$BUILD" DESTDIR="$dest" PREFIX=/usr SYSCONFDIR=/etc install >/dev/null || fail "make install"
for f in usr/sbin/svcnat usr/share/man/man8/svcnat.8 usr/share/man/man5/svcnat.yaml.5 \
	 usr/lib/systemd/system/svcnat.service usr/lib/systemd/system/svcnat.path \
	 usr/lib/systemd/system/svcnat-reconcile.timer usr/lib/systemd/system/svcnat-healthcheck.service \
	 etc/svcnat/svcnat.yaml etc/cron.d/svcnat.example; do
	[ -e "$dest/$f" ] || fail "make install did not install /$f"
done
grep -q '^ExecStart=/usr/sbin/svcnat ' "$dest/usr/lib/systemd/system/svcnat.service" || fail "ExecStart not substituted"
"$dest/usr/sbin/svcnat" --version >/dev/null || fail "installed binary does not run"

if command -v systemd-analyze >/dev/null; then
	units=$(mktemp -d /tmp/svcnat-units.XXXXXX) || exit 1
	trap 'rm -rf "$dest" "$units"' EXIT
	# Verify against the built binary (the installed path is inside DESTDIR).
	for u in svcnat.service svcnat.path svcnat-reconcile.timer svcnat-healthcheck.service; do
		sed "s|@SBINDIR@|$(realpath "$BUILD")|g" "contrib/systemd/$u" > "$units/$u"
	done
	out=$(cd "$units" && systemd-analyze verify --man=no ./svcnat.service ./svcnat.path ./svcnat-reconcile.timer \
		./svcnat-healthcheck.service 2>&1)
	[ -z "$out" ] || fail "systemd-analyze verify: $out"
else
	echo "SKIP: systemd-analyze not installed: units not verified" >&2
fi

make -s BUILD="$BUILD" DESTDIR="$dest" PREFIX=/usr SYSCONFDIR=/etc uninstall >/dev/null || fail "make uninstall"
left=$(find "$dest" -type f)
[ -z "$left" ] || fail "make uninstall left: $left"
echo "install, uninstall and units: ok"
