#!/usr/bin/env bash
# Server soak (scripts/soak.sh; not in the suite): a real `coffer serve`
# (COFFER: a release build, so its memory is its own) under CLIENTS clients
# (default 50) for MINUTES minutes (default 30). The clients mix what users
# and the console do: list units, points, jobs, sessions, policies and the
# audit log, browse a point's items, find a file, the overview and
# /metrics, ask for a backup, plan a restore (dry run) and now and then run
# a restore to a new location. A scheduler policy backs the units up every
# minute meanwhile, and the sources change.
#
# Checks: no request fails (a transport error, a 5xx, or a status the
# request does not allow: a backup asked for while one runs may get 409),
# the server's resident memory and open files are flat after warm-up (the
# last fifth's median at most 10 % + 8 MiB above the second fifth's), it
# still answers and stops cleanly, and the audit chain verifies.
. "$(dirname "$0")/../e2e/lib.sh"

seed_random
MINUTES=${MINUTES:-30}
CLIENTS=${CLIENTS:-50}
PORT=${SOAK_PORT:-18690}
URL=http://127.0.0.1:$PORT
need_tools serve curl jq python3

cat >"$T/serve.conf" <<EOF
data = $T/data
listen = 127.0.0.1:$PORT
workers = 2
min_frequency = 1
EOF
if ! serve_start serve "$URL" --config "$T/serve.conf"; then
	not_ok "coffer serve starts" "$(serve_why serve)"; finish
fi
ok "coffer serve starts on $URL"
GTOK=$(head -1 "$T/serve.out")
tenant soak || { not_ok "a tenant and its admin token" "$(head -c 300 "$T/resp")"; finish; }
api "$TOK" POST "/v1/tenants/$TID/tokens" '{"name":"op","role":"restoreOperator"}'
OTOK=$(j .secret)

# Three folder units of a few hundred files each, one of them large.
UNITS=()
for n in 1 2 3; do
	make_tree "$T/src$n"
	for i in $(seq 1 $((n * 100))); do gen "s$n-$i" $((RANDOM % 20000)) >"$T/src$n/docs/f$i"; done
	api "$GTOK" POST "/v1/tenants/$TID/protectionUnits" \
		"{\"name\":\"unit$n\",\"kind\":\"account\",\"source\":{\"type\":\"folder\",\"path\":\"$T/src$n\"}}"
	UNITS+=("$(j .id)")
done
units_json=$(printf '"%s",' "${UNITS[@]}")
api "$TOK" POST "/v1/tenants/$TID/protectionPolicies" \
	"{\"name\":\"every-minute\",\"kind\":\"account\",\"frequencySeconds\":60,\"state\":\"active\",\"units\":[${units_json%,}]}"
expect "a policy backs the three units up every minute" 201
for u in "${UNITS[@]}"; do api "$TOK" POST "/v1/tenants/$TID/protectionUnits/$u/backup"; done
has_a_point() { [ "$(rp_count "$1")" -ge 1 ] 2>/dev/null; }
for u in "${UNITS[@]}"; do
	until_true 120 has_a_point "$u" || { not_ok "unit $u has a first point" "$(head -c 300 "$T/resp")"; finish; }
done
ok "the three units have their first points"

# Sources change while the soak runs: a few files a minute.
( while sleep 7; do
	n=$((RANDOM % 3 + 1)); gen "c$RANDOM" $((RANDOM % 50000)) >"$T/src$n/docs/f$((RANDOM % 300 + 1))"
  done ) &
CHURN=$!
trap 'kill $CHURN 2>/dev/null; cleanup' EXIT

python3 - "$URL" "$TOK" "$OTOK" "$TID" "$SERVE_PID" "$MINUTES" "$CLIENTS" "$T/restored" \
	"${UNITS[@]}" >"$T/load.out" 2>&1 <<'PY'
import json, os, random, sys, threading, time, urllib.request, urllib.error
url, tok, otok, tid, pid, minutes, clients, restored = sys.argv[1:9]
units = sys.argv[9:]
minutes, clients, pid = float(minutes), int(clients), int(pid)
T = f"/v1/tenants/{tid}"

