/* The scheduler: a thread that evaluates every policy each tick_ms
 * (docs/service.md "Scheduler and jobs", "Policies"): inclusion rules
 * pick up new subfolders and new WebDAV collections, due units get a backup job, a policy whose units
 * all have their first restore point goes from activating to active, and
 * each unit gets an expire job once a day of (simulated) time. */
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "catalog/catalog.h"
#include "lib/error.h"
#include "lib/jsonutil.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/timeutil.h"
#include "service/core.h"
#include "service/internal.h"
#include "service/offboard.h"
#include "service/service.h"
#include "sources/webdav_rule.h"

#define DAY 86400

struct svc_scheduler {
	struct service *s;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop, kicked;
	int leading; /* holds the scheduler's lock in the catalog */
};

/* When each unit last got an expire job (service clock). In memory: after
 * a restart every unit gets one at the first evaluation, which is cheap. */
static struct expire_mark {
	char *unit;
	int64_t when;
} *expire_marks;
static size_t expire_nmarks;
static pthread_mutex_t expire_lock = PTHREAD_MUTEX_INITIALIZER;

/* 1 if `unit` is due for expiry at `now` (and marks it). */
static int expire_due(const char *unit, int64_t now)
{
	size_t i;
	int due = 1;

	pthread_mutex_lock(&expire_lock);
	for (i = 0; i < expire_nmarks; i++)
		if (strcmp(expire_marks[i].unit, unit) == 0)
			break;
	if (i == expire_nmarks) {
		expire_marks = xrealloc(expire_marks, xmul(expire_nmarks + 1, sizeof(*expire_marks)));
		expire_marks[expire_nmarks++] = (struct expire_mark){ xstrdup(unit), now };
	} else if (now - expire_marks[i].when >= DAY || now < expire_marks[i].when) {
		expire_marks[i].when = now;
	} else {
		due = 0;
	}
	pthread_mutex_unlock(&expire_lock);
	return due;
}

/* Webdav roots that could not be listed, tried again only after a backoff
 * (svc_backoff_s: a minute, doubling up to the policy's frequency), so that
 * a root that is down neither holds the scheduler a timeout each tick nor
 * fills the log; a change to the policy tries at once. In memory, like
 * expire_marks. */
static struct root_mark {
	char *policy, *url;
	int64_t updated, next;
	int failures;
} *root_marks;
static size_t root_nmarks;
static pthread_mutex_t root_lock = PTHREAD_MUTEX_INITIALIZER;

static struct root_mark *root_find(const struct catalog_policy *p, const char *url)
{
	for (size_t i = 0; i < root_nmarks; i++)
		if (strcmp(root_marks[i].policy, p->id) == 0 && strcmp(root_marks[i].url, url) == 0)
			return &root_marks[i];
	return NULL;
}

/* Whether the root may be listed now. */
static int root_due(const struct catalog_policy *p, const char *url, int64_t now)
{
	struct root_mark *m;
	int due;

	pthread_mutex_lock(&root_lock);
	m = root_find(p, url);
	due = m == NULL || m->updated != p->updated || now >= m->next || now < m->next -
		svc_backoff_s(m->failures, p->frequency_s);
	pthread_mutex_unlock(&root_lock);
	return due;
}

/* Records a listing's outcome; for a failure, the seconds until the next
 * try. */
static int64_t root_result(const struct catalog_policy *p, const char *url, int ok,
			   int64_t now)
{
	struct root_mark *m;
	int64_t wait = 0;

	pthread_mutex_lock(&root_lock);
	m = root_find(p, url);
	if (ok && m) {
		free(m->policy);
		free(m->url);
		*m = root_marks[--root_nmarks];
	} else if (!ok) {
		if (m == NULL) {
			root_marks = xrealloc(root_marks, xmul(root_nmarks + 1, sizeof(*root_marks)));
			m = &root_marks[root_nmarks++];
			*m = (struct root_mark){ xstrdup(p->id), xstrdup(url), p->updated, 0, 0 };
		}
		if (m->updated != p->updated) {
			m->updated = p->updated;
			m->failures = 0;
		}
		m->failures++;
		wait = svc_backoff_s(m->failures, p->frequency_s);
		m->next = now + wait;
	}
	pthread_mutex_unlock(&root_lock);
	return wait;
}

