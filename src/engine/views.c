/* Store and engine records as JSON, for the CLI and the service alike
 * (engine/views.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "engine/find.h"
#include "engine/mailindex.h"
#include "engine/meta.h"
#include "engine/views.h"
#include "lib/hex.h"
#include "lib/mem.h"
#include "lib/timeutil.h"
#include "store/deletion.h"
#include "store/rp.h"

static void add_str(struct json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

static void add_int(struct json_object *o, const char *key, int64_t v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

void view_add_time(struct json_object *o, const char *key, int64_t unix_s)
{
	char k[64], buf[32];

	time_format(unix_s, buf);
	add_str(o, key, buf);
	snprintf(k, sizeof(k), "%sUnix", key);
	add_int(o, k, unix_s);
}

struct json_object *view_point_stats(const struct rp_stats *st)
{
	struct json_object *o = json_object_new_object();

	add_int(o, "files", (int64_t)st->files);
	add_int(o, "dirs", (int64_t)st->dirs);
	add_int(o, "bytes", (int64_t)st->bytes);
	add_int(o, "newBlobs", (int64_t)st->new_blobs);
	add_int(o, "newBytes", (int64_t)st->new_bytes);
	add_int(o, "storedBytes", (int64_t)st->stored_bytes);
	add_int(o, "incompressibleBytes", (int64_t)st->incompressible_bytes);
	return o;
}

struct json_object *view_point(const struct rp *rp)
{
	struct json_object *o = json_object_new_object();

	add_str(o, "unit", rp->unit);
	add_int(o, "seq", rp->seq);
	view_add_time(o, "time", rp->time_ns / 1000000000);
	add_int(o, "timeNs", rp->time_ns);
	add_str(o, "source", rp->source);
	/* Fixed when the point was taken; absent when none was. */
	if (rp->keep_until > 0)
		view_add_time(o, "keepUntil", rp->keep_until);
	if (rp->retain_until > 0)
		view_add_time(o, "retainUntil", rp->retain_until);
	json_object_object_add(o, "stats", view_point_stats(&rp->stats));
	add_int(o, "warnings", (int64_t)rp->nwarnings);
	return o;
}

struct json_object *view_tombstone(const struct rp_tombstone *t)
{
	struct json_object *o = json_object_new_object();

	add_str(o, "unit", t->unit);
	add_int(o, "seq", t->seq);
	view_add_time(o, "time", t->time_ns / 1000000000);
	add_int(o, "timeNs", t->time_ns);
	view_add_time(o, "forgotten", t->forgotten_ns / 1000000000);
	return o;
}

struct json_object *view_deletion(const struct store_deletion *d)
{
	struct json_object *o = json_object_new_object(), *seqs = json_object_new_array();

	add_str(o, "unit", d->unit);
	add_str(o, "record", d->name);
	view_add_time(o, "time", d->time_ns / 1000000000);
	add_int(o, "timeNs", d->time_ns);
	add_str(o, "action", d->action ? d->action : "");
	for (size_t i = 0; i < d->nseqs; i++)
		json_object_array_add(seqs, json_object_new_int64(d->seqs[i]));
	json_object_object_add(o, "restorePoints", seqs);
	add_int(o, "packs", (int64_t)d->packs);
	add_int(o, "bytes", (int64_t)d->bytes);
	add_str(o, "tool", d->tool ? d->tool : "");
	add_str(o, "host", d->host ? d->host : "");
	return o;
}

/* Every point of every place as "UNIT@N", in order, once each. */
static struct json_object *hit_points(const struct mailindex_hit *h)
{
	struct json_object *a = json_object_new_array();
	struct mailindex_point *pts;
	size_t n, i;

	pts = mailindex_hit_points(h, &n);
	for (i = 0; i < n; i++) {
		char *id = xasprintf("%s@%u", pts[i].unit, pts[i].seq);

		json_object_array_add(a, json_object_new_string(id));
		free(id);
	}
	free(pts);
	return a;
}

static struct json_object *place_view(const struct mailindex_place *pl)
{
	struct json_object *p = json_object_new_object(), *seqs = json_object_new_array();

	add_str(p, "unit", pl->unit);
	add_str(p, "folder", pl->folder_utf8);
	add_str(p, "imapName", pl->folder);
	add_str(p, "path", pl->path);
	add_int(p, "uid", pl->uid);
	add_str(p, "flags", pl->flags);
	for (size_t k = 0; k < pl->nseqs; k++)
		json_object_array_add(seqs, json_object_new_int64(pl->seqs[k]));
	json_object_object_add(p, "restorePoints", seqs);
	return p;
}

struct json_object *view_hit(const struct mailindex_hit *h)
{
	struct json_object *o = json_object_new_object(), *places = json_object_new_array();
	char key[65];

	hex_encode(h->key, 32, key);
	add_str(o, "key", key);
	view_add_time(o, "date", h->date);
	add_str(o, "from", h->from);
	add_str(o, "to", h->to);
	add_str(o, "subject", h->subject);
	json_object_object_add(o, "hasAttachment", json_object_new_boolean(h->has_attachment));
	add_int(o, "size", (int64_t)h->size);
	add_str(o, "snippet", h->snippet);
	if (h->error)
		add_str(o, "parseError", h->error);
	if (h->where) {
		/* Where it matched: what a granular restore session takes. */
		add_str(o, "unit", h->where->unit);
		add_int(o, "restorePoint", h->where_seq);
		add_str(o, "folder", h->where->folder_utf8);
		add_str(o, "path", h->where->path);
		add_int(o, "uid", h->where->uid);
		add_str(o, "flags", h->where->flags);
	}
	for (size_t i = 0; i < h->nplaces; i++)
		json_object_array_add(places, place_view(&h->places[i]));
	json_object_object_add(o, "restorePoints", hit_points(h));
	json_object_object_add(o, "places", places);
	return o;
}

static const char *entry_type_name(uint8_t type)
{
	switch (type) {
	case META_FILE: return "file";
	case META_DIR: return "folder";
	case META_SYMLINK: return "link";
	default: return "other";
	}
}

struct json_object *view_find_version(const struct find_version *v)
{
	struct json_object *o = json_object_new_object();

	add_str(o, "path", v->path);
	add_int(o, "version", v->version);
	add_str(o, "type", entry_type_name(v->type));
	add_int(o, "size", (int64_t)v->size);
	view_add_time(o, "modified", v->mtime_s);
	add_int(o, "firstPoint", v->first_seq);
	add_int(o, "lastPoint", v->last_seq);
	view_add_time(o, "firstTime", v->first_time_ns / 1000000000);
	view_add_time(o, "lastTime", v->last_time_ns / 1000000000);
	add_int(o, "points", (int64_t)v->npoints);
	return o;
}
