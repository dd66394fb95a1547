/* The service object: configuration (defaults, the config file), opening
 * the catalog and the data folder, the clock, the threads' lifecycle and
 * the tenants' stores (docs/service.md "Configuration", "Scheduler and
 * jobs"). */
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "crypto/crypto.h"
#include "crypto/seal.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/hex.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/netpolicy.h"
#include "lib/parse.h"
#include "service/core.h"
#include "service/internal.h"
#include "service/service.h"
#include "store/backend.h"
#include "store/store.h"

#define KEY_FILE_MAX 4096
#define CONFIG_MAX (1024 * 1024)

struct service {
	struct svc_config cfg;
	char *data_dir, *catalog_url, *cache_dir;
	struct catalog *cat;
	uint8_t service_key[32];
	atomic_int stopping;
	pthread_mutex_t lock;
	struct svc_scheduler *sched;
	struct svc_workers *workers;
	struct svc_stats *stats;
	int abandoned; /* workers still ran at stop: keep everything allocated */
	int64_t last_clock; /* the last good reading of the clock file */
	pthread_mutex_t clock_lock;
	struct netpolicy *netpolicy; /* source_allow, source_deny; read-only */
	char *key_created; /* the service key file this start created */
	char *node;        /* setting node, or the host name */
	struct svc_health_state *health;
};

/* ---- configuration ---- */

/* Strings read from config files live as long as the process: the config
 * struct holds const pointers and has no destructor. Kept reachable here. */
static char **config_strings;
static size_t config_nstrings;
static pthread_mutex_t config_strings_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *config_keep(const char *v)
{
	char *copy = xstrdup(v);

	pthread_mutex_lock(&config_strings_lock);
	config_strings = xrealloc(config_strings, xmul(config_nstrings + 1, sizeof(char *)));
	config_strings[config_nstrings++] = copy;
	pthread_mutex_unlock(&config_strings_lock);
	return copy;
}

void svc_config_defaults(struct svc_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->data_dir = "/var/lib/coffer";
	cfg->listen = "127.0.0.1:8470";
	cfg->workers = 2;
	cfg->restore_parallel = 2;
	cfg->tick_ms = 1000;
	cfg->min_frequency_s = 600;
	cfg->max_body = 1024 * 1024;
	cfg->request_timeout_s = 30;
	cfg->header_timeout_s = 10;
	cfg->max_connections = 512;
	cfg->max_connections_per_ip = 128;
	cfg->lease_s = 60;
}

/* CFG_LIST: netpolicy entries; each line or flag adds to the list. */
enum cfg_type { CFG_STR, CFG_INT, CFG_I64, CFG_SIZE, CFG_LIST };

struct cfg_key {
	const char *name;
	enum cfg_type type;
	size_t off;
	int64_t min, max;
};

#define CFG(name, type, field, min, max) { name, type, offsetof(struct svc_config, field), min, max }
static const struct cfg_key cfg_keys[] = {
	CFG("data", CFG_STR, data_dir, 0, 0),
	CFG("catalog", CFG_STR, catalog_url, 0, 0),
	CFG("listen", CFG_STR, listen, 0, 0),
	CFG("tls_cert", CFG_STR, tls_cert, 0, 0),
	CFG("tls_key", CFG_STR, tls_key, 0, 0),
	CFG("workers", CFG_INT, workers, 1, 256),
	CFG("restore_parallel", CFG_INT, restore_parallel, 1, 256),
	CFG("tick_ms", CFG_I64, tick_ms, 10, 3600 * 1000),
	CFG("min_frequency", CFG_I64, min_frequency_s, 1, 366 * 86400),
	CFG("clock_file", CFG_STR, clock_file, 0, 0),
	CFG("folder_root", CFG_STR, folder_root, 0, 0),
	CFG("allow_secret_command", CFG_INT, allow_secret_command, 0, 1),
	CFG("source_allow", CFG_LIST, source_allow, 0, 0),
	CFG("source_deny", CFG_LIST, source_deny, 0, 0),
	CFG("max_body", CFG_SIZE, max_body, 1024, (int64_t)1 << 32),
	CFG("request_timeout", CFG_INT, request_timeout_s, 1, 3600),
	CFG("header_timeout", CFG_INT, header_timeout_s, 1, 3600),
	CFG("max_connections", CFG_INT, max_connections, 1, 65536),
	CFG("max_connections_per_ip", CFG_INT, max_connections_per_ip, 1, 65536),
	CFG("default_location", CFG_STR, default_location, 0, 0),
	CFG("service_key", CFG_STR, service_key_file, 0, 0),
	CFG("node", CFG_STR, node, 0, 0),
	CFG("lease", CFG_INT, lease_s, 5, 86400),
	CFG("web_root", CFG_STR, web_root, 0, 0),
};

