/* The folder source: a unit is a local folder, {"type":"folder","path":…}.
 * Backup and restore are the engine's (backup_run, restore_run); this file
 * maps the source interface onto them: the restore point's time, the
 * number of entries changed since the parent, progress and the sibling
 * folder a restore to a new location writes. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "engine/backup.h"
#include "engine/diff.h"
#include "engine/point_reader.h"
#include "engine/restore.h"
#include "lib/error.h"
#include "lib/fsat.h"
#include "lib/jsonutil.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "sources/source.h"

/* Past this many taken names "<path>.restored-N" something is wrong. */
#define FOLDER_MAX_RESTORED 10000

/* The "path" of a folder source: an absolute path. */
static const char *folder_path(const struct json_object *source, struct error *err)
{
	const char *p = jsonu_str(source, "path");

	if (p == NULL)
		return error_setk(err, ERROR_USAGE, "folder source: \"path\" (a string) is missing"),
		       NULL;
	if (p[0] != '/')
		return error_setk(err, ERROR_USAGE, "folder source: path %s is not absolute", p),
		       NULL;
	return p;
}

static void count_change(void *ctx, char kind, const char *path, const struct meta_entry *e)
{
	uint64_t *n = ctx;

	(void)path;
	(void)e;
	/* Metadata-only changes ('m', e.g. a folder whose mtime moved because
	 * a file in it changed) are cheap to undo and would double-count. */
	if (kind != 'm')
		(*n)++;
}

/* Entries added, changed or removed since the parent point (the live one
 * before). Only the two metadata trees are read, never content. Without a
 * readable parent, the files the backup had to read again stand in. */
static uint64_t folder_changed(struct store *s, const char *unit, const struct backup_result *r)
{
	struct diff_result dr = { 0 };
	struct error err;
	uint64_t n = 0;
	uint32_t parent = point_reader_live_before(s, unit, r->seq);
	char *a, *b;
	int ret;

	if (r->seq <= 1)
		return r->stats.files + r->stats.dirs;
	a = xasprintf("%s@%" PRIu32, unit, parent);
	b = xasprintf("%s@%" PRIu32, unit, r->seq);
	error_init(&err);
	ret = parent ? diff_run(s, a, b, count_change, &n, &dr, &err)
		     : error_set(&err, "no live restore point before %s", b);
	free(dr.withheld_by);
	if (ret < 0) {
		log_warn("changes of %s not counted, using files read again: %s", b, err.msg);
		n = r->stats.files > r->reused_files ? r->stats.files - r->reused_files : 0;
	}
	free(a);
	free(b);
	return n;
}

static int folder_backup(struct store *s, const struct source_backup_opts *o,
			 struct source_backup_result *res, struct error *err)
{
	struct backup_opts bo = { .unit = o->unit, .quiet = o->quiet, .time_ns = o->time_ns,
				  .keep_seconds = o->keep_seconds,
				  .retain_seconds = o->retain_seconds, .beneath = o->beneath,
				  .fence = o->fence };
	struct backup_result br;

	memset(res, 0, sizeof(*res));
	memset(&br, 0, sizeof(br));
	bo.path = folder_path(o->source, err);
	if (bo.path == NULL)
		return -1;
	if (backup_run(s, &bo, &br, err) < 0)
		return -1;
	res->seq = br.seq;
	res->items = br.stats.files;
	res->bytes = br.stats.bytes;
	res->new_bytes = br.stats.new_bytes;
	res->stored_bytes = br.stats.stored_bytes;
	res->incompressible_bytes = br.stats.incompressible_bytes;
	res->nwarnings = br.nwarnings;
	res->changed_items = folder_changed(s, o->unit, &br);
	return 0;
}

/* Progress of one restore: actions reported by the engine (main thread)
 * and bytes written (writer threads), told to the caller under one lock. */
struct folder_progress {
	const struct source_restore_opts *o;
	pthread_mutex_t lock;
	uint64_t items, bytes;
};

static void folder_report(void *ctx, const char *action, const char *path)
{
	struct folder_progress *fp = ctx;

	(void)path;
	if (strcmp(action, "failed") == 0)
		return;
	if (fp->o->dry_run) {
		if (fp->o->plan)
			fp->o->plan(fp->o->ctx, action, path);
		return;
	}
	pthread_mutex_lock(&fp->lock);
	fp->items++;
	if (fp->o->progress)
		fp->o->progress(fp->o->ctx, fp->items, fp->bytes);
	pthread_mutex_unlock(&fp->lock);
}

