/* One message of a mailbox restore point as data (svc_rp_message(),
 * GET U/restorePoints/{seq}/message, docs/api.md "For the console"): read
 * from the tenant's store through a point reader that withholds what the
 * erasure ledger covers, parsed by mailparse_view(), the read audited
 * first as mail.read. The console shows the JSON as text, never markup. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "catalog/catalog.h"
#include "engine/mailparse.h"
#include "engine/meta.h"
#include "engine/point_reader.h"
#include "engine/tree.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/mem.h"
#include "service/internal.h"
#include "service/service.h"
#include "store/store.h"

/* Bytes of a message read and parsed at most (the rest is not shown: a
 * bigger message is an attachment the console does not display), and of
 * text given back. */
#define MESSAGE_READ_MAX (64u << 20)
#define MESSAGE_TEXT_MAX (1u << 20)

static int collect(void *ctx, const void *data, size_t len, struct error *err)
{
	struct buf *b = ctx;

	(void)err;
	if (b->len < MESSAGE_READ_MAX)
		buf_add(b, data, len < MESSAGE_READ_MAX - b->len ? len : MESSAGE_READ_MAX - b->len);
	return 0;
}

/* Reads the message at path of point spec into b (at most
 * MESSAGE_READ_MAX bytes of its *size_r); ERROR_NOTFOUND when the point has
 * no such message or the erasure ledger withholds it. */
static int message_read(struct store *st, const char *spec, const char *path, struct buf *b,
			uint64_t *size_r, struct error *err)
{
	struct point_reader *pr = NULL;
	struct tree_reader *tr = NULL;
	struct meta_entry *e;
	int ret = -1, r;

	if (point_reader_open(st, spec, &pr, err) < 0 ||
	    (tr = point_reader_tree(pr, 1, err)) == NULL)
		goto out;
	while ((r = tree_reader_next(tr, &e, err)) == 1) {
		if (strcmp(e->path, path) != 0)
			continue;
		if (tree_reader_withheld(tr) != NULL) {
			error_setk(err, ERROR_NOTFOUND,
				   "message %s of %s is withheld by erasure request %s", path, spec,
				   tree_reader_withheld(tr));
			goto out;
		}
		if (e->type != META_FILE) {
			error_setk(err, ERROR_USAGE, "%s of %s is not a message", path, spec);
			goto out;
		}
		*size_r = e->size;
		ret = point_reader_content(pr, e, collect, b, err);
		goto out;
	}
	if (r == 0)
		error_setk(err, ERROR_NOTFOUND, "restore point %s has no message %s", spec, path);
out:
	tree_reader_close(&tr);
	point_reader_close(&pr);
	return ret;
}

/* The unit (a mailbox) and its live point; 400 for another kind. */
static int message_point(struct service *s, const char *tenant, const char *unit, uint32_t seq,
			 struct error *err)
{
	struct catalog_unit *u = NULL;
	int ret = -1;

	if (catalog_unit_get(svc_catalog(s), tenant, unit, &u, err) < 0)
		return -1;
	if (strcmp(u->kind, "mailbox") != 0)
		error_setk(err, ERROR_USAGE, "unit %s is a %s, not a mailbox", unit, u->kind);
	else
		ret = svc_live_point(s, tenant, unit, seq, err);
	catalog_unit_free(&u);
	return ret;
}

int svc_rp_message(struct service *s, const struct svc_principal *p, const char *tenant,
		   const char *unit, uint32_t seq, const char *path, struct json_object **out,
		   struct error *err)
{
	struct json_object *detail;
	struct store *st = NULL;
	struct buf b;
	char *spec = NULL;
	uint64_t size = 0;
	int ret = -1;

	*out = NULL;
	buf_init(&b, 0);
	if (svc_authorize(p, tenant, SVC_PERM_CONTENT_READ, err) < 0 ||
	    message_point(s, tenant, unit, seq, err) < 0)
		goto out;
	while (path != NULL && *path == '/')
		path++;
	if (path == NULL || *path == '\0') {
		error_setk(err, ERROR_USAGE, "'path' (a message's path in the point) is required");
		goto out;
	}
	spec = xasprintf("%s@%" PRIu32, unit, seq);
	/* A content read is audited before anything is read. */
	detail = json_object_new_object();
	json_object_object_add(detail, "path", json_object_new_string(path));
	ret = svc_audit(s, p, tenant, "mail.read", spec, detail, err);
	json_object_put(detail);
	if (ret < 0)
		goto out;
	ret = -1;
	if ((st = svc_tenant_store(s, tenant, 0, err)) == NULL ||
	    message_read(st, spec, path, &b, &size, err) < 0)
		goto out;
	*out = mailparse_view(b.data, b.len, MESSAGE_TEXT_MAX);
	/* The message's size, not what was read of it. */
	json_object_object_add(*out, "size", json_object_new_int64((int64_t)size));
	json_object_object_add(*out, "path", json_object_new_string(path));
	json_object_object_add(*out, "unit", json_object_new_string(unit));
	json_object_object_add(*out, "restorePoint", json_object_new_int64(seq));
	ret = 0;
out:
	buf_clear(&b);
	store_close(&st);
	free(spec);
	return ret;
}