int svc_config_set(struct svc_config *cfg, const char *key, const char *value,
		   struct error *err)
{
	const struct cfg_key *k = NULL;
	char *field;
	int64_t n;

	for (size_t i = 0; i < sizeof(cfg_keys) / sizeof(cfg_keys[0]); i++)
		if (strcmp(cfg_keys[i].name, key) == 0)
			k = &cfg_keys[i];
	if (k == NULL && strncmp(key, "location.", 9) == 0)
		return svc_config_location(cfg, key, value, config_keep, err);
	if (k == NULL)
		return error_setk(err, ERROR_USAGE, "unknown setting '%s'", key);
	field = (char *)cfg + k->off;
	if (k->type == CFG_STR) {
		if (*value == '\0')
			return error_setk(err, ERROR_USAGE, "setting '%s' is empty", key);
		*(const char **)(void *)field = config_keep(value);
		return 0;
	}
	if (k->type == CFG_LIST) {
		const char **list = (const char **)(void *)field;
		struct netpolicy *check = netpolicy_new(key, key);
		int rc = netpolicy_add(check, NETPOLICY_ALLOW, value, err);
		char *joined;

		netpolicy_free(&check);
		if (rc < 0)
			return -1;
		joined = *list ? xasprintf("%s, %s", *list, value) : xstrdup(value);
		*list = config_keep(joined);
		free(joined);
		return 0;
	}
	if (parse_int(value, k->min, k->max, &n) < 0)
		return error_setk(err, ERROR_USAGE,
				  "setting '%s': '%s' is not a whole number from %lld to %lld", key,
				  value, (long long)k->min, (long long)k->max);
	if (k->type == CFG_INT)
		*(int *)(void *)field = (int)n;
	else if (k->type == CFG_I64)
		*(int64_t *)(void *)field = n;
	else
		*(size_t *)(void *)field = (size_t)n;
	return 0;
}

static char *trim(char *p, char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	*end = '\0';
	return p;
}

int svc_config_load(struct svc_config *cfg, const char *path, struct error *err)
{
	struct buf b;
	char *line, *next, *eq, *key, *value;
	size_t len;
	int lineno = 0, ret = 0;

	buf_init(&b, CONFIG_MAX);
	if (fs_read_file(path, &b, CONFIG_MAX, err) < 0) {
		buf_clear(&b);
		return error_prefix(err, "cannot read config file %s", path);
	}
	for (line = (char *)b.data; line && *line && ret == 0; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		len = strlen(line);
		line = trim(line, line + len);
		if (*line == '\0' || *line == '#')
			continue;
		eq = strchr(line, '=');
		if (eq == NULL) {
			ret = error_setk(err, ERROR_USAGE, "%s:%d: expected 'key = value'", path,
					 lineno);
			break;
		}
		key = trim(line, eq);
		value = trim(eq + 1, eq + 1 + strlen(eq + 1));
		len = strlen(value);
		if (len >= 2 && value[0] == '"' && value[len - 1] == '"') {
			value[len - 1] = '\0';
			value++;
		}
		if (svc_config_set(cfg, key, value, err) < 0)
			ret = error_prefix(err, "%s:%d", path, lineno);
	}
	buf_clear(&b);
	return ret;
}