static int json_str_eq(struct json_object *o, const char *key, const char *want)
{
	const char *v = jsonu_str(o, key);

	return v && strcmp(v, want) == 0;
}

/* The folder path of a unit's source, or NULL (caller frees). */
static char *unit_folder(const struct catalog_unit *u)
{
	struct json_object *src = json_tokener_parse(u->source);
	char *path = NULL;

	if (src && json_str_eq(src, "type", "folder") && jsonu_str(src, "path"))
		path = xstrdup(jsonu_str(src, "path"));
	json_object_put(src);
	return path;
}

/* The URL of a unit's webdav source, or NULL (caller frees). */
static char *unit_url(const struct catalog_unit *u)
{
	struct json_object *src = json_tokener_parse(u->source);
	char *url = NULL;

	if (src && json_str_eq(src, "type", "webdav") && jsonu_str(src, "url"))
		url = xstrdup(jsonu_str(src, "url"));
	json_object_put(src);
	return url;
}

/* Whether webdav rule r made unit u: its URL is the child collection of
 * r's root named as u. */
static int webdav_covers(struct json_object *r, const struct catalog_unit *u)
{
	char *url = unit_url(u), *child = NULL;
	int covered;

	if (url)
		child = webdav_rule_child_url(r, u->name);
	covered = url && child && strcmp(url, child) == 0;
	free(url);
	free(child);
	return covered;
}

/* Whether a rule of the policy covers unit u: a folder right inside a
 * "subfolders" rule's path, or a collection right inside a "webdav"
 * rule's root. Such units stay in the policy even when the folder goes
 * away (the backups then fail and say why). */
static int rules_cover(struct json_object *rules, const struct catalog_unit *u)
{
	char *path = unit_folder(u), *slash;
	struct json_object *r;
	int covered = 0;

	if (path) {
		slash = strrchr(path, '/');
		if (slash && slash != path)
			*slash = '\0';
	}
	for (size_t i = 0; rules && i < json_object_array_length(rules) && !covered; i++) {
		r = json_object_array_get_idx(rules, i);
		if (path && json_str_eq(r, "type", "subfolders") && json_str_eq(r, "path", path))
			covered = 1;
		else if (!path && json_str_eq(r, "type", "webdav") && webdav_covers(r, u))
			covered = 1;
	}
	free(path);
	return covered;
}

static int explicit_has(struct json_object *units, const char *id)
{
	for (size_t i = 0; units && i < json_object_array_length(units); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(units, i)), id) == 0)
			return 1;
	return 0;
}

/* Puts unit `id` under policy p (or takes it out: p NULL), under the lock
 * with a fresh row, so a worker's update is not lost. */
static int unit_attach(struct service *s, const struct catalog_policy *p, const char *tenant,
		       const char *id, int detach, struct error *err)
{
	struct catalog_unit *u = NULL;
	int ret = 0;

	svc_lock(s);
	if (catalog_unit_get(svc_catalog(s), tenant, id, &u, err) < 0) {
		svc_unlock(s);
		return -1;
	}
	if (detach) {
		if (u->policy && strcmp(u->policy, p->id) == 0) {
			free(u->policy);
			u->policy = NULL;
			free(u->state);
			u->state = xstrdup(catalog_unit_state_name(CATALOG_UNIT_UNPROTECTED));
			u->next_due = 0;
			ret = catalog_unit_update(svc_catalog(s), u, err);
			log_info("event=unit.detach tenant=%s unit=%s policy=%s", tenant, id, p->id);
		}
	} else if (u->policy == NULL && strcmp(u->kind, p->kind) == 0 &&
		   catalog_unit_state_of(u->state) != CATALOG_UNIT_REMOVED &&
		   catalog_unit_state_of(u->state) != CATALOG_UNIT_DESTROYED) {
		u->policy = xstrdup(p->id);
		free(u->state);
		u->state = xstrdup(catalog_unit_state_name(
			catalog_policy_state_of(p->state) == CATALOG_POLICY_INACTIVE
				? CATALOG_UNIT_UNPROTECTED
				: CATALOG_UNIT_ACTIVATING));
		u->next_due = 0;
		ret = catalog_unit_update(svc_catalog(s), u, err);
		log_info("event=unit.attach tenant=%s unit=%s name=%s policy=%s", tenant, id, u->name,
			 p->id);
	}
	svc_unlock(s);
	catalog_unit_free(&u);
	return ret;
}

