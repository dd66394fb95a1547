#ifndef COFFER_IDARRAY_H
#define COFFER_IDARRAY_H

/* Sorted arrays of records that begin with a 32-byte id (pack ids, blob
 * ids): binary search, and insertion that keeps the order. For sets that
 * stay small next to the blobs (packs); the caller owns the array. */

#include <stddef.h>
#include <stdint.h>

/* The record with this id, or NULL. */
void *idarray_find(const void *v, size_t n, size_t size, const uint8_t id[32]);

/* The record with this id, inserted (zeroed but for the id) if missing;
 * the array must have room for one more record. */
void *idarray_add(void *v, size_t *n, size_t size, const uint8_t id[32]);

#endif