static void folder_bytes(void *ctx, uint64_t done, uint64_t total)
{
	struct folder_progress *fp = ctx;

	pthread_mutex_lock(&fp->lock);
	/* The engine tells the total first, once every action is planned:
	 * then the actions reported so far are the items to do. */
	if (done == 0 && fp->o->total)
		fp->o->total(fp->o->ctx, fp->items, total);
	fp->bytes = done;
	if (fp->o->progress)
		fp->o->progress(fp->o->ctx, fp->items, fp->bytes);
	pthread_mutex_unlock(&fp->lock);
}

static int folder_restore(struct store *s, const struct source_restore_opts *o,
			  struct source_restore_result *res, struct error *err)
{
	struct restore_opts ro = { .rp = o->rp, .patterns = o->patterns,
				   .npatterns = o->npatterns, .quiet = o->quiet,
				   .beneath = o->beneath, .dry_run = o->dry_run };
	struct folder_progress fp = { .o = o };
	struct restore_result rr;
	int ret;

	memset(res, 0, sizeof(*res));
	/* In place writes to where the unit lives now, which is the source's
	 * path even if the point was taken from elsewhere. */
	ro.target = folder_path(o->target ? o->target : o->source, err);
	if (ro.target == NULL)
		return -1;
	ro.in_place = o->target == NULL;
	ro.report = folder_report;
	ro.bytes = folder_bytes;
	ro.ctx = &fp;
	pthread_mutex_init(&fp.lock, NULL);
	ret = restore_run(s, &ro, &rr, err);
	pthread_mutex_destroy(&fp.lock);
	res->items_total = rr.entries;
	res->failed = rr.failed;
	res->items_done = rr.entries - (rr.failed < rr.entries ? rr.failed : rr.entries);
	res->bytes_done = o->dry_run ? rr.written_bytes : fp.bytes;
	res->unchanged = rr.unchanged;
	res->withheld = rr.withheld;
	res->withheld_by = rr.withheld_by;
	/* The service runs as its own user: owners and privileged attributes
	 * it could not put back are said once, in its log. */
	if (rr.not_applied)
		log_warn("restore of %s: %s", o->rp, rr.not_applied);
	free(rr.not_applied);
	return ret;
}

/* "<path>.restored-N", the first N free, created here (mkdir fails on a
 * taken name) so two restores running at once never share a folder. It is
 * made in the unit's parent folder opened as a backup opens the unit: no
 * link followed below `beneath`, nor as the parent's last part. */
static struct json_object *folder_new_location(const struct json_object *source,
					       const char *beneath, int64_t now, int dry_run,
					       struct error *err)
{
	const char *path = folder_path(source, err), *leaf;
	struct json_object *out;
	char *base, *dir, *p = NULL, *name = NULL;
	size_t len;
	int n, dirfd = -1;

	(void)now;
	if (path == NULL)
		return NULL;
	base = xstrdup(path);
	for (len = strlen(base); len > 1 && base[len - 1] == '/';)
		base[--len] = '\0';
	if (strcmp(base, "/") == 0) {
		free(base);
		return error_setk(err, ERROR_USAGE, "folder source: / has no sibling"), NULL;
	}
	leaf = strrchr(base, '/') + 1;
	dir = leaf - 1 == base ? xstrdup("/") : xstrndup(base, (size_t)(leaf - 1 - base));
	dirfd = fsat_open_root(beneath, dir, 0, err);
	free(dir);
	if (dirfd < 0) {
		error_prefix(err, "restore beside %s", base);
		goto fail;
	}
	for (n = 1; n <= FOLDER_MAX_RESTORED; n++) {
		free(name);
		name = xasprintf("%s.restored-%d", leaf, n);
		if (dry_run) { /* the name a restore would take now, made by none */
			struct stat st;

			if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
				continue;
			if (errno == ENOENT)
				break;
			error_sys(err, "stat(%s.restored-%d) failed", base, n);
			goto fail;
		} else if (mkdirat(dirfd, name, 0700) == 0) {
			break;
		}
		if (errno != EEXIST) {
			error_sys(err, "mkdir(%s.restored-%d) failed", base, n);
			goto fail;
		}
	}
	if (n > FOLDER_MAX_RESTORED) {
		error_set(err, "no free name %s.restored-N up to %d", base, FOLDER_MAX_RESTORED);
		goto fail;
	}
	p = xasprintf("%s.restored-%d", base, n);
	out = json_object_new_object();
	json_object_object_add(out, "type", json_object_new_string("folder"));
	json_object_object_add(out, "path", json_object_new_string(p));
	free(p);
	free(name);
	free(base);
	close(dirfd);
	return out;
fail:
	free(name);
	free(base);
	if (dirfd >= 0)
		close(dirfd);
	return NULL;
}

const struct source_ops source_folder_ops = {
	.type = "folder",
	.backup = folder_backup,
	.restore = folder_restore,
	.new_location = folder_new_location,
};
