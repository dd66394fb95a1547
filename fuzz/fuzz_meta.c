/* Fuzzes meta_entry_decode(): the input is a metadata stream (records back
 * to back, docs/format.md section 8). Every record that decodes must encode
 * back to the same bytes, survive a deep copy, and the path order must be
 * antisymmetric. */

#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

#include "engine/meta.h"
#include "lib/buf.h"
#include "lib/error.h"

static int sign(int v) { return (v > 0) - (v < 0); }

static void check_record(const struct meta_entry *e, const uint8_t *rec, size_t len,
			 struct buf *enc)
{
	struct meta_entry copy;

	buf_reset(enc);
	meta_entry_encode(e, enc);
	if (enc->len != len || memcmp(enc->data, rec, len) != 0) {
		fprintf(stderr, "fuzz_meta: record of %zu bytes re-encodes to %zu different bytes\n",
			len, enc->len);
		abort();
	}
	meta_entry_copy(&copy, e);
	if (!meta_same_attrs(e, &copy) || !meta_same_content(e, &copy) ||
	    meta_path_cmp(e->path, copy.path) != 0) {
		fprintf(stderr, "fuzz_meta: a copy of a record differs from it\n");
		abort();
	}
	meta_entry_clear(&copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err;
	struct buf enc;
	char *prev = NULL;
	size_t off = 0;

	error_init(&err);
	buf_init(&enc, 0);
	while (off < size) {
		struct meta_entry e;
		size_t used = 0;
		int ret;

		memset(&e, 0, sizeof(e));
		ret = meta_entry_decode(data + off, size - off, &e, &used, &err);
		if (ret <= 0) {
			meta_entry_clear(&e);
			break;
		}
		if (used < 4 || used > size - off) {
			fprintf(stderr, "fuzz_meta: decode claims %zu bytes of %zu\n", used,
				size - off);
			abort();
		}
		check_record(&e, data + off, used, &enc);
		if (prev != NULL &&
		    sign(meta_path_cmp(prev, e.path)) != -sign(meta_path_cmp(e.path, prev))) {
			fprintf(stderr, "fuzz_meta: meta_path_cmp is not antisymmetric\n");
			abort();
		}
		free(prev);
		prev = e.path;
		e.path = NULL;
		meta_entry_clear(&e);
		off += used;
	}
	free(prev);
	buf_clear(&enc);
	return 0;
}
