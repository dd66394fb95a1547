/* The audit log (docs/service.md "Audit"): entries are appended to the
 * catalog's hash chain, and after each append DATA/audit.head records the
 * newest entry's number and hash. The chain alone detects a changed or
 * removed entry in the middle; the head file detects removed newest
 * entries, which leave a shorter but intact chain. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "catalog/catalog.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/mem.h"
#include "service/internal.h"
#include "service/service.h"

#define HEAD_FILE "audit.head"
#define HEAD_MAX 256

/* Appends and head updates happen in the same order: the head file never
 * goes back to an older entry. One process serves one data folder. */
static pthread_mutex_t audit_lock = PTHREAD_MUTEX_INITIALIZER;

static int head_write(struct service *s, const struct catalog_audit *a, struct error *err)
{
	const char *dir = svc_cfg(s)->data_dir;
	char *path = fs_join(dir, HEAD_FILE);
	char *line = xasprintf("%" PRId64 " %s\n", a->seq, a->hash);
	int ret = fs_write_replace(path, line, strlen(line), err);

	if (ret == 0)
		ret = fs_fsync_dir(dir, err);
	free(line);
	free(path);
	return ret;
}

int svc_audit(struct service *s, const struct svc_principal *p, const char *tenant,
	      const char *action, const char *target, struct json_object *detail,
	      struct error *err)
{
	const char *actor = p && p->token_id ? p->token_id : "system";
	const char *d = detail ? json_object_to_json_string_ext(detail, JSON_C_TO_STRING_PLAIN)
			       : NULL;
	struct catalog_audit *a = NULL;
	int ret;

	pthread_mutex_lock(&audit_lock);
	ret = catalog_audit_append(svc_catalog(s), svc_now(s), tenant, actor, action, target, d,
				   &a, err);
	if (ret == 0)
		ret = head_write(s, a, err);
	pthread_mutex_unlock(&audit_lock);
	catalog_audit_free(&a);
	if (ret < 0)
		return error_prefix(err, "audit %s", action);
	return 0;
}

/* Reads "SEQ HASH\n"; *seq_r = 0 when the file does not exist. */
static int head_read(struct service *s, int64_t *seq_r, char **hash_r, struct error *err)
{
	char *path = fs_join(svc_cfg(s)->data_dir, HEAD_FILE);
	struct buf b;
	char *end, *nl;
	long long seq;
	int ret = -1;

	*seq_r = 0;
	*hash_r = NULL;
	buf_init(&b, 0);
	if (fs_read_file(path, &b, HEAD_MAX, err) < 0) {
		/* The code, not errno: a file too large leaves errno as it was. */
		if (err->code == ERROR_NOTFOUND)
			ret = 0;
		goto out;
	}
	if (b.len == 0) {
		error_setk(err, ERROR_CORRUPT, "audit head %s is empty", path);
		goto out;
	}
	errno = 0;
	seq = strtoll((char *)b.data, &end, 10);
	nl = strchr(end, '\n');
	if (errno || seq < 1 || *end != ' ' || nl == NULL || nl - end - 1 != 64) {
		error_setk(err, ERROR_CORRUPT, "audit head %s is malformed", path);
		goto out;
	}
	*seq_r = seq;
	*hash_r = xstrndup(end + 1, 64);
	ret = 0;
out:
	buf_clear(&b);
	free(path);
	return ret;
}

/* The entry `seq` of the chain, or NULL (with err) if it is absent. */
static struct catalog_audit *entry_at(struct service *s, int64_t seq, struct error *err)
{
	char after[32];
	struct catalog_page pg = { .after = after, .limit = 1 };
	struct catalog_audit_filter f = { 0 };
	struct catalog_audit **as = NULL, *a = NULL;
	size_t n = 0;

	snprintf(after, sizeof(after), "%" PRId64, seq - 1);
	if (catalog_audit_list(svc_catalog(s), &f, &pg, &as, &n, err) < 0)
		return NULL;
	if (n == 1 && as[0]->seq == seq) {
		a = as[0];
		as[0] = NULL;
	}
	CATALOG_LIST_FREE(as, n, catalog_audit_free);
	if (a == NULL)
		error_setk(err, ERROR_CORRUPT, "audit entry %" PRId64 " is missing", seq);
	return a;
}

/* The chain of `count` entries ends in `head`; does DATA/audit.head agree? */
static int head_check(struct service *s, int64_t count, const char *head, struct error *err)
{
	struct catalog_audit *a;
	char *fhash = NULL;
	int64_t fseq;
	int ret = -1;

	if (head_read(s, &fseq, &fhash, err) < 0)
		return -1;
	if (fseq == 0 && count == 0)
		return 0;
	if (fseq == 0) {
		error_setk(err, ERROR_CORRUPT, "audit head file %s/%s is missing but the log has "
			   "%" PRId64 " entries", svc_cfg(s)->data_dir, HEAD_FILE, count);
	} else if (fseq > count) {
		error_setk(err, ERROR_CORRUPT, "audit entries %" PRId64 "..%" PRId64 " are missing: "
			   "the log ends at entry %" PRId64 " but %s records entry %" PRId64,
			   count + 1, fseq, count, HEAD_FILE, fseq);
	} else if (fseq == count) {
		if (strcmp(fhash, head) == 0)
			ret = 0;
		else
			error_setk(err, ERROR_CORRUPT, "audit entry %" PRId64 " does not match %s "
				   "(hash %s, recorded %s)", fseq, HEAD_FILE, head, fhash);
	} else if ((a = entry_at(s, fseq, err)) != NULL) {
		/* The process stopped between an append and the head update;
		 * the chain past the recorded entry is intact. */
		if (strcmp(a->hash, fhash) == 0)
			ret = 0;
		else
			error_setk(err, ERROR_CORRUPT, "audit entry %" PRId64 " does not match %s "
				   "(hash %s, recorded %s)", fseq, HEAD_FILE, a->hash, fhash);
		catalog_audit_free(&a);
	}
	free(fhash);
	return ret;
}

int svc_audit_verify(struct service *s, const struct svc_principal *p, const char *tenant,
		     struct json_object **out, struct error *err)
{
	int64_t count = 0;
	char *head = NULL;
	int ret;

	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_AUDIT_READ, err) < 0)
		return -1;
	pthread_mutex_lock(&audit_lock);
	ret = catalog_audit_verify(svc_catalog(s), &count, &head, err);
	if (ret == 0)
		ret = head_check(s, count, head ? head : "", err);
	pthread_mutex_unlock(&audit_lock);
	if (ret == 0) {
		*out = json_object_new_object();
		if (tenant == NULL) {
			json_object_object_add(*out, "entries", json_object_new_int64(count));
			json_object_object_add(*out, "head",
					       json_object_new_string(head ? head : ""));
		}
		json_object_object_add(*out, "ok", json_object_new_boolean(1));
		json_object_object_add(*out, "scope", json_object_new_string("service"));
	} else {
		error_prefix(err, "audit verify");
	}
	free(head);
	return ret;
}
