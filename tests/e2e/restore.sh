#!/usr/bin/env bash
# Restore: the metadata round trip (modes, ns mtimes, symlinks, hard links,
# empty folders, user xattrs, fifos, sparse files), in-place rollback after
# ransomware-like damage (rewriting only what was damaged), --dry-run,
# granular restore by path and glob, ls, diff, and restoring older points.
. "$(dirname "$0")/lib.sh"

S=$T/src

# has_line FILE LINE: FILE holds exactly this line.
has_line() { grep -qxF -- "$2" "$1"; }

# state DIR: everything a restore must bring back, one fact per line: type,
# mode, size, ns mtime and target of every entry, the content of every
# file, the hard-link groups and the user xattrs. (lib.sh's same_tree cannot
# be used on make_tree's output: diff -r fails on the fifo.)
state() {
	(
		cd "$1" || exit 1
		find . ! -type d -printf '%p %y %m %s %T@ %l\n' | LC_ALL=C sort
		find . -type d -printf '%p %y %m %T@\n' | LC_ALL=C sort
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum
		find . -type f -links +1 -printf '%i %p\n' | LC_ALL=C sort |
			awk '{ g[$1] = g[$1] " " $2 } END { for (i in g) print "hardlinks" g[i] }' |
			LC_ALL=C sort
		find . ! -type l -print0 | LC_ALL=C sort -z |
			xargs -0r getfattr -h -d -m '^user\.' 2>/dev/null
	)
}

# same_state NAME A B: state A = state B; on failure shows the first differences.
same_state() {
	state "$2" >"$T/state.a"; state "$3" >"$T/state.b"
	if cmp -s "$T/state.a" "$T/state.b"; then ok "$1"
	else not_ok "$1" "$(diff "$T/state.a" "$T/state.b" | head -6 | tr '\n' ' ')"; fi
}

# state_is NAME SAVED DIR: DIR's state equals a saved state file.
state_is() {
	state "$3" >"$T/state.b"
	if cmp -s "$2" "$T/state.b"; then ok "$1"
	else not_ok "$1" "$(diff "$2" "$T/state.b" | head -6 | tr '\n' ' ')"; fi
}

# sparse_ok FILE: allocated space well below the 20 MiB size (the source has one byte of data).
sparse_ok() { [ "$(stat -c %s "$1")" = 20971520 ] && [ $(( $(stat -c %b "$1") * $(stat -c %B "$1") )) -lt 1048576 ]; }

# paths DIR: the relative paths below DIR, sorted, one a line.
paths() { (cd "$1" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort); }

# ---- metadata round trip ----

init_store
make_tree "$S"
printf '#!/bin/sh\necho hi\n' >"$S/bin/tool" && chmod 0755 "$S/bin/tool"
mkdir "$S/private" && echo secret >"$S/private/p" && chmod 0600 "$S/private/p" && chmod 0700 "$S/private"
touch -h -d '2010-01-01 00:00:00.5' "$S/bin/link"
touch -d '1999-12-31 23:59:59.987654321' "$S/private/p"

run c backup u "$S"
is_rc "backup of make_tree's tree" 0
state "$S" >"$T/state1"
cp "$S/docs/deep/numbers.txt" "$T/numbers.v1"

run c restore u --to "$T/r1"
is_rc "restore --to an empty folder" 0
state_is "restored tree equals the source (content, modes, ns mtimes, targets, hard links, xattrs)" \
	"$T/state1" "$T/r1"
assert "hard links share one inode after restore" \
	[ "$(stat -c %i "$T/r1/docs/a.txt")" = "$(stat -c %i "$T/r1/docs/hard")" ]
assert "user xattr restored" [ "$(getfattr --only-values -n user.label "$T/r1/docs/a.txt" 2>/dev/null)" = confidential ]
assert "fifo restored as a fifo" [ -p "$T/r1/fifo" ]
assert "symlink restored with its target" [ "$(readlink "$T/r1/bin/link")" = ../docs/a.txt ]
assert "symlink's own mtime restored" \
	[ "$(stat -c %Y.%y "$T/r1/bin/link")" = "$(stat -c %Y.%y "$S/bin/link")" ]