/* ---- the service ---- */

struct catalog *svc_catalog(struct service *s) { return s->cat; }
const struct svc_config *svc_cfg(struct service *s) { return &s->cfg; }
const struct netpolicy *svc_netpolicy(struct service *s) { return s->netpolicy; }
const char *svc_cache_dir(struct service *s) { return s->cache_dir; }
const char *svc_node(struct service *s) { return s->node; }
struct svc_health_state *svc_health_states(struct service *s) { return s->health; }
const uint8_t *svc_service_key(struct service *s) { return s->service_key; }
int svc_stopping(struct service *s) { return atomic_load(&s->stopping); }
struct svc_stats *svc_stats(struct service *s) { return s->stats; }
void svc_lock(struct service *s) { pthread_mutex_lock(&s->lock); }
void svc_unlock(struct service *s) { pthread_mutex_unlock(&s->lock); }

int64_t svc_now(struct service *s)
{
	struct error err;
	struct buf b;
	int64_t now = (int64_t)time(NULL), n;
	char *p;

	if (s == NULL || s->cfg.clock_file == NULL)
		return now;
	error_init(&err);
	buf_init(&b, 64);
	pthread_mutex_lock(&s->clock_lock);
	/* A test rewrites the file while we read: keep the last good value
	 * rather than jump to the real clock. */
	/* An empty file (caught mid-rewrite) has no terminated text. */
	if (fs_read_file(s->cfg.clock_file, &b, 64, &err) == 0 && b.len > 0) {
		p = (char *)b.data;
		while (b.len > 0 && (p[b.len - 1] == '\n' || p[b.len - 1] == ' '))
			p[--b.len] = '\0';
		if (parse_int(p, 0, INT64_MAX / 1000000000, &n) == 0)
			s->last_clock = n;
	}
	now = s->last_clock ? s->last_clock : now;
	pthread_mutex_unlock(&s->clock_lock);
	buf_clear(&b);
	return now;
}

int svc_key_file_create(const char *path, char hex[66], struct error *err)
{
	uint8_t rnd[32];

	crypto_random(rnd, sizeof(rnd));
	hex_encode(rnd, sizeof(rnd), hex);
	crypto_wipe(rnd, sizeof(rnd));
	hex[64] = '\n';
	hex[65] = '\0';
	return fs_write_secret(path, hex, 65, err);
}

int svc_key_file_read(const char *path, uint8_t key[32], struct error *err)
{
	struct buf b;
	int ret = 0;

	buf_init(&b, KEY_FILE_MAX);
	if (fs_read_file(path, &b, KEY_FILE_MAX, err) < 0)
		ret = error_prefix(err, "cannot read the service key");
	else if (b.len < 64 || hex_decode((const char *)b.data, 64, key, 32) < 0)
		ret = error_setk(err, ERROR_KEY, "service key %s is not 64 hex digits", path);
	if (b.data)
		crypto_wipe(b.data, b.len);
	buf_clear(&b);
	return ret;
}

char *svc_key_file_path(const struct svc_config *cfg)
{
	return cfg->service_key_file ? xstrdup(cfg->service_key_file)
				     : xasprintf("%s/keys/service.key", cfg->data_dir);
}

/* Reads the service key, creating it on first start (see
 * service_key_check()). */
static int service_key_load(struct service *s, struct error *err)
{
	char *path = svc_key_file_path(&s->cfg);
	char hex[66];
	int ret = -1;

	if (access(path, F_OK) != 0) {
		if (svc_key_file_create(path, hex, err) < 0)
			goto out;
		s->key_created = xstrdup(path);
	}
	ret = svc_key_file_read(path, s->service_key, err);
out:
	crypto_wipe(hex, sizeof(hex));
	free(path);
	return ret;
}

