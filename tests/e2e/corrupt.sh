#!/usr/bin/env bash
# Damage in the store: a flipped byte in a data pack, a truncated pack, a
# deleted pack, a flipped byte in an index segment, an altered restore point
# and a deleted restore point. Each case runs on a fresh copy of a good
# store. check --read-data must exit 4 naming every affected restore point
# and file (text and JSON), restore must continue past the damage and name
# what it could not restore, files not affected must still restore
# byte-identical, nothing may be dropped silently, and check/restore must
# not change the store.
. "$(dirname "$0")/lib.sh"

# listing DIR SKIP: names of everything in DIR and the sha256 of every file
# except SKIP (the damaged one).
listing() {
	(cd "$1" && find . -printf '%p %y\n' | LC_ALL=C sort &&
		find . -type f ! -path "./$2" -print0 | LC_ALL=C sort -z | xargs -0r sha256sum)
}

# files DIR: regular files below DIR, relative, sorted.
files() { (cd "$1" && find . -type f -printf '%P\n' | LC_ALL=C sort); }

# ---- a good store with three restore points ----

init_store
S=$T/src
mkdir -p "$S/a" "$S/b"
head -c 2500000 /dev/urandom >"$S/a/big1"
head -c 1500000 /dev/urandom >"$S/a/big2"
for i in $(seq 1 12); do echo "small file $i" >"$S/b/f$i.txt"; done
seq 1 100000 >"$S/b/nums"
run c backup u "$S"
is_rc "backup 1" 0
cp -a "$S" "$T/snap1"
head -c 1200000 /dev/urandom >"$S/a/big3"
echo "changed in 2" >"$S/b/f3.txt"
run c backup u "$S"
is_rc "backup 2" 0
cp -a "$S" "$T/snap2"
head -c 700000 /dev/urandom >"$S/a/big4"
echo "changed in 3" >"$S/b/f4.txt"
run c backup u "$S"
is_rc "backup 3" 0
cp -a "$S" "$T/snap3"
run c check --read-data
is_rc "the good store passes check --read-data" 0

UID_DIR=$(cd "$STORE/units" && ls | head -1)
U=units/$UID_DIR
# Packs by size, largest first (the data packs; metadata packs are small).
mapfile -t PACKS < <(cd "$STORE" && find "$U/packs" -type f -printf '%s %p\n' | sort -rn | awk '{ print $2 }')
# The largest index segment (the first backup's).
SEG=$(cd "$STORE" && find "$U/index" -type f -printf '%s %p\n' | sort -rn | awk 'NR == 1 { print $2 }')

CS=$T/case-store
CC=$T/case-cache
cx() { COFFER_CACHE=$CC "$COFFER" --store "$CS" --key-file "$KEY" "$@"; }

# fresh: a new copy of the good store and its cache.
fresh() {
	rm -rf "$CS" "$CC" "$T"/case-r* "$T/case-g"
	cp -a "$STORE" "$CS"
	cp -a "$COFFER_CACHE" "$CC"
}

