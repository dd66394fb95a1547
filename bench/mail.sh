#!/usr/bin/env bash
# bench/mail.sh — compare coffer's mailbox backup with mbsync (isync).
#
# One throwaway Dovecot on loopback (tests/servers/dovecot.sh) holds alice's
# mailbox: the test corpus of N messages over nested folders (attachments,
# RFC 2047 headers, odd charsets, broken MIME, one 20 MiB message).  Both
# tools take turns on the same server:
#   initial backup   coffer: `mail backup` into a fresh store (encrypted,
#                    compressed);  mbsync: pull every folder into a fresh
#                    Maildir (CopyArrivalDate, so dates survive as with coffer)
#   unchanged re-run the same again, nothing changed on the server (3 each,
#                    taking turns; the median of all)
#   restore          into an empty mailbox (bob for coffer, carol for mbsync):
#                    coffer `mail restore --to-mailbox`; mbsync pushing its
#                    Maildir copy (Sync Push, Create Far)
#   search           coffer only: p50/p95 of `coffer search` queries
# Each time is the median of --runs runs; the restored mailboxes are counted
# and compared with the source.  Prints a table and writes it as Markdown to
# bench/results/mail-<UTC date>.md.
#
# Usage: bench/mail.sh [--messages N] [--runs N] [--reruns N] [--no-restore] [--keep]
#   --reruns N     unchanged re-runs per run and tool (default 3)
#   --no-restore   initial backup and re-runs only (no restore, no search)
# Environment: BENCH_DIR (scratch, default /var/tmp/coffer-bench-mail),
#              COFFER (binary, default <repo>/build/coffer), PORT (default 18900).
set -euo pipefail

BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$BENCH_SRC")
BENCH_DIR=${BENCH_DIR:-/var/tmp/coffer-bench-mail}
COFFER=${COFFER:-$REPO_ROOT/build/coffer}
PORT=${PORT:-18900}
DOVECOT=$REPO_ROOT/tests/servers/dovecot.sh
export LC_ALL=C.UTF-8

MESSAGES=10000 RUNS=3 RERUNS=3 RESTORE=1 KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--messages) MESSAGES=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--reruns) RERUNS=$2; shift 2 ;;
	--no-restore) RESTORE=0; shift ;;
	--keep) KEEP=1; shift ;;
	*) sed -n '2,24s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 2 ;;
	esac
done
command -v mbsync >/dev/null || { echo "mbsync missing: scripts/install-deps.sh --bench" >&2; exit 1; }
[ -x "$COFFER" ] || { echo "no coffer binary at $COFFER (meson setup build && ninja -C build)" >&2; exit 1; }

D=$BENCH_DIR/dovecot
rm -rf "$BENCH_DIR"
mkdir -p "$BENCH_DIR"
cleanup() {
	"$DOVECOT" stop "$D" >/dev/null 2>&1 || true
	[ $KEEP = 1 ] || rm -rf "$BENCH_DIR"
}
trap cleanup EXIT

echo "== corpus: $MESSAGES messages + one of 20 MiB for alice"
"$DOVECOT" start "$D" "$PORT"
"$DOVECOT" corpus "$D" alice "$MESSAGES" >/dev/null
printf secret >"$BENCH_DIR/password"
chmod 600 "$BENCH_DIR/password"