/* "<name>.restored-N" (a folder) or "<name>.restored-YYYYMMDD-HHMMSS" (a
 * WebDAV collection): a restore session's copy beside a unit
 * (docs/service.md "Restore sessions"), not a new account to protect. */
static int restored_copy(const char *name)
{
	const char *m = strstr(name, ".restored-");
	const char *d;

	if (m == NULL || m == name)
		return 0;
	d = m + strlen(".restored-");
	if (*d < '0' || *d > '9')
		return 0;
	while ((*d >= '0' && *d <= '9') || (*d == '-' && d[1] >= '0' && d[1] <= '9'))
		d++;
	return *d == '\0';
}

/* A "subfolders" rule: every folder right inside path is a unit. */
static void rule_subfolders(struct service *s, const struct catalog_policy *p,
			    struct json_object *rule)
{
	struct json_object *src;
	struct catalog_unit *u;
	struct dirent *de;
	struct stat st;
	struct error err;
	const char *dir;
	char *sub;
	DIR *d;

	dir = jsonu_str(rule, "path");
	if (dir == NULL)
		return;
	if (svc_cfg(s)->folder_root == NULL) {
		/* Rules are a tenant admin's, and without folder_root tenants
		 * name no folders: a rule from before is kept but not used. */
		static atomic_int warned;

		if (atomic_exchange(&warned, 1) == 0)
			log_warn("event=policy.rule tenant=%s policy=%s path=%s error=\"subfolders "
				 "rules are used only with folder_root set; ignored\"", p->tenant,
				 p->id, dir);
		return;
	}
	d = opendir(dir);
	if (d == NULL) {
		log_warn("event=policy.rule tenant=%s policy=%s path=%s error=\"%s\"", p->tenant,
			 p->id, dir, strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || restored_copy(de->d_name))
			continue;
		sub = xasprintf("%s/%s", dir, de->d_name);
		error_init(&err);
		u = NULL;
		if (stat(sub, &st) < 0 || !S_ISDIR(st.st_mode)) {
			free(sub);
			continue;
		}
		if (catalog_unit_find(svc_catalog(s), p->tenant, de->d_name, &u, &err) < 0) {
			error_init(&err);
			src = json_object_new_object();
			json_object_object_add(src, "type", json_object_new_string("folder"));
			json_object_object_add(src, "path", json_object_new_string(sub));
			if (svc_unit_create_internal(s, p->tenant, p->kind, de->d_name, src, &u,
						     &err) < 0)
				log_warn("event=policy.rule tenant=%s policy=%s path=%s error=\"%s\"",
					 p->tenant, p->id, sub, err.msg);
			else
				log_info("event=unit.discover tenant=%s unit=%s name=%s path=%s",
					 p->tenant, u->id, u->name, sub);
			json_object_put(src);
		}
		if (u) {
			char *path = unit_folder(u);

			/* Only a unit of this very folder joins: a same-named
			 * unit elsewhere is someone else's. */
			if (path && strcmp(path, sub) == 0 && u->policy == NULL &&
			    unit_attach(s, p, p->tenant, u->id, 0, &err) < 0)
				log_warn("event=unit.attach unit=%s error=\"%s\"", u->id, err.msg);
			free(path);
			catalog_unit_free(&u);
		}
		free(sub);
	}
	closedir(d);
}

