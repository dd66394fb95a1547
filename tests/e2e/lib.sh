# Shared helpers for the end-to-end tests. Each test script sources this,
# runs in its own temporary folder and reports through ok/not_ok; run.sh
# counts the lines.
set -u

COFFER=${COFFER:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build-asan/coffer}
T=$(mktemp -d /tmp/coffer-e2e.XXXXXX)
chmod 755 "$T"
export COFFER_CACHE=$T/cache
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
STORE=$T/store
KEY=$T/key
FAILED=0

cleanup() { rm -rf "$T"; }
trap cleanup EXIT

# ok NAME / not_ok NAME REASON: one result line for run.sh to count.
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $1 (${2:-})"; FAILED=1; }

# run COMMAND...: stdout in $T/out, stderr in $T/err, exit code in $rc.
run() { "$@" >"$T/out" 2>"$T/err"; rc=$?; }

# sanitizer FILE...: an ASan/UBSan report is in the files.
sanitizer() { grep -qE 'Sanitizer|runtime error:' "$@"; }

# is_rc NAME WANT: the last run exited WANT and no sanitizer complained.
is_rc() {
	if sanitizer "$T/err"; then
		not_ok "$1" "sanitizer report: $(grep -m1 -E 'Sanitizer|runtime error:' "$T/err")"
	elif [ "$rc" = "$2" ]; then
		ok "$1"
	else
		not_ok "$1" "exit $rc, want $2: $(tail -3 "$T/err" | tr '\n' ' ')"
	fi
}

# assert NAME COMMAND...: ok if the command succeeds.
assert() {
	local name=$1; shift
	if "$@" >/dev/null 2>&1; then ok "$name"; else not_ok "$name" "false: $*"; fi
}

# flip FILE OFFSET: inverts the byte at OFFSET.
flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# gen TAG SIZE: incompressible bytes determined by $SEED and TAG.
gen() {
	if command -v openssl >/dev/null; then
		openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass "pass:$SEED-$1" </dev/zero 2>/dev/null |
			head -c "$2"
	else
		head -c "$2" /dev/urandom
	fi
}

# field NAME FILE: the number a --json output gives for NAME.
field() { grep -o "\"$1\":[0-9]*" "$2" | head -1 | cut -d: -f2; }

# why FILE: the first error line of a log, for failure messages.
why() { { grep -m1 -E 'runtime error|ERROR|error' "$1" || tail -2 "$1"; } | tr '\n' ' '; }

# verify_restore RP DIR LABEL: RP restores byte-identical to DIR (contents, modes,
# mtimes, link targets); one result line.
verify_restore() {
	local dir=$T/restore rc
	rm -rf "$dir"
	c restore "$1" --to "$dir" >"$T/restore.out" 2>&1; rc=$?
	if [ $rc -ne 0 ]; then
		not_ok "$3: $1 restores" "exit $rc: $(why "$T/restore.out")"
	elif ! diff -r --no-dereference "$2" "$dir" >"$T/diff.out" 2>&1; then
		not_ok "$3: $1 restores byte-identical" "$(head -4 "$T/diff.out" | tr '\n' ' ')"
	elif ! same_tree "$2" "$dir"; then
		not_ok "$3: $1 restores with the same modes and mtimes" \
			"$(diff <(tree_listing "$2") <(tree_listing "$dir") | head -4 | tr '\n' ' ')"
	else
		ok "$3: $1 restores byte-identical"
	fi
	rm -rf "$dir"
}

# check NAME COMMAND...: runs the command; ok if it succeeds.
check() {
	local name=$1; shift
	if "$@" >"$T/check.out" 2>&1; then ok "$name"; else not_ok "$name" "$(tail -3 "$T/check.out" | tr '\n' ' ')"; fi
}

# c ARGS...: coffer on the test store with the test key.
c() { "$COFFER" --store "$STORE" --key-file "$KEY" "$@"; }

init_store() { "$COFFER" --store "$STORE" init --key-file-new "$KEY" >/dev/null; }

# tree_listing DIR: type, mode, size, ns mtime, link target and content hash
# of every entry (folder mtimes included; a folder's size is the file
# system's business, not the backup's), sorted.
tree_listing() {
	(cd "$1" && { find . -type d -printf '%p %y %m %T@\n'; \
		      find . ! -type d -printf '%p %y %m %s %T@ %l\n'; } | sort &&
		find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
}

# same_tree A B: contents, types, modes, symlinks and mtimes equal.
same_tree() {
	[ "$(tree_listing "$1")" = "$(tree_listing "$2")" ]
}

# make_tree DIR: a small tree with every kind of entry.
make_tree() {
	mkdir -p "$1/docs/deep/er" "$1/empty" "$1/bin"
	printf 'hello\n' > "$1/docs/a.txt"
	seq 1 200000 > "$1/docs/deep/numbers.txt"
	head -c 3000000 /dev/urandom > "$1/bin/random.bin"
	ln -s ../docs/a.txt "$1/bin/link"
	ln "$1/docs/a.txt" "$1/docs/hard"
	setfattr -n user.label -v confidential "$1/docs/a.txt"
	truncate -s 20M "$1/sparse" && printf x | dd of="$1/sparse" bs=1 seek=10000000 conv=notrunc 2>/dev/null
	chmod 0640 "$1/docs/deep/numbers.txt"
	touch -d '2001-02-03 04:05:06.123456789' "$1/docs/deep/er"
	mkfifo "$1/fifo"
}

finish() { exit $FAILED; }
