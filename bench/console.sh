#!/usr/bin/env bash
# bench/console.sh — the web console with big lists (issue 13, docs/console.md
# "Big lists stay responsive"), in Debian's Chromium driven by
# bench/console.mjs (tests/browser's playwright-core; `npm ci --prefix
# tests/browser` first).
#
# Seeds a release build of `coffer serve`:
#   - a folder unit with POINTS (10,000) restore points: the first taken by
#     the service, the others by `coffer backup` on the tenant's own store
#     (its key from `coffer catalog tenant-key`) with the service stopped, a
#     small change every 100th; then `coffer catalog rebuild` records them
#     all (docs/service.md "Rebuild"): the same rows the service's own
#     backups would write, without queueing 10,000 jobs;
#   - a mailbox unit on a throwaway Dovecot holding MESSAGES (100,000)
#     messages (tests/servers/gen_mail.py corpus, as bench/mail.sh), backed
#     up and indexed by the service; a search by the senders' domain matches
#     every one of them.
# Then measures, as a restore operator: the time to the first render of the
# unit page and of the mail results, each "Older" page, and the JS heap and
# DOM size before and after 20 pages. Prints the results and writes them to
# bench/results/console-<UTC date>.md.
#
# Usage: COFFER=build-release/coffer bench/console.sh [--points N] [--messages N] [--keep]
# Environment: BENCH_DIR (scratch, emptied first; default a new
# /var/tmp/coffer-bench-console.XXXXXX).
# Runs in a network namespace of its own when it can (root), so its fixed
# ports (18940-18942) never meet another run's.
set -euo pipefail

BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH_SRC")
if [ -z "${CONSOLE_BENCH_NETNS:-}" ] && unshare -n true 2>/dev/null; then
	exec unshare -n env CONSOLE_BENCH_NETNS=1 bash -c 'ip link set lo up && exec bash "$0" "$@"' "${BASH_SOURCE[0]}" "$@"
fi
COFFER=$(realpath "${COFFER:-$REPO/build-release/coffer}")
PORT=18940 IPORT=18941 # Dovecot takes IPORT+1 too
POINTS=10000 MESSAGES=100000 KEEP=0 CHANGE_EVERY=100
while [ $# -gt 0 ]; do
	case $1 in
	--points) POINTS=$2; shift 2 ;;
	--messages) MESSAGES=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	*) sed -n '2,27s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 2 ;;
	esac
done
[ -x "$COFFER" ] || { echo "no coffer at $COFFER (meson setup build-release --buildtype=release && ninja -C build-release)" >&2; exit 1; }
[ -d "$REPO/tests/browser/node_modules/playwright-core" ] || { echo "npm ci --prefix tests/browser first" >&2; exit 1; }
grep -q "buildtype.*release" "$(dirname "$COFFER")/meson-info/intro-buildoptions.json" 2>/dev/null ||
	echo "warning: $COFFER may not be a release build" >&2