/* A unit of p's webdav rule, logging in as the rule's user, gets the
 * rule's credentials again when they changed (a new secret given to the
 * rule, say), so that the rule's units keep working. A unit that logs in
 * as someone else is left as it is. */
static void rule_credentials(struct service *s, const struct catalog_policy *p,
			     const struct catalog_unit *u, struct json_object *src)
{
	static const char *const keys[] = { "auth", "secret", "caFile", "insecure",
					    "timeoutSeconds", "connections", NULL };
	struct json_object *have, *a, *b, *sealed = NULL;
	struct error err;
	int same = 1;

	error_init(&err);
	have = svc_unit_source_open(s, u, &err);
	if (have == NULL || !json_object_equal(json_object_object_get(have, "user"),
					       json_object_object_get(src, "user"))) {
		json_object_put(have);
		return;
	}
	for (size_t i = 0; keys[i] && same; i++) {
		int ha = json_object_object_get_ex(have, keys[i], &a);
		int hb = json_object_object_get_ex(src, keys[i], &b);

		same = ha == hb && (!ha || json_object_equal(a, b));
	}
	json_object_put(have);
	if (same)
		return;
	if (json_object_deep_copy(src, &sealed, NULL) < 0)
		return;
	svc_secret_seal(s, p->tenant, u->name, sealed);
	if (catalog_unit_set_source(svc_catalog(s), p->tenant, u->id,
				    json_object_to_json_string_ext(sealed, JSON_C_TO_STRING_PLAIN),
				    &err) < 0)
		log_warn("event=unit.source tenant=%s unit=%s error=\"%s\"", p->tenant, u->id,
			 err.msg);
	else
		log_info("event=unit.source tenant=%s unit=%s policy=%s detail=\"the rule's "
			 "credentials changed\"", p->tenant, u->id, p->id);
	json_object_put(sealed);
}

/* Unit `name` for child `url` of a rule: found, or created with source
 * src; attached to p if it is that very child's and in no policy (a
 * same-named unit elsewhere is someone else's). */
static void rule_unit(struct service *s, const struct catalog_policy *p, const char *name,
		      const char *url, struct json_object *src)
{
	struct catalog_unit *u = NULL;
	struct error err;
	char *have;

	error_init(&err);
	if (catalog_unit_find(svc_catalog(s), p->tenant, name, &u, &err) < 0) {
		error_init(&err);
		if (svc_unit_create_internal(s, p->tenant, p->kind, name, src, &u, &err) < 0) {
			log_warn("event=policy.rule tenant=%s policy=%s url=%s error=\"%s\"", p->tenant,
				 p->id, url, err.msg);
			return;
		}
		log_info("event=unit.discover tenant=%s unit=%s name=%s url=%s", p->tenant, u->id,
			 u->name, url);
	}
	have = unit_url(u);
	if (have && strcmp(have, url) == 0 && u->policy == NULL &&
	    unit_attach(s, p, p->tenant, u->id, 0, &err) < 0)
		log_warn("event=unit.attach unit=%s error=\"%s\"", u->id, err.msg);
	else if (have && strcmp(have, url) == 0 && u->policy && strcmp(u->policy, p->id) == 0)
		rule_credentials(s, p, u, src);
	free(have);
	catalog_unit_free(&u);
}

/* A "webdav" rule: every collection right inside its root is a unit with
 * a webdav source of its own (the rule's credentials, sealed again for
 * the unit). A root that cannot be listed keeps the units it gave. */
static void rule_webdav(struct service *s, const struct catalog_policy *p,
			struct json_object *rule, int64_t now)
{
	const char *root = jsonu_str(rule, "url") ? jsonu_str(rule, "url") : "";
	struct json_object *r, *src;
	struct error err;
	char **names = NULL, *url;
	size_t n = 0;

