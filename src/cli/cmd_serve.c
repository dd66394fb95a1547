/* coffer serve: the daemon (scheduler, workers, HTTP API) until SIGTERM or
 * SIGINT; coffer catalog rebuild: restore point rows from the stores.
 * Options are a table shared with the config file (docs/service.md
 * "Configuration"); no business logic here. */
#include <json-c/json.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "server/server.h"
#include "service/service.h"

/* Command-line flag -> config file setting. */
static const struct {
	const char *flag, *key;
} serve_flags[] = {
	{ "--data", "data" },
	{ "--catalog", "catalog" },
	{ "--listen", "listen" },
	{ "--tls-cert", "tls_cert" },
	{ "--tls-key", "tls_key" },
	{ "--workers", "workers" },
	{ "--restore-parallel", "restore_parallel" },
	{ "--tick-ms", "tick_ms" },
	{ "--min-frequency", "min_frequency" },
	{ "--clock-file", "clock_file" },
	{ "--folder-root", "folder_root" },
	{ "--allow-secret-command", "allow_secret_command" },
	{ "--source-allow", "source_allow" },
	{ "--source-deny", "source_deny" },
	{ "--max-body", "max_body" },
	{ "--request-timeout", "request_timeout" },
	{ "--header-timeout", "header_timeout" },
	{ "--max-connections", "max_connections" },
	{ "--max-connections-per-ip", "max_connections_per_ip" },
	{ "--default-location", "default_location" },
	{ "--service-key", "service_key" },
	{ "--node", "node" },
	{ "--lease", "lease" },
	{ "--web-root", "web_root" },
};

/* --location NAME=SPEC: the setting location.NAME = SPEC. */
static int location_flag(struct svc_config *cfg, const char *v, struct error *err)
{
	const char *eq = strchr(v, '=');
	char *key;
	int ret;

	if (eq == NULL)
		return error_setk(err, ERROR_USAGE, "--location %s: expected NAME=SPEC", v);
	key = xasprintf("location.%.*s", (int)(eq - v), v);
	ret = svc_config_set(cfg, key, eq + 1, err);
	free(key);
	return ret < 0 ? error_prefix(err, "--location") : 0;
}

/* The config file first (wherever --config appears), then each flag. */
static int parse_config(int argc, char **argv, struct svc_config *cfg, struct error *err)
{
	const char *v;
	int i;

	svc_config_defaults(cfg);
	for (i = 1; i < argc; i++)
		if ((v = cli_option_value(argc, argv, &i, "--config")) &&
		    svc_config_load(cfg, v, err) < 0)
			return -1;
	for (i = 1; i < argc; i++) {
		size_t k, nflags = sizeof(serve_flags) / sizeof(serve_flags[0]);

		if (cli_option_value(argc, argv, &i, "--config"))
			continue;
		if ((v = cli_option_value(argc, argv, &i, "--location"))) {
			if (location_flag(cfg, v, err) < 0)
				return -1;
			continue;
		}
		for (k = 0; k < nflags; k++) {
			if ((v = cli_option_value(argc, argv, &i, serve_flags[k].flag))) {
				if (svc_config_set(cfg, serve_flags[k].key, v, err) < 0)
					return error_prefix(err, "%s", serve_flags[k].flag);
				break;
			}
		}
		if (k == nflags)
			return error_setk(err, ERROR_USAGE, "unknown option %s", argv[i]);
	}
	return 0;
}

static int fail(struct error *err)
{
	log_error("event=error msg=\"%s\"", err->msg);
	return err->code == ERROR_USAGE ? EXIT_USAGE : EXIT_FAIL;
}

/* glibc gives threads malloc arenas of their own, up to 8 per core, and
 * memory freed in one arena is not reused by the others: under 50 clients
 * (tests/soak/serve.sh) the server's resident memory grew by a quarter in
 * ten minutes with the default, a tenth with two arenas. An administrator's
 * MALLOC_ARENA_MAX still wins. */
static void limit_malloc_arenas(void)
{
#ifdef M_ARENA_MAX
	if (getenv("MALLOC_ARENA_MAX") == NULL)
		mallopt(M_ARENA_MAX, 2);
#endif
}

