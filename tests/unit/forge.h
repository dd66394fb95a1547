#ifndef COFFER_TEST_FORGE_H
#define COFFER_TEST_FORGE_H

/* What someone holding only the store key (and write access to the store
 * folder) can do, for tests of the deletion key (docs/format.md 7.1, 9):
 * write a tombstone as a coffer without deletion keys did, unsigned. Used
 * by the unit tests and by tests/e2e/forge_tombstone.c. */

#include <stdint.h>

struct error;
struct store_unit;

/* Puts an unsigned tombstone for live point `seq` of u (sealed with the
 * unit key, as rp_forget wrote before the deletion key existed); with
 * remove_manifest, then deletes rp/<seq> straight from the folder `root`,
 * bypassing coffer's deletion path. */
int forge_tombstone(const char *root, struct store_unit *u, uint32_t seq, int remove_manifest,
		    struct error *err);

#endif