	if (!root_due(p, root, now))
		return;
	error_init(&err);
	r = svc_rule_open(s, p->tenant, rule, &err);
	if (r == NULL || webdav_rule_children(r, svc_netpolicy(s), &names, &n, &err) < 0) {
		int64_t wait = root_result(p, root, 0, now);

		log_warn("event=policy.rule tenant=%s policy=%s url=%s error=\"%s\" retry_s=%lld",
			 p->tenant, p->id, root, err.msg, (long long)wait);
		json_object_put(r);
		return;
	}
	root_result(p, root, 1, now);
	for (size_t i = 0; i < n && !svc_stopping(s); i++) {
		if (names[i][0] == '.' || restored_copy(names[i]))
			continue;
		url = webdav_rule_child_url(r, names[i]);
		src = webdav_rule_child_source(r, names[i]);
		if (url)
			rule_unit(s, p, names[i], url, src);
		json_object_put(src);
		free(url);
	}
	webdav_rule_names_free(names, n);
	json_object_put(r);
}

/* The policy's units now: every row whose policy is p. */
static int policy_members(struct service *s, const struct catalog_policy *p,
			  struct catalog_unit ***us_r, size_t *n_r, struct error *err)
{
	struct catalog_unit_filter f = { .policy = p->id };
	struct catalog_page pg = { .limit = 1000 };
	struct catalog_unit **page, **all = NULL;
	size_t n, total = 0;
	char *after = NULL;

	for (;;) {
		pg.after = after;
		if (catalog_unit_list(svc_catalog(s), p->tenant, &f, &pg, &page, &n, err) < 0) {
			free(after);
			CATALOG_LIST_FREE(all, total, catalog_unit_free);
			return -1;
		}
		all = xrealloc(all, xmul(total + n + 1, sizeof(*all)));
		memcpy(all + total, page, n * sizeof(*page));
		total += n;
		free(page);
		free(after);
		after = n ? xstrdup(all[total - 1]->id) : NULL;
		if (n < 1000)
			break;
	}
	free(after);
	*us_r = all;
	*n_r = total;
	return 0;
}

/* Queues a backup of u if due (and `points`: its tenant takes restore
 * points, docs/privacy.md 7); keeps its state in line with the policy. */
static void unit_tick(struct service *s, const struct catalog_policy *p, const char *id,
		      int64_t now, int points)
{
	int inactive = catalog_policy_state_of(p->state) == CATALOG_POLICY_INACTIVE;
	enum catalog_unit_state state, want;
	struct catalog_unit *u = NULL;
	struct error err;
	int64_t job_id;

	error_init(&err);
	svc_lock(s);
	if (catalog_unit_get(svc_catalog(s), p->tenant, id, &u, &err) < 0)
		goto out;
	if (u->destroy_requested) /* no more points (docs/privacy.md 5) */
		goto out;
	state = catalog_unit_state_of(u->state);
	if (inactive)
		want = CATALOG_UNIT_UNPROTECTED;
	else if (state == CATALOG_UNIT_UNPROTECTED || state == CATALOG_UNIT_ACTIVATING)
		want = CATALOG_UNIT_ACTIVATING;
	else
		want = state;
	if (want != state) {
		free(u->state);
		u->state = xstrdup(catalog_unit_state_name(want));
		if (want == CATALOG_UNIT_ACTIVATING)
			u->next_due = 0;
		if (catalog_unit_update(svc_catalog(s), u, &err) < 0)
			goto out;
	}
	if (inactive || want == CATALOG_UNIT_REMOVED)
		goto out;
	if (points && u->next_due <= now) {
		if (svc_job_queue(s, u->tenant, u->id, CATALOG_JOB_BACKUP, now, &job_id, &err) < 0)
			goto out;
		svc_kick_workers(s);
	}
	if (u->last_success > 0 && expire_due(u->id, now)) {
		if (svc_job_queue(s, u->tenant, u->id, CATALOG_JOB_EXPIRE, now, &job_id, &err) < 0)
			goto out;
		svc_kick_workers(s);
	}
	svc_drill_tick(s, p, u, now);
out:
	svc_unlock(s);
	if (err.msg[0])
		log_warn("event=schedule tenant=%s unit=%s error=\"%s\"", p->tenant, id, err.msg);
	catalog_unit_free(&u);
}