# Times from bash's own clock (EPOCHREALTIME, microseconds): no process is
# started to read it, which would add a few ms to runs that take a few ms.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f\n", b - a }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# timed NAME COMMAND...: runs it, appends the seconds to $BENCH_DIR/t.NAME.
# Also appends to $BENCH_DIR/c.$name the CPU seconds (user + system) the
# step cost: the tool's process and its children, and Dovecot's processes
# (those it reaped included). The load of other processes inflates wall
# time far more than that.
timed() {
	local name=$1 t0 t1 d0 d1 c0 c1
	shift
	d0=$(dovecot_cpu)
	c0=$(children_cpu)
	t0=$EPOCHREALTIME
	"$@" >"$BENCH_DIR/last.log" 2>&1 || { echo "FAILED: $*" >&2; tail -20 "$BENCH_DIR/last.log" >&2; exit 1; }
	t1=$EPOCHREALTIME
	c1=$(children_cpu)
	d1=$(dovecot_cpu)
	elapsed "$t0" "$t1" >>"$BENCH_DIR/t.$name"
	awk -v a="$c0" -v b="$c1" -v c="$d0" -v d="$d1" 'BEGIN { printf "%.3f\n", b - a + d - c }' \
		>>"$BENCH_DIR/c.$name"
	echo "  $name: $(tail -1 "$BENCH_DIR/t.$name") s, $(tail -1 "$BENCH_DIR/c.$name") s CPU"
}
# CPU seconds of this shell's finished children (bash's times builtin: no
# process started, so nothing of the measuring is counted).
children_cpu() {
	local t
	t=$(times | tail -1)
	awk -v t="$t" 'BEGIN { split(t, v, " "); s = 0
		for (i = 1; i <= 2; i++) { split(v[i], p, "m"); s += p[1] * 60 + p[2] }
		printf "%.3f\n", s }'
}
# CPU seconds of Dovecot's process tree so far, reaped children included.
dovecot_cpu() {
	python3 - "$D/run/master.pid" <<'PY'
import os, sys
master = int(open(sys.argv[1]).read())
kids, ticks = {}, {}
for p in filter(str.isdigit, os.listdir("/proc")):
    try:
        st = open("/proc/%s/stat" % p).read()
    except OSError:
        continue
    f = st[st.rindex(")") + 2:].split()
    kids.setdefault(int(f[1]), []).append(int(p))
    ticks[int(p)] = sum(int(x) for x in f[11:15])  # utime stime cutime cstime
todo, total = [master], 0
while todo:
    p = todo.pop()
    total += ticks.get(p, 0)
    todo += kids.get(p, [])
print("%.3f" % (total / os.sysconf("SC_CLK_TCK")))
PY
}

# ------------------------------------------------------------------ mbsync --
mbsync_config() { # USER MAILDIR SYNC
	cat <<C
IMAPAccount $1
Host 127.0.0.1
Port $PORT
User $1
PassCmd "cat $BENCH_DIR/password"
SSLType None
AuthMechs PLAIN
PipelineDepth 64

IMAPStore $1-far
Account $1

MaildirStore $1-near
Path $2/
Inbox $2/INBOX
SubFolders Verbatim

Channel $1
Far :$1-far:
Near :$1-near:
Patterns *
Create ${4:-Near}
Sync $3
SyncState *
CopyArrivalDate yes
C
}

mbsync_pull() { mbsync -q -c "$BENCH_DIR/mbsync-pull.rc" -a; }
mbsync_push() { mbsync -q -c "$BENCH_DIR/mbsync-push.rc" -a; }

# ------------------------------------------------------------------ coffer --
STORE=$BENCH_DIR/store
KEY=$BENCH_DIR/key
COFFER_CACHE=$BENCH_DIR/cache
export COFFER_CACHE
coffer() { "$COFFER" --store "$STORE" --key-file "$KEY" --quiet "$@"; }
coffer_backup() { coffer mail backup alice --host 127.0.0.1 --port "$PORT" --tls none --user alice --password-file "$BENCH_DIR/password"; }
coffer_restore() { coffer mail restore alice@latest --host 127.0.0.1 --port "$PORT" --tls none --user "$1" --password-file "$BENCH_DIR/password"; }

# Message count of USER's whole mailbox, from the Maildir files.
count_mail() { find "$D/mail/$1/Maildir" -path '*/cur/*' -o -path '*/new/*' -type f | grep -c . || true; }
reset_user() { # USER: empty the mailbox
	"$DOVECOT" stop "$D" >/dev/null
	rm -rf "$D/mail/$1"
	"$DOVECOT" start "$D" "$PORT" >/dev/null
}

src_count=$(count_mail alice)
echo "== alice holds $src_count messages, $(du -sm "$D/mail/alice" | cut -f1) MB"

