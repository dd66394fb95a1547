#!/bin/bash
# The catalog on PostgreSQL (docs/service.md "Catalog"): every catalog unit
# test case again on a real PostgreSQL 15 started here (a schema per
# case), and what only several processes sharing it show: two processes
# claiming from one queue never take the same job nor two jobs of one
# unit; two processes queueing the same jobs get one job each, and both
# its id; two processes appending 200 audit entries each keep one valid
# chain; a lapsed lease lets another node take a job over and the old
# holder's heartbeat, detail and finish are refused (ERROR_CONFLICT); the
# server restarted between two calls: the next call works. Port 18660.
. "$(dirname "$0")/lib.sh"

UNIT=${UNIT:-$(dirname "$COFFER")/tests/unit}
if [ ! -x "$UNIT" ]; then
	not_ok "catalog_pg: the unit test binary is built" "no $UNIT"
	finish
fi
if ! pg_start 18660; then
	not_ok "catalog_pg: PostgreSQL 15 starts" "$(tail -3 "$T/pg/log" 2>/dev/null | tr '\n' ' ')"
	finish
fi
ok "catalog_pg: PostgreSQL 15 starts on 127.0.0.1:18660"

COFFER_TEST_PG_URL=$PG_URL COFFER_TEST_PG_RESTART="bash $PG_SH restart $PG_DIR" \
	"$UNIT" catalog_pg >"$T/unit.out" 2>"$T/unit.err"
rc=$?
# The unit harness's TAP lines, as this script's.
grep -E '^(not )?ok - ' "$T/unit.out" | sed -E 's/^(not )?ok - /&catalog_pg: /'
grep -q '^not ok - ' "$T/unit.out" && FAILED=1
n=$(grep -cE '^(not )?ok - ' "$T/unit.out")
if [ "$rc" -ne 0 ] && [ "$FAILED" = 0 ]; then
	not_ok "catalog_pg: the unit tests exit 0" "exit $rc: $(tail -3 "$T/unit.err" | tr '\n' ' ')"
elif [ "$n" -lt 19 ]; then
	not_ok "catalog_pg: every PostgreSQL case ran" "$n of 19 ran: $(tail -3 "$T/unit.err" | tr '\n' ' ')"
fi
if sanitizer "$T/unit.err"; then
	not_ok "catalog_pg: no sanitizer report" "$(grep -m1 -E 'Sanitizer|runtime error:' "$T/unit.err")"
fi
finish