static void policy_tick(struct service *s, struct catalog_policy *p, int64_t now, int points)
{
	struct json_object *units = json_tokener_parse(p->units ? p->units : "[]");
	struct json_object *rules = json_tokener_parse(p->rules ? p->rules : "[]");
	struct catalog_unit **us = NULL;
	struct error err;
	size_t n = 0, activating = 0;

	error_init(&err);
	if (catalog_policy_state_of(p->state) != CATALOG_POLICY_INACTIVE && points) {
		for (size_t i = 0; rules && i < json_object_array_length(rules); i++) {
			struct json_object *r = json_object_array_get_idx(rules, i);

			if (json_str_eq(r, "type", "subfolders"))
				rule_subfolders(s, p, r);
			else if (json_str_eq(r, "type", "webdav"))
				rule_webdav(s, p, r, now);
		}
		for (size_t i = 0; units && i < json_object_array_length(units); i++) {
			const char *id = json_object_get_string(json_object_array_get_idx(units, i));

			if (unit_attach(s, p, p->tenant, id, 0, &err) < 0) {
				log_warn("event=policy.unit policy=%s unit=%s error=\"%s\"", p->id, id,
					 err.msg);
				error_init(&err);
			}
		}
	}
	if (policy_members(s, p, &us, &n, &err) < 0) {
		log_warn("event=policy.units policy=%s error=\"%s\"", p->id, err.msg);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!explicit_has(units, us[i]->id) && !rules_cover(rules, us[i])) {
			if (unit_attach(s, p, p->tenant, us[i]->id, 1, &err) < 0)
				log_warn("event=unit.detach unit=%s error=\"%s\"", us[i]->id, err.msg);
			continue;
		}
		unit_tick(s, p, us[i]->id, now, points);
		if (us[i]->last_success == 0 ||
		    catalog_unit_state_of(us[i]->state) == CATALOG_UNIT_ACTIVATING)
			activating++;
	}
	if (catalog_policy_state_of(p->state) == CATALOG_POLICY_ACTIVATING && activating == 0) {
		svc_lock(s);
		struct catalog_policy *fresh = NULL;

		if (catalog_policy_get(svc_catalog(s), p->tenant, p->id, &fresh, &err) == 0 &&
		    catalog_policy_state_of(fresh->state) == CATALOG_POLICY_ACTIVATING) {
			free(fresh->state);
			fresh->state = xstrdup(catalog_policy_state_name(CATALOG_POLICY_ACTIVE));
			fresh->updated = now;
			if (catalog_policy_update(svc_catalog(s), fresh, &err) == 0)
				log_info("event=policy.active tenant=%s policy=%s units=%zu", p->tenant,
					 p->id, n);
		}
		svc_unlock(s);
		catalog_policy_free(&fresh);
	}
out:
	CATALOG_LIST_FREE(us, n, catalog_unit_free);
	json_object_put(units);
	json_object_put(rules);
}

