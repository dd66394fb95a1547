/* See forge.h. */
#include "forge.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/seal.h"
#include "lib/error.h"
#include "lib/hex.h"
#include "store/backend.h"
#include "store/rp.h"
#include "store/store.h"

int forge_tombstone(const char *root, struct store_unit *u, uint32_t seq, int remove_manifest,
		    struct error *err)
{
	json_object *o = json_object_new_object();
	struct backend *raw = NULL;
	struct rp *rp = NULL;
	char hex[65], rel[32], *name = NULL;
	const char *json;
	int ret = -1;

	if (rp_read(u, seq, &rp, err) < 0)
		goto out;
	json_object_object_add(o, "format", json_object_new_int(1));
	json_object_object_add(o, "unit", json_object_new_string(rp->unit));
	json_object_object_add(o, "seq", json_object_new_int64(seq));
	hex_encode(rp->hash, 32, hex);
	json_object_object_add(o, "hash", json_object_new_string(hex));
	if (rp->has_parent)
		hex_encode(rp->parent, 32, hex);
	else
		hex[0] = '\0';
	json_object_object_add(o, "parent", json_object_new_string(hex));
	json_object_object_add(o, "time", json_object_new_int64(rp->time_ns));
	json_object_object_add(o, "forgotten", json_object_new_int64(rp->time_ns + 1));
	json = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	snprintf(rel, sizeof(rel), "forgotten/%010u", seq);
	name = store_unit_path(u, rel);
	if (store_unit_put_sealed(u, name, SEAL_TOMBSTONE, json, strlen(json), 3, NULL, err) < 0)
		goto out;
	if (remove_manifest) {
		free(name);
		snprintf(rel, sizeof(rel), "rp/%010u", seq);
		name = store_unit_path(u, rel);
		raw = backend_local_open(root, BACKEND_ALLOW_DELETE);
		if (backend_remove(raw, name, err) < 0)
			goto out;
	}
	ret = 0;
out:
	backend_close(&raw);
	json_object_put(o);
	rp_free(&rp);
	free(name);
	return ret;
}