# verify CASE DAMAGED RPLEVEL: the checks common to every case. DAMAGED is
# the damaged object (relative to the store); RPLEVEL is the number of a
# restore point that is itself damaged (0 for content damage).
verify() {
	local name=$1 damaged=$2 rplevel=$3 n f bad named identical pick past
	listing "$CS" "$damaged" >"$T/list.before"

	run cx check --read-data
	is_rc "$name: check --read-data exits 4" 4
	cp "$T/err" "$T/check.err"
	run cx --json check --read-data
	is_rc "$name: check --json --read-data exits 4" 4
	cp "$T/out" "$T/check.json"
	assert "$name: check --json prints one JSON object per line with unit and problem" \
		bash -c '[ -s "$1" ] && jq -e -s "all(type == \"object\" and (.unit | type == \"string\") and
			(.problem | type == \"string\") and ((has(\"path\") | not) or (.path | type == \"string\")) and
			((has(\"restorePoint\") | not) or (.restorePoint | type == \"number\")))" "$1"' _ "$T/check.json"
	# "N path" for every file check names.
	jq -r 'select(.restorePoint != null and .path != null) | "\(.restorePoint) \(.path)"' \
		"$T/check.json" 2>/dev/null | LC_ALL=C sort -u >"$T/check.named"
	assert "$name: every file check --json names is also in the text report" \
		bash -c 'while read -r n p; do grep -qF "u@$n $p:" "$2" || exit 1; done <"$1"' _ "$T/check.named" "$T/check.err"

	: >"$T/all.bad"
	past=0 # files restored identical by restores that also met damage
	for n in 1 2 3; do
		run cx restore "u@$n" --to "$T/case-r$n"
		cp "$T/err" "$T/restore$n.err"
		if sanitizer "$T/err"; then
			not_ok "$name: restore u@$n" "sanitizer report: $(grep -m1 -E 'Sanitizer|runtime error:' "$T/err")"
		fi
		if [ "$n" = "$rplevel" ]; then
			assert "$name: restore of the damaged point u@$n fails (exit 1)" [ "$rc" = 1 ]
			assert "$name: its error names the restore point" \
				grep -qE "u@$n|rp/0*$n( |:|$)" "$T/restore$n.err"
			assert "$name: check names the damaged restore point u@$n" \
				bash -c 'jq -e -s "any(.restorePoint == $2)" "$1" && grep -q "u@$2" "$3"' \
				_ "$T/check.json" "$n" "$T/check.err"
			continue
		fi
		bad=""
		identical=0
		for f in $(files "$T/snap$n"); do
			if cmp -s "$T/snap$n/$f" "$T/case-r$n/$f"; then
				identical=$((identical + 1))
			else
				bad="$bad $f"
				echo "$n $f" >>"$T/all.bad"
			fi
		done
		if [ -n "$bad" ]; then
			assert "$name: restore u@$n exits non-zero when files could not be restored ($bad)" \
				[ "$rc" != 0 ]
			named=1
			for f in $bad; do grep -qwF -- "$f" "$T/restore$n.err" || named=0; done
			assert "$name: restore u@$n names every file it did not restore identically ($bad)" [ "$named" = 1 ]
			past=$((past + identical))
		else
			assert "$name: restore u@$n of an unaffected point exits 0" [ "$rc" = 0 ]
		fi
	done

	# Which files share a damaged pack depends on which worker stored them,
	# so one point may lose all its files; later points hold more.
	if [ -s "$T/all.bad" ]; then
		assert "$name: restores go on past the damage ($past files identical)" [ "$past" -gt 0 ]
	fi
	LC_ALL=C sort -u -o "$T/all.bad" "$T/all.bad"
	if [ "$rplevel" = 0 ]; then
		assert "$name: the damage affects at least one file" [ -s "$T/all.bad" ]
		assert "$name: check names at least one file" [ -s "$T/check.named" ]
	fi
	# Every file check names fails to restore or differs, and every file
	# that fails to restore or differs is named by check.
	assert "$name: every file check names is really damaged (extra: $(comm -13 "$T/all.bad" "$T/check.named" | tr '\n' ' '))" \
		bash -c '[ -z "$(comm -13 "$1" "$2")" ]' _ "$T/all.bad" "$T/check.named"
	assert "$name: check names every damaged file (missed: $(comm -23 "$T/all.bad" "$T/check.named" | tr '\n' ' '))" \
		bash -c '[ -z "$(comm -23 "$1" "$2")" ]' _ "$T/all.bad" "$T/check.named"
	for n in $(cut -d' ' -f1 "$T/all.bad" | sort -u); do
		assert "$name: check names the affected restore point u@$n" grep -q "u@$n" "$T/check.err"
	done

	# A file of the latest point that check did not name restores identical.
	pick=""
	for f in a/big1 a/big2 b/nums a/big3 a/big4 b/f1.txt b/f3.txt; do
		if [ "$rplevel" != 3 ] && ! grep -qxF "3 $f" "$T/check.named"; then pick=$f; break; fi
	done
	if [ -n "$pick" ]; then
		run cx restore u@3 --to "$T/case-g" "$pick"
		is_rc "$name: granular restore of $pick (not named by check) succeeds" 0
		assert "$name: $pick restores byte-identical" cmp "$T/snap3/$pick" "$T/case-g/$pick"
	fi

	listing "$CS" "$damaged" >"$T/list.after"
	assert "$name: check and restore changed nothing in the store" cmp "$T/list.before" "$T/list.after"
}

# (a) a flipped byte in the middle of the largest pack
fresh
P=${PACKS[0]}
flip "$CS/$P" $(($(stat -c %s "$CS/$P") / 2))
verify "flipped byte in a pack" "$P" 0

# (b) the second largest pack truncated to half
fresh
P=${PACKS[1]}
truncate -s $(($(stat -c %s "$CS/$P") / 2)) "$CS/$P"
verify "truncated pack" "$P" 0

# (c) the third largest pack deleted
fresh
P=${PACKS[2]}
rm "$CS/$P"
verify "deleted pack" "$P" 0

# (d) a flipped byte in an index segment; the cache is cleared so the
# damaged segment is read.
fresh
rm -rf "$CC"
flip "$CS/$SEG" $(($(stat -c %s "$CS/$SEG") / 2))
# That segment (the first backup's) alone lists u@1's metadata blobs, so u@1
# reads as a damaged point; later points lose the files whose blobs it
# alone listed, and check and restore name them.
verify "flipped byte in an index segment" "$SEG" 1
SEGID=$(basename "$SEG")
assert "flipped byte in an index segment: check names the segment" grep -q "${SEGID:0:12}" "$T/check.err"
# The packs describe themselves: rebuild-index recreates the index from
# them, and then every point restores again.
run cx rebuild-index
is_rc "rebuild-index after a damaged index segment" 0
run cx check --read-data
is_rc "check --read-data passes after rebuild-index" 0
for n in 1 2 3; do
	run cx restore "u@$n" --to "$T/rebuilt-r$n"
	is_rc "restore u@$n after rebuild-index" 0
	assert "u@$n restores byte-identical after rebuild-index" diff -r "$T/snap$n" "$T/rebuilt-r$n"
done

# (e) a flipped byte in restore point 2
fresh
RP2=$U/rp/0000000002
flip "$CS/$RP2" $(($(stat -c %s "$CS/$RP2") / 2))
verify "altered restore point" "$RP2" 2
run cx restore-points u
assert "altered restore point: restore-points still lists u@1 and u@3" \
	bash -c 'grep -q "^u@1 " "$1" && grep -q "^u@3 " "$1"' _ "$T/out"

# (f) restore point 2 of 3 deleted: the chain has a gap
fresh
rm "$CS/$RP2"
verify "deleted restore point" "$RP2" 2
assert "deleted restore point: check reports it missing" grep -qiE "u@2.*(missing|gap|removed)" "$T/check.err"
run cx restore-points u
assert "deleted restore point: restore-points still lists u@1 and u@3" \
	bash -c 'grep -q "^u@1 " "$1" && grep -q "^u@3 " "$1"' _ "$T/out"

finish
