#!/usr/bin/env bash
# bench/startup.sh — how long a small command takes: listing the restore
# points of a small store, coffer vs restic.
#
# One small data set (200 files, 3 restore points of it) in a coffer store
# and in a restic repository, both encrypted; then
#   coffer restore-points   (key file, as bench/run.sh; and a passphrase,
#                           whose Argon2id is most of that line)
#   restic snapshots        (password, as bench/run.sh; restic --no-cache)
# taking turns, --runs rounds (default 200), each a whole process started
# with posix_spawn. Prints medians, p90 and the ratios, the shared libraries
# each process maps, and writes it all as Markdown to
# bench/results/startup-<UTC date>.md.
#
# Usage: bench/startup.sh [--runs N] [--keep]
# Environment: BENCH_DIR (scratch, default /var/tmp/coffer-bench-startup),
#              COFFER (binary, default <repo>/build/coffer).
set -euo pipefail

BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$BENCH_SRC")
BENCH_DIR=${BENCH_DIR:-/var/tmp/coffer-bench-startup}
COFFER=${COFFER:-$REPO_ROOT/build/coffer}
export LC_ALL=C.UTF-8

RUNS=200 KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	*) sed -n '2,18s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 2 ;;
	esac
done
command -v restic >/dev/null || { echo "restic missing: scripts/install-deps.sh --bench" >&2; exit 1; }
[ -x "$COFFER" ] || { echo "no coffer binary at $COFFER (meson setup build && ninja -C build)" >&2; exit 1; }

rm -rf "$BENCH_DIR"
mkdir -p "$BENCH_DIR/data"
[ $KEEP = 1 ] || trap 'rm -rf "$BENCH_DIR"' EXIT

echo "== data: 200 files, 3 restore points"
python3 - "$BENCH_DIR/data" <<'PY'
import os, random, sys
r = random.Random(14)
for i in range(200):
    d = os.path.join(sys.argv[1], "d%02d" % (i % 10))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%03d.txt" % i), "wb") as f:
        f.write(r.randbytes(r.randrange(100, 20000)))
PY
STORE=$BENCH_DIR/store KEY=$BENCH_DIR/key
printf 'correct horse battery staple\n' >"$BENCH_DIR/passphrase"
export RESTIC_REPOSITORY=$BENCH_DIR/restic RESTIC_PASSWORD=coffer-bench-password
export COFFER_CACHE=$BENCH_DIR/cache
"$COFFER" --quiet --store "$STORE" init --key-file-new "$KEY"
"$COFFER" --quiet --store "$STORE" --key-file "$KEY" key add \
	--passphrase-file-new "$BENCH_DIR/passphrase" >/dev/null
restic --quiet init --repository-version 2 >/dev/null
for i in 1 2 3; do
	echo "round $i" >"$BENCH_DIR/data/changing.txt"
	"$COFFER" --quiet --store "$STORE" --key-file "$KEY" backup data "$BENCH_DIR/data"
	(cd "$BENCH_DIR/data" && restic --quiet --no-cache backup --tag data . >/dev/null)
done

# The commands, one per line: a label, a tab, the command (shell words).
cat >"$BENCH_DIR/commands" <<C
coffer restore-points (key file)	$COFFER --store $STORE --key-file $KEY restore-points
coffer restore-points (passphrase)	$COFFER --store $STORE --passphrase-file $BENCH_DIR/passphrase restore-points
restic snapshots	restic --no-cache snapshots
coffer --version	$COFFER --version
C

# Libraries each maps: what the dynamic loader opens (LD_DEBUG=files).
libs() { LD_DEBUG=files "$@" 2>&1 >/dev/null | grep -c 'file=.*\[0\];  needed by\|file=.*\[0\];  dynamically loaded' || true; }

python3 - "$BENCH_DIR/commands" "$RUNS" >"$BENCH_DIR/times" <<'PY'
import os, shlex, statistics, sys, time
cmds = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
runs = int(sys.argv[2])
null = os.open(os.devnull, os.O_WRONLY)
fa = [(os.POSIX_SPAWN_DUP2, null, 1), (os.POSIX_SPAWN_DUP2, null, 2)]
t = {label: [] for label, _ in cmds}
cpu = {label: [] for label, _ in cmds}
env = dict(os.environ)
def run(argv):
    path = argv[0] if "/" in argv[0] else next(
        os.path.join(d, argv[0]) for d in env["PATH"].split(":")
        if os.access(os.path.join(d, argv[0]), os.X_OK))
    t0 = time.perf_counter()
    pid = os.posix_spawn(path, argv, env, file_actions=fa)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        sys.exit("failed: " + " ".join(argv))
    return wall, ru.ru_utime + ru.ru_stime
for label, c in cmds:  # warm up
    for _ in range(5):
        run(shlex.split(c))
for _ in range(runs):  # taking turns
    for label, c in cmds:
        w, u = run(shlex.split(c))
        t[label].append(w)
        cpu[label].append(u)
for label, _ in cmds:
    v = sorted(t[label])
    print("%s\t%.2f\t%.2f\t%.2f" % (label, statistics.median(v) * 1e3, v[int(len(v) * 0.9)] * 1e3,
                                  statistics.median(cpu[label]) * 1e3))
PY

col() { awk -F'\t' -v l="$1" -v c="$2" '$1 == l { print $c }' "$BENCH_DIR/times"; }
med() { col "$1" 2; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
RESTIC=$(med "restic snapshots") RESTIC_CPU=$(col "restic snapshots" 4)
OUT=$BENCH_SRC/results/startup-$(date -u +%Y-%m-%dT%H%M%SZ).md
{
	echo "# Start-up: coffer restore-points vs restic snapshots, $(date -u +%F)"
	echo
	echo "Command: \`bench/startup.sh --runs $RUNS\` (coffer $(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'),"
	echo "$(restic version | cut -d' ' -f1-2)); a store and a repository of 200 files and 3 points; the"
	echo "tools take turns; each run is a whole process. Wall time is what a user waits; CPU"
	echo "time (user + system, of the process) is what the machine's load does not inflate."
	echo "Load average when done: $(cut -d' ' -f1-3 /proc/loadavg)."
	echo
	echo "| command | wall median ms | wall p90 ms | CPU median ms | restic / this, wall | restic / this, CPU | shared libraries opened |"
	echo "| --- | --: | --: | --: | --: | --: | --: |"
	while IFS=$'\t' read -r label c; do
		read -r -a argv <<<"$c"
		printf '| %s | %s | %s | %s | %s× | %s× | %s |\n' "$label" "$(med "$label")" \
			"$(col "$label" 3)" "$(col "$label" 4)" "$(ratio "$RESTIC" "$(med "$label")")" \
			"$(ratio "$RESTIC_CPU" "$(col "$label" 4)")" "$(libs "${argv[@]}")"
	done <"$BENCH_DIR/commands"
} | tee "$OUT"
echo "written to $OUT"