assert "empty folder restored" bash -c '[ -d "$1" ] && [ -z "$(ls -A "$1")" ]' _ "$T/r1/empty"
assert "nanosecond mtime of a folder restored" \
	[ "$(stat -c %y "$T/r1/docs/deep/er")" = "$(stat -c %y "$S/docs/deep/er")" ]
assert "modes restored (0640, 0755, 0700, 0600)" \
	[ "$(stat -c %a "$T/r1/docs/deep/numbers.txt" "$T/r1/bin/tool" "$T/r1/private" "$T/r1/private/p" | tr '\n' ' ')" = "640 755 700 600 " ]
assert "sparse file stays sparse (st_blocks) with the right size" sparse_ok "$T/r1/sparse"
assert "sparse file content identical" cmp "$S/sparse" "$T/r1/sparse"

run c restore u --to "$T/r1"
is_rc "restoring again into the equal folder succeeds" 0
assert "restoring again writes nothing" grep -q ' 0 files written' "$T/err"
state_is "folder still equal after the second restore" "$T/state1" "$T/r1"

# ---- a second point: added, removed, modified ----

echo added >"$S/docs/added.txt"
rm "$S/bin/random.bin"
seq 1 1000 >>"$S/docs/deep/numbers.txt"
run c backup u "$S"
is_rc "second backup" 0
state "$S" >"$T/state2"
cp -a "$S" "$T/ref2" # the tree as in u@2, for comparisons

run c diff u@1 u@2
is_rc "diff u@1 u@2" 0
cp "$T/out" "$T/diff12"
assert "diff u@1 u@2 shows the added file (+)" has_line "$T/diff12" "+ docs/added.txt"
assert "diff u@1 u@2 shows the removed file (-)" has_line "$T/diff12" "- bin/random.bin"
assert "diff u@1 u@2 shows the modified file (M)" has_line "$T/diff12" "M docs/deep/numbers.txt"
assert "diff u@1 u@2 lists no unchanged file" \
	bash -c '! grep -E "^[-+Mm] (docs/a.txt|docs/hard|sparse|bin/link|bin/tool|fifo|private/p)$" "$1"' _ "$T/diff12"

run c diff u@1 live
is_rc "diff u@1 live" 0
assert "diff u@1 live shows the added file (+)" has_line "$T/out" "+ docs/added.txt"
assert "diff u@1 live shows the removed file (-)" has_line "$T/out" "- bin/random.bin"
assert "diff u@1 live shows the modified file (M)" has_line "$T/out" "M docs/deep/numbers.txt"
assert "diff u@1 live lists no unchanged file" \
	bash -c '! grep -E "^[-+Mm] (docs/a.txt|docs/hard|sparse|bin/link|bin/tool|fifo|private/p)$" "$1"' _ "$T/out"

run c diff u@2 live
is_rc "diff u@2 live (nothing changed)" 0
assert "diff u@2 live reports no added, removed or modified entry" bash -c '! grep -E "^[-+M] " "$1"' _ "$T/out"

# ---- ls ----

run c --json ls u docs/deep
is_rc "ls u docs/deep" 0
jq -r .path "$T/out" 2>/dev/null | LC_ALL=C sort >"$T/ls.paths"
assert "ls RP PATH lists exactly the entries under PATH" \
	[ "$(tr '\n' ' ' <"$T/ls.paths")" = "docs/deep docs/deep/er docs/deep/numbers.txt " ]
run c ls u docs/deep
assert "ls RP PATH (table) names the entries under PATH and nothing else" \
	bash -c 'grep -q " docs/deep/numbers.txt$" "$1" && grep -q " docs/deep/er$" "$1" && ! grep -qE " (docs/a.txt|sparse|bin)$" "$1"' _ "$T/out"
