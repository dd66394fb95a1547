#ifndef COFFER_WRITERS_H
#define COFFER_WRITERS_H

/* The writer markers of one unit, as a run that deletes (prune,
 * compaction) uses them (docs/prune.md "Words"): its own marker
 * sessions/<32 hex>, so that such runs see each other; the writers listed
 * at check 1; the check before deleting (no other writer open, none new
 * since check 1); and the tidying of ended and timed-out markers. A marker
 * whose body cannot be parsed counts as open and is reported. */

#include <stdint.h>

struct error;
struct store_unit;
struct writers;

/* For unit u (borrowed, as is unit_name, used in messages); a start marker
 * older than timeout seconds is a dead writer. Lists nothing yet. */
struct writers *writers_create(struct store_unit *u, const char *unit_name, int64_t timeout);

/* Frees w (NULL is fine) and sets *w to NULL. Does not touch the store:
 * call writers_unmark() first. */
void writers_destroy(struct writers **w);

/* Writes our own start marker (body: unix time). On failure there is none. */
int writers_mark(struct writers *w, struct error *err);

/* Removes our own marker, if any. One the server locks is ended with a
 * .end marker instead, so that the next run does not take it for an open
 * writer; a failure is logged (it times out). `who` ("prune") names the
 * run in messages. */
void writers_unmark(struct writers *w, const char *who);

/* Check 1: lists the unit's markers and reads the start of each open one
 * (not ours). Errors are those of listing sessions/. */
int writers_load(struct writers *w, struct error *err);

/* Whether a writer other than us was open at check 1. */
int writers_open(const struct writers *w);

/* The check before deleting: 1 if no other writer is open now and none
 * appeared since check 1, 0 if one did, -1 if the markers cannot be
 * listed. */
int writers_recheck(struct writers *w, struct error *err);

/* Deletes the markers check 1 found ended (start first, so a crash leaves
 * a lone .end, removed next time) or timed out, and lone .end markers; not
 * ours. Markers the server locks stay for a later run (logged). Adds the
 * markers deleted to *deleted_r. Call only with no other writer open. */
int writers_tidy(struct writers *w, uint64_t *deleted_r, struct error *err);

#endif
