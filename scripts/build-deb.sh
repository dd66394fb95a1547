#!/usr/bin/env bash
# Builds coffer's Debian package, coffer_VERSION_ARCH.deb, from this tree
# with dpkg-buildpackage and debian/ (debhelper 13, dh + meson): the
# binary, man pages, docs, the hardened unit, its user and a default
# /etc/coffer/coffer.conf (docs/service.md "The Debian package").
#
# usage: scripts/build-deb.sh [--version V] [--out DIR] [--work DIR] [--ref REV] [--lintian]
#   --version V  the package's version (default: meson.build's, revision 1;
#                "0.1.1" means 0.1.1-1): for a test of an upgrade
#   --out DIR    where the .deb goes (default build-pkg/)
#   --work DIR   the build's copy of the tree, kept between runs so the next
#                build compiles only what changed (default build-pkg/work)
#   --ref REV    build a commit (git archive) instead of the working tree
#   --lintian    run lintian on the result (when installed)
# Prints the path of the .deb on its last line. Needs the packages in
# scripts/install-deps.sh (debhelper among them).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

version="" out=$root/build-pkg work="" ref="" lintian=0
while [ $# -gt 0 ]; do
	case "$1" in
		--version) version=$2; shift 2 ;;
		--out) out=$2; shift 2 ;;
		--work) work=$2; shift 2 ;;
		--ref) ref=$2; shift 2 ;;
		--lintian) lintian=1; shift ;;
		*) echo "usage: $0 [--version V] [--out DIR] [--work DIR] [--ref REV] [--lintian]" >&2; exit 2 ;;
	esac
done
work=${work:-$out/work}
command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null ||
	{ echo "build-deb: dpkg-buildpackage and debhelper are needed (scripts/install-deps.sh)" >&2; exit 1; }

upstream=$(sed -n "s/^  version : '\([^']*\)'.*/\1/p" meson.build | head -1)
[ -n "$version" ] || version=$upstream-1
case "$version" in *-*) ;; *) version=$version-1 ;; esac
case "$version" in
	[0-9]*) ;;
	*) echo "build-deb: a version starts with a digit: $version" >&2; exit 2 ;;
esac

# The copy: the tree's files (tracked and new, not ignored) or a commit's,
# staged, then copied over the last copy only where their content
# differs, so the build folder inside it (obj-*) rebuilds only what
# changed (a copied file gets the time of the copy, newer than any object).
src=$work/coffer stage=$work/stage
mkdir -p "$src" "$out"
rm -rf "$stage" "$src/debian" # debian/ afresh: debhelper's stamps would skip the build
mkdir -p "$stage"
if [ -n "$ref" ]; then
	git archive --format=tar "$ref" | tar -x -C "$stage"
elif git rev-parse --git-dir >/dev/null 2>&1; then
	# (a tracked file deleted in the tree is left out, not an error)
	git ls-files -z -co --exclude-standard | tar --null --ignore-failed-read -T - -c 2>/dev/null |
		tar -x -C "$stage"
else
	tar -c --exclude='./build*' . | tar -x -C "$stage"
fi
(cd "$stage" && find . -type f -o -type l) | while IFS= read -r f; do
	cmp -s "$stage/$f" "$src/$f" && continue
	mkdir -p "$src/$(dirname "$f")"
	cp -P "$stage/$f" "$src/$f"
done
rm -rf "$stage"

# The version: a changelog entry of its own when it is not the tree's.
if [ "$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)" != "$version" ]; then
	prev=$(cat "$src/debian/changelog")
	{
		printf 'coffer (%s) unstable; urgency=medium\n\n' "$version"
		printf '  * Built from %s by scripts/build-deb.sh.\n\n' "${ref:-the working tree}"
		printf ' -- coffer developers <coffer@lists.coffer.invalid>  %s\n\n' "$(date -R)"
		printf '%s\n' "$prev"
	} >"$src/debian/changelog"
fi

# -b: binary packages only (no source package); -nc: keep the last build's
# objects; nocheck: the suite (tests/run.sh) runs the tests, under
# sanitizers. DEB_BUILD_OPTIONS from the caller are added.
arch=$(dpkg --print-architecture)
deb=coffer_${version#*:}_$arch.deb
rm -f "$work/$deb"
(cd "$src" && DEB_BUILD_OPTIONS="nocheck ${DEB_BUILD_OPTIONS:-}" \
	dpkg-buildpackage -b -us -uc -nc >"$work/build.log" 2>&1) ||
	{ tail -40 "$work/build.log" >&2; echo "build-deb: dpkg-buildpackage failed ($work/build.log)" >&2; exit 1; }
[ -f "$work/$deb" ] || { echo "build-deb: no $deb made ($work/build.log)" >&2; exit 1; }
[ "$work" -ef "$out" ] || mv -f "$work/$deb" "$out/$deb"
if [ $lintian -eq 1 ]; then
	if command -v lintian >/dev/null; then
		lintian --info "$out/$deb" || true
	else
		echo "build-deb: lintian is not installed" >&2
	fi
fi
echo "$out/$deb"
