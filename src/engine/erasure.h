#ifndef COFFER_ERASURE_H
#define COFFER_ERASURE_H

/* What content readers withhold: the erasure ledger of a unit
 * (docs/format.md 10.1, docs/privacy.md 2), loaded once per read and asked
 * about each entry. Every reader that lets content or names leave coffer
 * (restore, listing, find, diff, export, the search index) attaches a set
 * to its tree reader (tree_reader_withhold) and reports what it counted. */

#include <stddef.h>
#include <stdint.h>

struct error;
struct json_object;
struct meta_entry;
struct store_unit;

struct erasure_set;

/* Reads and verifies every record of the unit's ledger. An unverifiable
 * record fails the load (ERROR_CORRUPT naming it): a reader never goes on
 * as if an erasure did not exist. An empty ledger gives an empty set. */
int erasure_set_load(struct store_unit *u, struct erasure_set **es_r, struct error *err);
/* An empty set (nothing withheld), for a reader told to see everything. */
struct erasure_set *erasure_set_empty(void);
void erasure_set_free(struct erasure_set **es);
/* Number of records. */
size_t erasure_set_records(const struct erasure_set *es);

/* The request whose record covers entry e of a point taken at rp_time
 * (Unix seconds), or NULL; owned by the set. Does not count. */
const char *erasure_set_match(const struct erasure_set *es, const struct meta_entry *e,
			      int64_t rp_time);
/* Counts one withheld item of `request` (one of the set's). */
void erasure_set_note(struct erasure_set *es, const char *request);
/* Items counted so far, all requests together. */
uint64_t erasure_set_withheld(const struct erasure_set *es);
/* [{"request": ID, "items": N}] of the requests that withheld anything, in
 * request order; an empty array when nothing was withheld. */
struct json_object *erasure_set_report(const struct erasure_set *es);
/* The same as JSON text the caller frees; NULL when nothing was withheld. */
char *erasure_set_report_text(const struct erasure_set *es);
/* Adds the counts of es into acc, a report array as above (by request):
 * a read over several points or units adds up its sets. */
void erasure_report_add(struct json_object *acc, const struct erasure_set *es);
/* The items of a report array, all requests together. */
uint64_t erasure_report_total(struct json_object *report);

/* A path erasure about to be written (x->patterns, x->cutoff): sets
 * x->keys to the content keys of every file under the patterns in the
 * unit's live points up to the cutoff, so the same file taken again later
 * at that path is withheld too (docs/format.md 10.1). */
struct store_erasure;
int erasure_path_keys(struct store_unit *u, struct store_erasure *x, struct error *err);

/* A copy (the caller frees) of the content keys that hold anywhere in the
 * unit (the records without patterns: mail), sorted. */
void erasure_set_keys(const struct erasure_set *es, uint8_t (**keys_r)[32], size_t *n_r);

/* SHA-256 over the concatenated ids of e's extents: the content key that
 * `keys` of a record name (the message key of a mailbox point). */
void erasure_content_key(const struct meta_entry *e, uint8_t key[32]);

#endif