int cmd_serve(struct cli *c, int argc, char **argv)
{
	struct svc_config cfg;
	struct service *s = NULL;
	struct server *srv = NULL;
	struct error err;
	sigset_t sigs;
	int sig = 0;

	(void)c;
	error_init(&err);
	/* Everything the service creates (catalog, stores, keys, caches,
	 * temporary exports) is its user's alone: files 0600, folders 0700.
	 * Restores set the modes of what they write explicitly. */
	umask(077);
	limit_malloc_arenas();
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return cli_usage("serve", "[--config FILE] [--data DIR] [--listen HOST:PORT] "
				      "[--workers N] [--tick-ms N] [--min-frequency S] "
				      "[--clock-file F] [--restore-parallel N] [--tls-cert F "
				      "--tls-key F] [--max-body BYTES] [--request-timeout S] "
				      "[--header-timeout S] [--max-connections N] "
				      "[--max-connections-per-ip N] "
				      "[--folder-root DIR] [--allow-secret-command 0|1] "
				      "[--source-allow LIST] [--source-deny LIST] "
				      "[--web-root DIR]");
	if (parse_config(argc, argv, &cfg, &err) < 0)
		return fail(&err);
	if ((cfg.tls_cert == NULL) != (cfg.tls_key == NULL)) {
		error_setk(&err, ERROR_USAGE, "TLS needs both tls_cert and tls_key");
		return fail(&err);
	}
	/* Every thread inherits the mask: only sigwait() below sees them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	s = svc_open(&cfg, &err);
	if (s == NULL)
		return fail(&err);
	if (svc_start(s, &err) < 0)
		goto fail;
	srv = server_start(s, &err);
	if (srv == NULL)
		goto fail;
	log_info("event=serve.listen listen=%s port=%u tls=%s data=%s", cfg.listen,
		 server_port(srv), cfg.tls_cert ? "on" : "off", svc_cfg(s)->data_dir);
	while (sigwait(&sigs, &sig) != 0)
		;
	log_info("event=serve.stop signal=%s", sig == SIGTERM ? "TERM" : "INT");
	server_stop(&srv);
	svc_stop(s);
	svc_close(&s);
	log_info("event=serve.end");
	return EXIT_OK;
fail:
	server_stop(&srv);
	svc_close(&s);
	return fail(&err);
}

static int catalog_rebuild(int argc, char **argv)
{
	struct json_object *out = NULL;
	struct svc_config cfg;
	struct service *s;
	struct error err;
	int ret;

	error_init(&err);
	umask(077); /* as cmd_serve: the catalog and caches are private */
	if (parse_config(argc, argv, &cfg, &err) < 0)
		return fail(&err);
	s = svc_open_flags(&cfg, SVC_OPEN_NO_BOOTSTRAP, &err);
	if (s == NULL)
		return fail(&err);
	ret = svc_catalog_rebuild(s, &out, &err);
	if (out)
		puts(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
	json_object_put(out);
	svc_close(&s);
	if (ret < 0)
		return fail(&err);
	return EXIT_OK;
}

/* catalog tenant-key TENANT --key-file-new F [--deletion-key-file-new F]
 * [service options]: the tenant's keys as files, derived from the service
 * key, for work on its store by hand or when the service is gone. */
static int tenant_key(int argc, char **argv)
{
	const char *tenant = NULL, *key_file = NULL, *del_file = NULL, *v;
	char **rest = xcalloc((size_t)argc + 1, sizeof(char *));
	struct svc_config cfg;
	struct error err;
	int nrest = 0, ret;

	error_init(&err);
	umask(077);
	rest[nrest++] = argv[0];
	for (int i = 1; i < argc; i++) {
		if ((v = cli_option_value(argc, argv, &i, "--key-file-new")))
			key_file = v;
		else if ((v = cli_option_value(argc, argv, &i, "--deletion-key-file-new")))
			del_file = v;
		else if (argv[i][0] != '-' && tenant == NULL)
			tenant = argv[i];
		else
			rest[nrest++] = argv[i];
	}
	if (tenant == NULL || (key_file == NULL && del_file == NULL)) {
		free(rest);
		return cli_usage("catalog tenant-key", USAGE_CATALOG);
	}
	ret = parse_config(nrest, rest, &cfg, &err) < 0 ? -1
	      : svc_tenant_keys_write(&cfg, tenant, key_file, del_file, &err);
	free(rest);
	if (ret < 0)
		return fail(&err);
	return EXIT_OK;
}

int cmd_catalog(struct cli *c, int argc, char **argv)
{
	(void)c;
	if (argc >= 2 && strcmp(argv[1], "rebuild") == 0)
		return catalog_rebuild(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "tenant-key") == 0)
		return tenant_key(argc - 1, argv + 1);
	return cli_usage("catalog", USAGE_CATALOG);
}