int svc_scheduler_evaluate(struct service *s, struct error *err)
{
	struct catalog_page pg = { .limit = 1000 };
	struct catalog_tenant **ts = NULL;
	struct catalog_policy **ps = NULL;
	size_t nt = 0, np = 0;
	int64_t now = svc_now(s);
	char *after = NULL;
	int ret = 0;

	for (;;) {
		pg.after = after;
		if (catalog_tenant_list(svc_catalog(s), &pg, &ts, &nt, err) < 0) {
			ret = -1;
			break;
		}
		for (size_t i = 0; i < nt && !svc_stopping(s); i++) {
			struct catalog_page ppg = { .limit = 1000 };
			int points = svc_tenant_takes_points(ts[i]);
			char *pafter = NULL;

			/* An offboarding past its grace period: the purge's next
			 * step (docs/privacy.md 7). */
			svc_offboard_tick(s, ts[i], now);

			for (;;) {
				ppg.after = pafter;
				if (catalog_policy_list(svc_catalog(s), ts[i]->id, &ppg, &ps, &np,
							err) < 0) {
					ret = -1;
					break;
				}
				for (size_t k = 0; k < np; k++)
					policy_tick(s, ps[k], now, points);
				free(pafter);
				pafter = np ? xstrdup(ps[np - 1]->id) : NULL;
				CATALOG_LIST_FREE(ps, np, catalog_policy_free);
				if (np < 1000)
					break;
			}
			free(pafter);
		}
		free(after);
		after = nt ? xstrdup(ts[nt - 1]->id) : NULL;
		CATALOG_LIST_FREE(ts, nt, catalog_tenant_free);
		if (nt < 1000 || ret < 0)
			break;
	}
	free(after);
	svc_erasures_tick(s);
	svc_destroy_tick(s, now);
	return ret;
}

/* Of several nodes on one catalog, only the one holding the scheduler's
 * lock evaluates (docs/service.md "Several nodes"): each due job is made
 * once. The others keep trying each tick and take over when it dies. */
static int scheduler_leads(struct svc_scheduler *sch, struct error *err)
{
	int lead = 0;

	if (catalog_scheduler_lead(svc_catalog(sch->s), &lead, err) < 0)
		return -1;
	if (lead != sch->leading)
		log_info("event=scheduler.%s node=%s", lead ? "lead" : "follow", svc_node(sch->s));
	sch->leading = lead;
	return lead;
}

static void *scheduler_main(void *arg)
{
	struct svc_scheduler *sch = arg;
	int64_t tick = svc_cfg(sch->s)->tick_ms;
	struct timespec ts;
	struct error err;
	int lead;

	pthread_mutex_lock(&sch->lock);
	while (!sch->stop) {
		pthread_mutex_unlock(&sch->lock);
		error_init(&err);
		lead = scheduler_leads(sch, &err);
		if (lead < 0 || (lead > 0 && svc_scheduler_evaluate(sch->s, &err) < 0))
			log_error("event=schedule error=\"%s\"", err.msg);
		pthread_mutex_lock(&sch->lock);
		time_deadline_ms(&ts, tick);
		while (!sch->stop && !sch->kicked)
			if (pthread_cond_timedwait(&sch->cond, &sch->lock, &ts) == ETIMEDOUT)
				break;
		sch->kicked = 0;
	}
	pthread_mutex_unlock(&sch->lock);
	return NULL;
}

struct svc_scheduler *svc_scheduler_start(struct service *s, struct error *err)
{
	struct svc_scheduler *sch = xcalloc(1, sizeof(*sch));
	int e;

	sch->s = s;
	pthread_mutex_init(&sch->lock, NULL);
	pthread_cond_init(&sch->cond, NULL);
	e = pthread_create(&sch->thread, NULL, scheduler_main, sch);
	if (e != 0) {
		errno = e;
		error_sys(err, "cannot start the scheduler thread");
		pthread_mutex_destroy(&sch->lock);
		pthread_cond_destroy(&sch->cond);
		free(sch);
		return NULL;
	}
	return sch;
}

void svc_scheduler_kick(struct svc_scheduler *sch)
{
	pthread_mutex_lock(&sch->lock);
	sch->kicked = 1;
	pthread_cond_broadcast(&sch->cond);
	pthread_mutex_unlock(&sch->lock);
}

void svc_scheduler_stop(struct svc_scheduler **schp)
{
	struct svc_scheduler *sch = *schp;

	if (sch == NULL)
		return;
	*schp = NULL;
	pthread_mutex_lock(&sch->lock);
	sch->stop = 1;
	pthread_cond_broadcast(&sch->cond);
	pthread_mutex_unlock(&sch->lock);
	pthread_join(sch->thread, NULL);
	pthread_mutex_destroy(&sch->lock);
	pthread_cond_destroy(&sch->cond);
	free(sch);
}
