#!/usr/bin/env bash
# Mail search latency over a generated mailbox (docs/performance.md, "Mail
# search"): N messages (default 100,000) in the mailbox layout of
# docs/mail.md, backed up with `coffer backup`, indexed by the first
# `coffer search`, then queries of fourteen kinds, 30 of each with varied
# words (CJK words inside sentences, attachment names and invites' text too).
# Each query's time is what `--timing` reports for mailindex_search() (SQL,
# snippets and the restore-point lists of a 50-result page); the whole
# process's wall time is given beside it.
# usage: COFFER=build-release/coffer bench/search.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
COFFER=$(realpath "${COFFER:-build/coffer}")
# BENCH_DIR=DIR keeps the work (and reuses a corpus generated there before).
if [ -n "${BENCH_DIR:-}" ]; then
	W=$BENCH_DIR; mkdir -p "$W"; rm -rf "$W/store" "$W/cache" "$W/key"
else
	W=$(mktemp -d /tmp/coffer-bench-search.XXXXXX)
	trap 'rm -rf "$W"' EXIT
fi
export COFFER_CACHE=$W/cache
c() { "$COFFER" --store "$W/store" --key-file "$W/key" "$@"; }
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }

"$COFFER" --store "$W/store" init --key-file-new "$W/key" >/dev/null
[ -d "$W/mbox" ] && [ "$(cat "$W/mbox.n" 2>/dev/null)" = "$N" ] ||
	{ rm -rf "$W/mbox"; t=$(now); python3 bench/gen-mailbox.py "$W/mbox" "$N" && echo "$N" >"$W/mbox.n"; echo "generated $N messages: $(secs "$t" "$(now)") s ($(du -sh "$W/mbox" | cut -f1))"; }
