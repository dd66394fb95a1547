/* GET /v1/health (docs/service.md "Several nodes"): whether this node can
 * do its work. The catalog is asked on each call (one cheap query); each
 * location reports how the last opening of a store there went, as
 * svc_location_note() recorded it, so a health check never waits on S3. */
#include <json-c/json.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "lib/error.h"
#include "lib/mem.h"
#include "service/core.h"
#include "service/internal.h"
#include "service/service.h"

struct location_state {
	char *name;
	char *error; /* NULL: the last opening worked */
};

struct svc_health_state {
	pthread_mutex_t lock;
	struct location_state *locs;
	size_t n;
};

struct svc_health_state *svc_health_state_new(void)
{
	struct svc_health_state *h = xcalloc(1, sizeof(*h));

	pthread_mutex_init(&h->lock, NULL);
	return h;
}

void svc_health_state_free(struct svc_health_state **hp)
{
	struct svc_health_state *h = *hp;

	if (h == NULL)
		return;
	*hp = NULL;
	for (size_t i = 0; i < h->n; i++) {
		free(h->locs[i].name);
		free(h->locs[i].error);
	}
	free(h->locs);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void svc_location_note(struct service *s, const char *location, const struct error *err)
{
	struct svc_health_state *h = svc_health_states(s);
	struct location_state *l = NULL;

	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < h->n && l == NULL; i++)
		if (strcmp(h->locs[i].name, location) == 0)
			l = &h->locs[i];
	if (l == NULL) {
		h->locs = xrealloc(h->locs, xmul(h->n + 1, sizeof(*h->locs)));
		l = &h->locs[h->n++];
		l->name = xstrdup(location);
		l->error = NULL;
	}
	free(l->error);
	l->error = err ? xstrdup(err->msg) : NULL;
	pthread_mutex_unlock(&h->lock);
}

static const char *check_catalog(struct service *s, struct json_object *checks)
{
	if (catalog_job_queue_depth(svc_catalog(s)) < 0) {
		json_object_object_add(checks, "catalog",
				       json_object_new_string("unreachable: see the node's log"));
		return "degraded";
	}
	json_object_object_add(checks, "catalog", json_object_new_string("ok"));
	return "ok";
}

struct json_object *svc_health(struct service *s)
{
	struct svc_health_state *h = svc_health_states(s);
	struct json_object *o = json_object_new_object(), *checks = json_object_new_object();
	struct json_object *locs = json_object_new_object();
	const char *status = check_catalog(s, checks);

	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < h->n; i++) {
		json_object_object_add(locs, h->locs[i].name,
				       json_object_new_string(h->locs[i].error ? h->locs[i].error
										: "ok"));
		if (h->locs[i].error)
			status = "degraded";
	}
	pthread_mutex_unlock(&h->lock);
	json_object_object_add(checks, "locations", locs);
	json_object_object_add(o, "status", json_object_new_string(status));
	json_object_object_add(o, "node", json_object_new_string(svc_node(s)));
	json_object_object_add(o, "checks", checks);
	return o;
}