# A folder of its own unless told: two runs at once must not share one.
W=${BENCH_DIR:-$(mktemp -d /var/tmp/coffer-bench-console.XXXXXX)}
DOVECOT=$REPO/tests/servers/dovecot.sh
D=$W/dovecot
SERVE_PID=
rm -rf "$W"
mkdir -p "$W/src"
cleanup() {
	[ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
	"$DOVECOT" stop "$D" >/dev/null 2>&1 || true
	[ $KEEP = 1 ] || rm -rf "$W"
}
trap cleanup EXIT
now() { date +%s.%N; }
secs() { printf '%.1f' "$(echo "$2 - $1" | bc)"; }
BASE=http://127.0.0.1:$PORT
api() { # TOKEN METHOD PATH [BODY]: the answer on stdout
	local a=(-sf -X "$2" -H "Authorization: Bearer $1")
	[ $# -ge 4 ] && a+=(-H 'Content-Type: application/json' --data-binary "$4")
	curl "${a[@]}" "$BASE$3"
}
serve() {
	"$COFFER" serve --data "$W/data" --listen "127.0.0.1:$PORT" --workers 2 --tick-ms 100 \
		--min-frequency 1 --source-allow "127.0.0.1:$IPORT" >>"$W/serve.out" 2>>"$W/serve.err" &
	SERVE_PID=$!
	for _ in $(seq 1 100); do curl -sf -o /dev/null "$BASE/v1/health" && return 0; sleep 0.1; done
	echo "coffer serve did not start: $(tail -3 "$W/serve.err")" >&2; exit 1
}
serve_stop() { kill "$SERVE_PID"; wait "$SERVE_PID" || true; SERVE_PID=; }
points() { api "$TOK" GET "/v1/tenants/$TID/protectionUnits/$1/restorePoints?order=desc&limit=1" | jq -r '.items[0].seq // 0'; }
wait_for() { # SECONDS COMMAND...: until it succeeds
	local n=$(($1 * 10)); shift
	for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done
	return 1
}

echo "== Dovecot: $MESSAGES messages for alice (in the background)"
"$DOVECOT" start "$D" "$IPORT" >/dev/null
t_corpus=$(now)
# (Its exit code in a file: after 10,000 more children bash may have
# forgotten this one's, and `wait` would fail.)
{ "$DOVECOT" corpus "$D" alice "$MESSAGES" --big-mb 0 >"$W/corpus.out" 2>&1; echo $? >"$W/corpus.rc"; } &

echo "== service, tenant, tokens, a folder unit and its first point"
serve
GTOK=$(grep -m1 '^cft_' "$W/serve.out")
TID=$(api "$GTOK" POST /v1/tenants '{"name":"bench"}' | jq -r .id)
TOK=$(api "$GTOK" POST "/v1/tenants/$TID/tokens" '{"name":"admin","role":"tenantAdmin"}' | jq -r .secret)
OPTOK=$(api "$TOK" POST "/v1/tenants/$TID/tokens" '{"name":"op","role":"restoreOperator"}' | jq -r .secret)
seq 1 2000 >"$W/src/notes.txt"
echo 1 >"$W/src/counter.txt"
UNIT=$(api "$GTOK" POST "/v1/tenants/$TID/protectionUnits" \
	"{\"name\":\"busy-site\",\"kind\":\"site\",\"source\":{\"type\":\"folder\",\"path\":\"$W/src\"}}" | jq -r .id)
api "$TOK" POST "/v1/tenants/$TID/protectionUnits/$UNIT/backup" >/dev/null
has1() { [ "$(points "$UNIT")" = 1 ]; }
wait_for 60 has1 || { echo "the first backup did not finish" >&2; exit 1; }
serve_stop

echo "== $((POINTS - 1)) more restore points with coffer backup on the tenant's store"
"$COFFER" catalog tenant-key "$TID" --key-file-new "$W/tenant.key" --data "$W/data" >/dev/null
export COFFER_CACHE=$W/cli-cache
t=$(now)
for i in $(seq 2 "$POINTS"); do
	# A change every CHANGE_EVERY points, the others unchanged: each change
	# adds an index segment that every later backup reads (docs/format.md),
	# which made 10,000 changing points take hours; a quiet site's points
	# are like this.
	[ $((i % CHANGE_EVERY)) = 0 ] && echo "$i" >"$W/src/counter.txt"
	"$COFFER" --store "$W/data/stores/$TID" --key-file "$W/tenant.key" --quiet backup "$UNIT" "$W/src" >/dev/null
	[ $((i % 1000)) = 0 ] && echo "   $i points, $(secs "$t" "$(now)") s"
done
T_POINTS=$(secs "$t" "$(now)")
t=$(now)
"$COFFER" catalog rebuild --data "$W/data" >"$W/rebuild.json"
T_REBUILD=$(secs "$t" "$(now)")
echo "   backups $T_POINTS s, catalog rebuild $T_REBUILD s"

echo "== the mailbox: backup and index by the service"
while [ ! -s "$W/corpus.rc" ]; do sleep 1; done
[ "$(cat "$W/corpus.rc")" = 0 ] || { echo "the corpus was not written: $(tail -3 "$W/corpus.out")" >&2; exit 1; }
T_CORPUS=$(secs "$t_corpus" "$(now)")
serve
n=$(points "$UNIT")
[ "$n" = "$POINTS" ] || { echo "the unit has $n points after the rebuild, not $POINTS" >&2; exit 1; }
MAIL=$(api "$TOK" POST "/v1/tenants/$TID/protectionUnits" \
	"{\"name\":\"alice\",\"kind\":\"mailbox\",\"source\":{\"type\":\"imap\",\"host\":\"127.0.0.1\",\"port\":$IPORT,\"tls\":\"none\",\"user\":\"alice\",\"auth\":\"login\",\"secret\":\"secret\"}}" | jq -r .id)
t=$(now)
api "$TOK" POST "/v1/tenants/$TID/protectionUnits/$MAIL/backup" >/dev/null
indexed() {
	[ "$(api "$TOK" GET "/v1/tenants/$TID/jobs?unit=$MAIL&kind=backup" |
		jq -r '[.items[] | select(.state == "succeeded")][0].detail.searchIndex.indexed')" = true ]
}
wait_for 1800 indexed || { echo "the mailbox was not backed up and indexed: $(tail -3 "$W/serve.err")" >&2; exit 1; }
T_MAIL=$(secs "$t" "$(now)")
echo "   $T_MAIL s"
MAIL_FROM=example.org
t=$(now)
HITS=$(curl -s -H "Authorization: Bearer $OPTOK" "$BASE/v1/tenants/$TID/search?from=$MAIL_FROM&limit=1" -o "$W/search.json" -w '%{http_code}')
T_SEARCH_API=$(secs "$t" "$(now)")
TOTAL=$(python3 "$REPO/tests/servers/imapcheck.py" "$IPORT" alice total)
MATCH=$(python3 "$REPO/tests/servers/imapcheck.py" "$IPORT" alice from "$MAIL_FROM")
echo "   search from=$MAIL_FROM: HTTP $HITS in $T_SEARCH_API s (one page); $MATCH of the mailbox's $TOTAL messages match (IMAP SEARCH)"

echo "== Chromium"
BASE=$BASE OPTOK=$OPTOK UNIT=$UNIT MAIL_FROM=$MAIL_FROM node "$BENCH_SRC/console.mjs" >"$W/browser.json"
cat "$W/browser.json"

DATE=$(date -u +%Y-%m-%dT%H%M%SZ)
OUT=$REPO/bench/results/console-$DATE.md
python3 - "$W/browser.json" "$OUT" "$POINTS" "$MATCH" "$T_POINTS" "$T_REBUILD" "$T_MAIL" "$(chromium --version 2>/dev/null | head -1)" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
out, points, msgs = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
t_points, t_rebuild, t_mail, chromium = sys.argv[5:9]
def row(name, m):
    b, a = m["before"], m["after"]
    return (f"| {name} | {m['firstRenderMs']:.0f} | {m['olderMs']['median']:.0f} / {m['olderMs']['p95']:.0f} / {m['olderMs']['max']:.0f} "
            f"| {m['rowsShown']} | {b['heapUsedMB']} → {a['heapUsedMB']} | {b['domElements']} → {a['domElements']} "
            f"| {b['domNodes']} → {a['domNodes']} |")
lines = [
    f"# Console benchmark, {out.split('console-')[1][:10]}",
    "",
    f"Command: `bench/console.sh --points {points} --messages {msgs}`; a release build of coffer; {chromium}, headless,",
    "driven by playwright-core over the DevTools protocol (bench/console.mjs), signed in as a restore operator.",
    f"Seeding: {points:,} restore points by `coffer backup` on the tenant's store in {t_points} s, `coffer catalog rebuild` {t_rebuild} s;",
    f"the mailbox ({msgs:,} messages in Dovecot) backed up and indexed by the service in {t_mail} s.",
    "",
    f"First render: from the route change to the page drawn (unit: chart and table of points; mail: the search by",
    f"sender domain typed, \"Search\" pressed and the first page of results shown), median of {r['unit']['firstRenderAllMs'].__len__()} runs.",
    "Older: one page further back (\"Older\" / \"Older results\" pressed to the next page drawn).",
    "Heap: JS heap used after a forced GC (CDP Runtime.getHeapUsage); DOM: elements in the document, and all DOM nodes",
    f"Chromium counts (Memory.getDOMCounters, detached ones included), before and after the {r['unit']['pages']} (unit) and {r['mail']['pages']} (mail) pages.",
    "",
    "| page | first render ms | Older ms (median / p95 / max) | rows shown | JS heap MB | DOM elements | DOM nodes |",
    "| --- | --: | --: | --: | --: | --: | --: |",
    row(f"unit, {points:,} restore points", r["unit"]),
    row(f"mail search, {msgs:,} results", r["mail"]),
    "",
    "Console errors or CSP violations during the run: " + ("none" if not r.get("problems") else "; ".join(r["problems"][:5])),
]
open(out, "x").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
echo "== written to $OUT"