run c --json ls u@1
assert "ls u@1 has the file removed later" bash -c 'jq -r .path "$1" | grep -qx bin/random.bin' _ "$T/out"
run c --json ls u
assert "ls u (latest) does not have it" bash -c 'jq -r .path "$1" | grep -qx docs/added.txt && ! jq -r .path "$1" | grep -qx bin/random.bin' _ "$T/out"

# ---- in-place rollback after ransomware-like damage ----

# Damage: two files overwritten with random bytes (one of them the sparse
# file, which becomes dense), one deleted, new files and a new folder, a
# mode and an xattr changed.
head -c 100000 /dev/urandom >"$T/junk"
dd if="$T/junk" of="$S/docs/deep/numbers.txt" bs=1k count=50 conv=notrunc 2>/dev/null
dd if=/dev/urandom of="$S/sparse" bs=1M seek=2 count=1 conv=notrunc 2>/dev/null
rm "$S/docs/added.txt"
echo 'pay up' >"$S/README_RANSOM.txt"
cp "$T/junk" "$S/docs/deep/er/locked.bin"
mkdir -p "$S/newdir/x" && echo y >"$S/newdir/x/y.txt"
chmod 0777 "$S/bin/tool"
setfattr -n user.label -v pwned "$S/docs/a.txt"
setfattr -n user.extra -v added "$S/bin/tool"

state "$S" >"$T/state.damaged"
run c restore u --in-place --dry-run
is_rc "restore --in-place --dry-run" 0
cp "$T/out" "$T/plan"
state_is "--dry-run changes nothing" "$T/state.damaged" "$S"
assert "--dry-run plan removes the added file" grep -qE '^remove +README_RANSOM.txt$' "$T/plan"
assert "--dry-run plan removes the added folder" grep -qE '^remove +newdir$' "$T/plan"
assert "--dry-run plan rewrites a damaged file" grep -qE '^write +docs/deep/numbers.txt$' "$T/plan"
assert "--dry-run plan restores the deleted file" grep -qE '^write +docs/added.txt$' "$T/plan"
assert "--dry-run plan does not rewrite an intact file" bash -c '! grep -qE "^write +(bin/tool|private/p|docs/a.txt)$" "$1"' _ "$T/plan"

run c restore u --in-place
is_rc "restore u --in-place" 0
cp "$T/err" "$T/inplace.err"
state_is "in-place rollback makes the folder equal to the restore point" "$T/state2" "$S"
assert "in-place rollback removed the added files" \
	bash -c '[ ! -e "$1/README_RANSOM.txt" ] && [ ! -e "$1/docs/deep/er/locked.bin" ] && [ ! -e "$1/newdir" ]' _ "$S"
assert "in-place rollback wrote only the 3 damaged files (summary: 3 files written)" \
	grep -q ' 3 files written' "$T/inplace.err"
assert "sparse file is sparse again after the rollback" sparse_ok "$S/sparse"
assert "hard links still share one inode after the rollback" \
	[ "$(stat -c %i "$S/docs/a.txt")" = "$(stat -c %i "$S/docs/hard")" ]

run c restore u --in-place
is_rc "a second in-place restore of the intact folder succeeds" 0
assert "a second in-place restore writes nothing" grep -q ' 0 files written' "$T/err"

# Damage that keeps size and mtime (the attacker resets the timestamp).
touch -r "$S/docs/deep/numbers.txt" "$T/stamp"
dd if="$T/junk" of="$S/docs/deep/numbers.txt" bs=1k count=20 seek=3 conv=notrunc 2>/dev/null
touch -r "$T/stamp" "$S/docs/deep/numbers.txt"
run c restore u --in-place
is_rc "in-place restore after a same-size overwrite with the mtime reset" 0
assert "in-place rollback also undoes a same-size overwrite whose mtime was reset" \
	cmp "$T/ref2/docs/deep/numbers.txt" "$S/docs/deep/numbers.txt"

# ---- granular restore ----

run c restore u --to "$T/g1" 'docs/*.txt'
is_rc "restore with a glob 'docs/*.txt'" 0
assert "glob restores only the matching entries and their folders" \
	[ "$(paths "$T/g1" | tr '\n' ' ')" = "docs docs/a.txt docs/added.txt " ]