/* Tenants' keys derive from the service key, so a node that made a new one
 * next to a catalog that has tenants (a second node whose key was not
 * copied) could open none of their stores: it stops, removing the key. */
static int service_key_check(struct service *s, struct error *err)
{
	struct catalog_page pg = { .limit = 1 };
	struct catalog_tenant **ts = NULL;
	size_t n = 0;

	if (s->key_created == NULL)
		return 0;
	if (catalog_tenant_list(s->cat, &pg, &ts, &n, err) < 0)
		return -1;
	CATALOG_LIST_FREE(ts, n, catalog_tenant_free);
	if (n == 0)
		return 0;
	unlink(s->key_created);
	return error_setk(err, ERROR_KEY, "the catalog has tenants but this node has no service "
			  "key: copy %s from a node of this service (docs/service.md \"Several "
			  "nodes\")", s->key_created);
}

static int make_dirs(struct service *s, struct error *err)
{
	static const char *const subs[] = { "", "/stores", "/keys", "/cache", "/tenants" };

	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		char *p = xasprintf("%s%s", s->data_dir, subs[i]);
		int r = fs_mkdir_p(p, err);

		free(p);
		if (r < 0)
			return error_prefix(err, "cannot create the data folder");
	}
	return 0;
}

/* Everything the service keeps is private to its user (docs/service.md
 * "Data folder"): files are made 0600 and folders 0700 (cmd_serve sets the
 * umask); a data folder or catalog left open to group or others (made by
 * hand, or by an older version) is narrowed here, and the log says so. */
static void make_private(const char *path, mode_t mode)
{
	struct stat st;

	if (stat(path, &st) == 0 && (st.st_mode & 077) != 0 && chmod(path, mode) == 0)
		log_warn("event=data.mode path=%s mode=%04o was=%04o msg=\"group or others "
			 "had access; narrowed\"", path, (unsigned)mode,
			 (unsigned)(st.st_mode & 07777));
}

static void make_catalog_private(const char *url)
{
	static const char *const ext[] = { "", "-wal", "-shm", "-journal" };
	const char *path = strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url;

	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		char *p = xasprintf("%s%s", path, ext[i]);

		make_private(p, 0600);
		free(p);
	}
}

static char *node_name(const struct svc_config *cfg)
{
	char host[256] = "";

	if (cfg->node)
		return xstrdup(cfg->node);
	if (gethostname(host, sizeof(host) - 1) < 0 || host[0] == '\0')
		return xstrdup("node");
	return xstrdup(host);
}