t=$(now); c --quiet backup mbox "$W/mbox"; echo "backup: $(secs "$t" "$(now)") s"
t=$(now); c search --unit mbox --subject warmup --limit 1 >/dev/null 2>"$W/idx.err"; echo "first index (parse all): $(secs "$t" "$(now)") s: $(grep 'mail index' "$W/idx.err" || true)"
c --quiet backup mbox "$W/mbox"
t=$(now); c search --unit mbox --subject warmup --limit 1 >/dev/null 2>"$W/idx.err"; echo "index an unchanged restore point: $(secs "$t" "$(now)") s: $(grep 'mail index' "$W/idx.err" || true)"
IX=$(ls "$COFFER_CACHE"/*/mailindex.sqlite)
echo "index size: $(du -sh "$IX" | cut -f1) (+ WAL $(du -sh "$IX-wal" 2>/dev/null | cut -f1 || echo 0))"

# Words and addresses taken from the generated messages.
python3 - "$W/mbox" >"$W/queries" <<'PY'
import os, random, re, sys
root = sys.argv[1]
rnd = random.Random(7)
files = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
sample = rnd.sample(files, 300)
common = "meeting report invoice budget project review update customer order payment server backup".split()
def hdr(data, name):
    m = re.search(rb"^" + name + rb": (.*)$", data, re.M)
    return m.group(1).decode().strip() if m else ""
def rareword(data):
    body = data.split(b"\r\n\r\n", 1)[1].decode(errors="ignore")
    ws = [w for w in re.findall(r"[a-z]{6,}", body) if w not in common]
    return rnd.choice(ws) if ws else "zzz"
def body(data):
    return data.split(b"\r\n\r\n", 1)[1].decode(errors="ignore")
cjk = [f for f in files if b"?utf-8?b?" in open(f, "rb").read(600)]
cjk_runs = []
for f in rnd.sample(cjk, 60):
    runs = [r for r in re.findall(r"[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]{4,}", body(open(f, "rb").read()))]
    if runs:
        cjk_runs.append(rnd.choice(runs))
att = [f for f in rnd.sample(files, 3000) if b'filename="' in open(f, "rb").read()][:30]
cal = [f for f in rnd.sample(files, 6000) if b"BEGIN:VCALENDAR" in open(f, "rb").read()][:30]
q = []
for i in range(30):
    run = cjk_runs[i % len(cjk_runs)]
    k = rnd.randrange(len(run) - 3)
    q.append(("body-cjk-2-chars-in-a-sentence", "--body %s" % run[k:k + 2]))
    q.append(("body-cjk-4-chars-in-a-sentence", "--body %s" % run[k:k + 4]))
    name = re.search(rb'filename="([^".]*)', open(att[i % len(att)], "rb").read()).group(1).decode()
    q.append(("attachment-name", "--attachment %s" % name))
    room = re.search(rb"LOCATION:Room (\w+)", open(cal[i % len(cal)], "rb").read()).group(1).decode()
    q.append(("body-invite-location", "--body %s" % room))
    d = open(sample[i], "rb").read()
    d2 = open(sample[100 + i], "rb").read()
    frm = re.search(r"<(.*)>", hdr(d, b"From")).group(1)
    y, m = 2021 + i % 3, 1 + i % 12
    q.append(("from-address", "--from %s" % frm))
    q.append(("to-address", "--to %s" % hdr(d2, b"To")))
    q.append(("subject-common-word", "--subject %s" % rnd.choice(common)))
    q.append(("body-rare-word", "--body %s" % rareword(d)))
    q.append(("body-two-common-words", "--body %s_%s" % (rnd.choice(common), rnd.choice(common))))
    q.append(("date-month", "--since %d-%02d-01 --until %d-%02d-28" % (y, m, y, m)))
    q.append(("folder+attachment", "--folder %s --has-attachment" % rnd.choice(["Archive/2023", "INBOX", "Sent", "Projects/Alpha"])))
    q.append(("common-word+date", "--subject %s --since %d-01-01 --until %d-06-30" % (rnd.choice(common), y, y)))
    q.append(("unit-only-newest", ""))
    q.append(("rp+body-common", "--rp 1 --body %s" % rnd.choice(common)))
rnd.shuffle(q)
for kind, args in q:
    print(kind + "\t" + args)
PY

: >"$W/times"
while IFS=$'\t' read -r kind args; do
	args=${args//_/ }
	# shellcheck disable=SC2086
	t=$(now)
	if [[ $kind == body-two-common-words ]]; then
		args=${args#--body }
		c --json search --unit mbox --no-update --index "$IX" --timing --body "$args" \
			>/dev/null 2>"$W/q.err" || { echo "query failed: $args"; cat "$W/q.err"; exit 1; }
		args="--body \"$args\""
	else
		c --json search --unit mbox --no-update --index "$IX" --timing $args \
			>/dev/null 2>"$W/q.err" || { echo "query failed: $args"; cat "$W/q.err"; exit 1; }
	fi
	wall=$(echo "($(now) - $t) * 1000" | bc)
	ms=$(sed -n 's/^search: \([0-9]*\) results in \([0-9.]*\) ms$/\2 \1/p' "$W/q.err")
	echo "$kind $ms $wall" >>"$W/times"
done <"$W/queries"

python3 - "$W/times" "$N" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
def pct(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]
kinds = {}
for k, ms, n, wall in rows:
    kinds.setdefault(k, []).append((float(ms), int(n), float(wall)))
print("\n| query kind (30 each, %s messages) | p50 ms | p95 ms | max ms | results/page (median) | p95 wall ms, whole command |" % f"{int(sys.argv[2]):,}")
print("| --- | --: | --: | --: | --: | --: |")
for k in sorted(kinds):
    v = kinds[k]
    print("| %s | %.1f | %.1f | %.1f | %d | %.0f |" % (k, pct([x[0] for x in v], 50), pct([x[0] for x in v], 95),
          max(x[0] for x in v), pct([x[1] for x in v], 50), pct([x[2] for x in v], 95)))
allv = [float(r[1]) for r in rows]
print("| **all %d queries** | %.1f | **%.1f** | %.1f | | %.0f |" % (len(allv), pct(allv, 50), pct(allv, 95), max(allv),
      pct([float(r[3]) for r in rows], 95)))
PY
