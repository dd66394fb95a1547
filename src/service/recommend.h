#ifndef COFFER_RECOMMEND_H
#define COFFER_RECOMMEND_H

/* Recommended restore points (docs/service.md "Recommendations"), from the
 * catalog's per-point statistics alone: no diff is run per request. Kept
 * apart from svc_recommend() so the rule can be tested without a service. */

#include <stddef.h>

struct catalog_rp;
struct json_object;

/* rps: a unit's restore points ascending by seq, forgotten ones left out.
 * Returns a new object {"recommendations":[…],"anomalies":[…]}: up to three
 * "fastest" points (smallest difference from the latest) and, when an
 * anomaly was found, the "beforeAnomaly" point; each with a "reason". */
struct json_object *recommend_points(struct catalog_rp *const *rps, size_t n);

#endif