/* First start: a global admin token, printed once. */
static int bootstrap_token(struct service *s, struct error *err)
{
	struct json_object *out = NULL, *v;
	int64_t n = 0;

	if (catalog_token_count(s->cat, NULL, NULL, &n, err) < 0)
		return -1;
	if (n > 0)
		return 0;
	if (svc_token_create(s, NULL, NULL, SVC_ROLE_GLOBAL_ADMIN, "bootstrap", NULL, &out, err) < 0)
		return error_prefix(err, "cannot create the first global admin token");
	if (json_object_object_get_ex(out, "secret", &v))
		printf("%s\n", json_object_get_string(v));
	else
		printf("%s\n", json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
	fflush(stdout);
	log_info("event=bootstrap msg=\"printed the first global admin token on stdout\"");
	json_object_put(out);
	return 0;
}

struct service *svc_open_flags(const struct svc_config *cfg, int flags, struct error *err)
{
	struct service *s = xcalloc(1, sizeof(*s));
	int n;

	s->cfg = *cfg;
	s->data_dir = xstrdup(cfg->data_dir);
	s->cfg.data_dir = s->data_dir;
	s->catalog_url = cfg->catalog_url ? xstrdup(cfg->catalog_url)
					  : xasprintf("%s/catalog.db", s->data_dir);
	s->cfg.catalog_url = s->catalog_url;
	s->cache_dir = xasprintf("%s/cache", s->data_dir);
	s->node = node_name(cfg);
	s->health = svc_health_state_new();
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->clock_lock, NULL);
	s->stats = svc_stats_new();
	s->netpolicy = netpolicy_new("source_allow", "source_deny");
	if ((cfg->source_allow &&
	     netpolicy_add(s->netpolicy, NETPOLICY_ALLOW, cfg->source_allow, err) < 0) ||
	    (cfg->source_deny && netpolicy_add(s->netpolicy, NETPOLICY_DENY, cfg->source_deny, err) < 0))
		goto fail;
	if (svc_config_check_locations(&s->cfg, err) < 0 || make_dirs(s, err) < 0 ||
	    service_key_load(s, err) < 0)
		goto fail;
	make_private(s->data_dir, 0700);
	make_catalog_private(s->catalog_url);
	s->cat = catalog_open(s->catalog_url, err);
	if (s->cat == NULL)
		goto fail;
	make_catalog_private(s->catalog_url);
	if (service_key_check(s, err) < 0)
		goto fail;
	/* This node's own jobs only: other nodes' are taken over when their
	 * leases lapse (docs/service.md "Several nodes"). */
	n = catalog_job_requeue_running(s->cat, s->node, SVC_INTERRUPTED, err);
	if (n < 0)
		goto fail;
	if (n > 0)
		log_info("event=jobs.requeue count=%d reason=\"%s\"", n, SVC_INTERRUPTED);
	if (!(flags & SVC_OPEN_NO_BOOTSTRAP) && bootstrap_token(s, err) < 0)
		goto fail;
	return s;
fail:
	svc_close(&s);
	return NULL;
}

struct service *svc_open(const struct svc_config *cfg, struct error *err)
{
	return svc_open_flags(cfg, 0, err);
}

int svc_start(struct service *s, struct error *err)
{
	atomic_store(&s->stopping, 0);
	s->workers = svc_workers_start(s, s->cfg.workers, err);
	if (s->workers == NULL)
		return -1;
	s->sched = svc_scheduler_start(s, err);
	if (s->sched == NULL) {
		svc_stop(s);
		return -1;
	}
	log_info("event=service.start workers=%d tick_ms=%lld data=%s", s->cfg.workers,
		 (long long)s->cfg.tick_ms, s->data_dir);
	return 0;
}

void svc_kick_workers(struct service *s)
{
	if (s->workers)
		svc_workers_kick(s->workers);
}

void svc_kick_scheduler(struct service *s)
{
	if (s->sched)
		svc_scheduler_kick(s->sched);
}

void svc_stop(struct service *s)
{
	int left;

	if (s == NULL)
		return;
	atomic_store(&s->stopping, 1);
	svc_scheduler_stop(&s->sched);
	if (s->workers) {
		left = svc_workers_stop(&s->workers, 30);
		if (left > 0) {
			/* They still hold the catalog: never free under them. The
			 * next start requeues their jobs. */
			s->abandoned = 1;
			log_warn("event=service.stop running_jobs=%d msg=\"left running; the next "
				 "start requeues them\"", left);
		}
	}
	log_info("event=service.stop");
}

void svc_close(struct service **sp)
{
	struct service *s = *sp;

	if (s == NULL)
		return;
	*sp = NULL;
	if (s->sched || s->workers)
		svc_stop(s);
	if (s->abandoned)
		return;
	catalog_close(&s->cat);
	svc_stats_free(&s->stats);
	netpolicy_free(&s->netpolicy);
	crypto_wipe(s->service_key, sizeof(s->service_key));
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->clock_lock);
	free(s->data_dir);
	free(s->catalog_url);
	free(s->cache_dir);
	free(s->key_created);
	free(s->node);
	svc_health_state_free(&s->health);
	free(s);
}