for r in $(seq 1 "$RUNS"); do
	echo "== run $r"
	rm -rf "$STORE" "$KEY" "$COFFER_CACHE" "$BENCH_DIR/mbsync"
	head -c 32 /dev/urandom >"$KEY"
	"$COFFER" --store "$STORE" --key-file "$KEY" --quiet init >/dev/null
	mkdir -p "$BENCH_DIR/mbsync"
	mbsync_config alice "$BENCH_DIR/mbsync" Pull >"$BENCH_DIR/mbsync-pull.rc"

	timed coffer-initial coffer_backup
	timed mbsync-initial mbsync_pull
	# Unchanged re-runs, taking turns (the first run after an initial
	# sync can still have work left: it is not the steady state).
	for _ in $(seq 1 "$RERUNS"); do
		timed coffer-rerun coffer_backup
		timed mbsync-rerun mbsync_pull
	done

	[ $RESTORE = 1 ] || continue
	# Restores go into empty mailboxes: bob for coffer, carol for mbsync
	# (from a copy of its Maildir without sync state, as a restore would).
	reset_user bob
	reset_user carol
	rm -rf "$BENCH_DIR/push"
	cp -a "$BENCH_DIR/mbsync" "$BENCH_DIR/push"
	find "$BENCH_DIR/push" -name '.mbsyncstate*' -delete
	find "$BENCH_DIR/push" -name '.uidvalidity' -delete
	mbsync_config carol "$BENCH_DIR/push" Push Far >"$BENCH_DIR/mbsync-push.rc"
	timed coffer-restore coffer_restore bob
	timed mbsync-restore mbsync_push
	b=$(count_mail bob) c=$(count_mail carol)
	[ "$b" = "$src_count" ] || { echo "coffer restored $b of $src_count messages" >&2; exit 1; }
	[ "$c" = "$src_count" ] || echo "  note: mbsync pushed $c of $src_count messages"
done

# Search latency: 40 queries of different kinds, each timed as a whole
# `coffer search` run (index opened each time, so this is an upper bound).
search_queries=(
	"--from alice" "--subject invoice" "--body meeting" "--has-attachment"
	"--since 2020-01-01 --until 2021-01-01" "--folder INBOX" "--to bob" "--body report --has-attachment"
)
[ $RESTORE = 0 ] || coffer search --unit alice --subject warmup >/dev/null 2>&1 || true   # indexes the restore points
for i in $(seq 1 $((5 * RESTORE))); do
	for q in "${search_queries[@]}"; do
		# shellcheck disable=SC2086
		timed search coffer search --unit alice $q
	done
done >/dev/null

m() { median <"$BENCH_DIR/t.$1"; }
# mc NAME: mean CPU seconds per run (the tick-sized steps average out).
mc() { awk '{ s += $1 } END { printf "%.4f\n", s / NR }' "$BENCH_DIR/c.$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.2f×", b / a; else printf "-" }'; }
p95() { sort -g "$BENCH_DIR/t.$1" | awk '{ v[NR] = $1 } END { i = int(NR * 0.95 + 0.5); if (i < 1) i = 1; printf "%.0f ms", v[i] * 1000 }'; }
p50() { sort -g "$BENCH_DIR/t.$1" | awk '{ v[NR] = $1 } END { printf "%.0f ms", v[int((NR + 1) / 2)] * 1000 }'; }

out=$REPO_ROOT/bench/results/mail-$(date -u +%Y%m%d-%H%M).md
{
	echo "# Mail benchmark, $(date -u +%Y-%m-%d) — coffer vs mbsync ($(mbsync --version))"
	echo
	echo "Command: \`bench/mail.sh --messages $MESSAGES --runs $RUNS --reruns $RERUNS$([ $RESTORE = 1 ] || echo ' --no-restore')\`; $src_count messages, $(du -sm "$D/mail/alice" | cut -f1) MB; Dovecot on loopback; medians of $RUNS runs (re-runs: of all $((RUNS * RERUNS)) per tool, taking turns)."
	echo
	echo "| measurement | coffer | mbsync | coffer/mbsync |"
	echo "| --- | --- | --- | --- |"
	for k in initial rerun $([ $RESTORE = 0 ] || echo restore); do
		echo "| $k | $(m coffer-$k) s | $(m mbsync-$k) s | **$(ratio "$(m coffer-$k)" "$(m mbsync-$k)")** |"
	done
	for k in initial rerun $([ $RESTORE = 0 ] || echo restore); do
		echo "| $k, CPU (tool + Dovecot) | $(mc coffer-$k) s | $(mc mbsync-$k) s | **$(ratio "$(mc coffer-$k)" "$(mc mbsync-$k)")** |"
	done
	echo
	[ $RESTORE = 0 ] ||
		echo "Search (whole \`coffer search\` command, $(wc -l <"$BENCH_DIR/t.search") queries): p50 $(p50 search), p95 $(p95 search)."
	echo "Store: $(du -sm "$STORE" | cut -f1) MB; mbsync Maildir: $(du -sm "$BENCH_DIR/mbsync" | cut -f1) MB."
} | tee "$out"