def call(method, path, body=None, token=tok):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method=method,
                                 headers={"Authorization": "Bearer " + token,
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()

def latest(u):
    st, b = call("GET", f"{T}/protectionUnits/{u}/restorePoints?order=desc&limit=1")
    items = json.loads(b).get("items", []) if st == 200 else []
    return items[0]["seq"] if items else None

# Each request: (weight, function returning (status, allowed statuses, name)).
def get(path, name):
    return lambda: (*call("GET", path)[:1], {200}, name)
def items():
    u = random.choice(units); s = latest(u)
    return call("GET", f"{T}/protectionUnits/{u}/restorePoints/{s}/items?path=/docs")[0], {200}, "items"
def find():
    u = random.choice(units)
    return call("GET", f"{T}/protectionUnits/{u}/find?name=f1*")[0], {200}, "find"
def backup():
    u = random.choice(units)
    return call("POST", f"{T}/protectionUnits/{u}/backup")[0], {202, 409}, "backup"
def plan():
    u = random.choice(units)
    return call("POST", f"{T}/restoreSessions", {"dryRun": True, "items": [
        {"unit": u, "restorePoint": latest(u), "mode": "inPlace"}]}, otok)[0], {200, 409}, "plan"
def restore():
    u = random.choice(units)
    return call("POST", f"{T}/restoreSessions", {"items": [
        {"unit": u, "restorePoint": latest(u), "mode": "newLocation", "paths": ["docs/f1"]}]},
        otok)[0], {201, 409}, "restore"
mix = [(10, get(f"{T}/protectionUnits", "units")), (8, get(f"{T}/overview", "overview")),
       (8, lambda: get(f"{T}/protectionUnits/{random.choice(units)}/restorePoints?order=desc", "points")()),
       (6, get(f"{T}/jobs", "jobs")), (4, get(f"{T}/restoreSessions?order=desc", "sessions")),
       (4, get(f"{T}/protectionPolicies", "policies")), (4, get(f"{T}/auditLog?order=desc", "audit")),
       (4, get("/metrics", "metrics")), (6, get("/v1/whoami", "whoami")),
       (8, items), (4, find), (2, backup), (2, plan), (1, restore)]
weights = [w for w, _ in mix]

stop = time.monotonic() + minutes * 60
lock = threading.Lock()
count, errors, by_name = 0, [], {}
def client(k):
    global count
    rnd = random.Random(k)
    while time.monotonic() < stop:
        f = rnd.choices(mix, weights)[0][1]
        try:
            st, allowed, name = f()
            bad = st not in allowed
            why = f"{name}: HTTP {st}"
        except Exception as e:
            bad, name, why = True, "?", f"{type(e).__name__}: {e}"
        with lock:
            count += 1
            by_name[name] = by_name.get(name, 0) + 1
            if bad: errors.append(why)

def status(field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field): return int(line.split()[1])
samples = []  # (seconds, rss KiB, open files, threads, anonymous KiB, file-backed KiB)
def sampler():
    t0 = time.monotonic()
    while time.monotonic() < stop:
        samples.append((time.monotonic() - t0, status("VmRSS:"), len(os.listdir(f"/proc/{pid}/fd")),
                        status("Threads:"), status("RssAnon:"), status("RssFile:")))
        time.sleep(5)

threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
threads.append(threading.Thread(target=sampler))
for t in threads: t.start()
for t in threads: t.join()

def median(xs): xs = sorted(xs); return xs[len(xs) // 2]
n = len(samples); fifth = max(1, n // 5)
early, late = samples[fifth:2 * fifth], samples[-fifth:]
rss_e, rss_l = median([s[1] for s in early]), median([s[1] for s in late])
fd_e, fd_l = median([s[2] for s in early]), median([s[2] for s in late])
print(f"requests={count} errors={len(errors)} minutes={minutes:g} clients={clients}")
print("by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(by_name.items())))
print(f"rss_kib early={rss_e} late={rss_l} max={max(s[1] for s in samples)} "
      f"fds early={fd_e} late={fd_l} max={max(s[2] for s in samples)} "
      f"threads max={max(s[3] for s in samples)}")
per_min = {}
for t, rss, *_ in samples: per_min.setdefault(int(t // 60), rss)
# Anonymous memory is the heap; file-backed is mapped index segments and
# the catalog, which grow with the store.
print(f"anon_kib early={median([s[4] for s in early])} late={median([s[4] for s in late])} "
      f"file_kib early={median([s[5] for s in early])} late={median([s[5] for s in late])}")
print("rss_mib by minute: " + " ".join(f"{v / 1024:.0f}" for _, v in sorted(per_min.items())))
print(f"rss_flat={int(rss_l <= rss_e * 1.10 + 8192)} fds_flat={int(fd_l <= fd_e + 8)}")
for e in sorted(set(errors))[:10]: print("error:", e, "x", errors.count(e))
PY
kill $CHURN 2>/dev/null
while read -r line; do echo "# $line"; done <"$T/load.out"
req=$(sed -n 's/^requests=\([0-9]*\).*/\1/p' "$T/load.out")
errs=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' "$T/load.out")
if [ -n "$req" ] && [ "$req" -gt 0 ] && [ "$errs" = 0 ]; then
	ok "$req requests from $CLIENTS clients in $MINUTES minutes: no errors"
else
	not_ok "$CLIENTS clients for $MINUTES minutes: no errors" "$(grep -m3 'error' "$T/load.out" | tr '\n' ' ')"
fi
grep -q 'rss_flat=1' "$T/load.out" && ok "resident memory is flat after warm-up ($(grep -o 'rss_kib[^f]*' "$T/load.out"))" ||
	not_ok "resident memory is flat after warm-up" "$(grep rss_kib "$T/load.out")"
grep -q 'fds_flat=1' "$T/load.out" && ok "open files are flat" ||
	not_ok "open files are flat" "$(grep rss_kib "$T/load.out")"

api "$TOK" GET "/v1/tenants/$TID/auditLog/verify"
[ "$code" = 200 ] && [ "$(j .ok)" = true ] && ok "the audit chain verifies after the soak" ||
	not_ok "the audit chain verifies after the soak" "HTTP $code $(head -c 200 "$T/resp")"

serve_stop
[ "$stop_rc" = 0 ] && ok "the server stops cleanly on SIGTERM" || not_ok "the server stops cleanly on SIGTERM" "exit $stop_rc"
# With an ASan build (COFFER=build-asan/coffer), leaks show at exit.
if sanitizer "$T/serve.err"; then
	not_ok "the server ran without sanitizer reports" "$(grep -m3 -E 'Sanitizer|runtime error|Direct leak|Indirect leak' "$T/serve.err" | tr '\n' ' ')"
	cp "$T/serve.err" "${SOAK_KEEP:-/tmp}/soak-serve.err"
else
	ok "the server ran without sanitizer reports"
fi
finish