assert "glob-restored files are identical" \
	bash -c 'cmp "$1/docs/a.txt" "$2/docs/a.txt" && cmp "$1/docs/added.txt" "$2/docs/added.txt"' _ "$T/ref2" "$T/g1"

run c restore u --to "$T/g2" docs/deep
is_rc "restore with a folder path" 0
assert "path restores that folder's subtree and its parents only" \
	[ "$(paths "$T/g2" | tr '\n' ' ')" = "docs docs/deep docs/deep/er docs/deep/numbers.txt " ]
assert "path-restored file identical, mode and mtime kept" \
	bash -c 'cmp "$1/docs/deep/numbers.txt" "$2/docs/deep/numbers.txt" &&
		[ "$(stat -c "%a %y" "$1/docs/deep/numbers.txt")" = "$(stat -c "%a %y" "$2/docs/deep/numbers.txt")" ] &&
		[ "$(stat -c %y "$1/docs/deep/er")" = "$(stat -c %y "$2/docs/deep/er")" ]' _ "$T/ref2" "$T/g2"

run c restore u --to "$T/g3" bin/tool private/p
is_rc "restore with two file paths" 0
assert "two paths restore those two files and their folders" \
	[ "$(paths "$T/g3" | tr '\n' ' ')" = "bin bin/tool private private/p " ]

run c restore u --to "$T/g4" docs/hard
is_rc "restore of one hard link alone" 0
assert "a hard link restored alone has its content" cmp "$T/ref2/docs/a.txt" "$T/g4/docs/hard"

# In place with a path: only that path is rolled back, new work elsewhere stays.
echo 'new work' >"$S/keep-me.txt"
echo 'new work' >"$S/docs/keep-me-too.txt"
echo 'damaged' >"$S/private/p"
run c restore u --in-place private/p
is_rc "in-place restore of one path" 0
assert "in-place restore of one path restores it" cmp "$T/ref2/private/p" "$S/private/p"
assert "in-place restore of one path leaves files outside it alone" \
	bash -c '[ -f "$1/keep-me.txt" ] && [ -f "$1/docs/keep-me-too.txt" ]' _ "$S"

# ---- older restore point ----

run c restore u@1 --to "$T/old"
is_rc "restore u@1 after later backups" 0
state_is "u@1 restores the old tree" "$T/state1" "$T/old"
assert "u@1 gives the old content of a file modified later" cmp "$T/numbers.v1" "$T/old/docs/deep/numbers.txt"

# ---- finding a lost file across the points ----

run c --json find u numbers.txt
is_rc "find by name" 0
v1=$(jq -s -r '[.[] | select(.path == "docs/deep/numbers.txt")] | .[0] | "\(.version) \(.firstPoint)"' "$T/out")
nv=$(jq -s '[.[] | select(.path == "docs/deep/numbers.txt")] | length' "$T/out")
equal "find" "versions of a file modified once" "$nv" 2
equal "find" "its first version starts at u@1" "$v1" "1 1"
first2=$(jq -s -r '[.[] | select(.path == "docs/deep/numbers.txt")] | .[1].firstPoint' "$T/out")
run c restore "u@$first2" --to "$T/found2" docs/deep/numbers.txt
assert "the second version found restores as the file's later content" \
	cmp "$T/ref2/docs/deep/numbers.txt" "$T/found2/docs/deep/numbers.txt"
run c --json find u 'docs/deep/*.txt'
assert "a pattern with / matches whole paths" \
	bash -c '[ "$(jq -s "[.[].path] | unique | all(startswith(\"docs/deep/\"))" "$1")" = true ]' _ "$T/out"
run c --json find u NUMBERS.TXT
equal "find" "names match case-sensitively" "$(wc -l <"$T/out")" 0
run c --json find u --ignore-case NUMBERS.TXT
equal "find --ignore-case" "versions found" "$(jq -s 'length' "$T/out")" 2
run c find nosuchunit '*'
assert "find on a unit that does not exist fails naming it" grep -q nosuchunit "$T/err"

finish
