/* Fuzzes svc_config_load(): the config file of `coffer serve`
 * (docs/service.md "Configuration"), and through it svc_config_set() and
 * the network policy lists of source_allow/source_deny (lib/netpolicy.h).
 * The input is the file's bytes, read back through a memfd so the reader
 * runs exactly as it does on a real file.
 *
 * What must hold: a refused file names itself and a line; an accepted one
 * leaves every number inside its documented range and every string
 * setting non-empty. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

#include "lib/error.h"
#include "service/service.h"

/* The strings the reader keeps live as long as the process (service.c
 * config_keep(): the service reads its config once), so every run here
 * adds to them: inputs are kept to a config file's size. */
#define FUZZ_CONFIG_MAX 4096

/* The array of kept strings grows one entry a run, and each realloc puts
 * the old array in ASan's quarantine (256 MiB by default), which took this
 * target to 1.6 GB of RSS; freed memory is still poisoned with a small
 * one. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "quarantine_size_mb=16"; }

static int memfd = -1;
static char path[64];

static void fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_config: %s\n", what);
	abort();
}

static void check_str(const char *s, const char *dflt)
{
	if (s != dflt && (s == NULL || *s == '\0'))
		fuzz_fail("an accepted string setting is empty");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct svc_config cfg, dflt;
	struct error err;

	if (size > FUZZ_CONFIG_MAX)
		return 0;
	if (memfd < 0) {
		memfd = memfd_create("fuzz_config", MFD_CLOEXEC);
		if (memfd < 0)
			fuzz_fail("memfd_create failed");
		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	}
	if (ftruncate(memfd, 0) < 0 || pwrite(memfd, data, size, 0) != (ssize_t)size)
		fuzz_fail("cannot write the memfd");

	svc_config_defaults(&cfg);
	svc_config_defaults(&dflt);
	error_init(&err);
	if (svc_config_load(&cfg, path, &err) < 0) {
		if (strncmp(err.msg, path, strlen(path)) != 0 || err.msg[strlen(path)] != ':')
			fuzz_fail("a refusal that does not start with FILE:LINE");
		return 0;
	}
	if (cfg.workers < 1 || cfg.workers > 256 || cfg.restore_parallel < 1 ||
	    cfg.restore_parallel > 256 || cfg.tick_ms < 10 || cfg.tick_ms > 3600 * 1000 ||
	    cfg.min_frequency_s < 1 || cfg.min_frequency_s > 366 * 86400 ||
	    cfg.allow_secret_command < 0 || cfg.allow_secret_command > 1 || cfg.max_body < 1024 ||
	    cfg.max_body > ((size_t)1 << 32) || cfg.request_timeout_s < 1 ||
	    cfg.request_timeout_s > 3600 || cfg.header_timeout_s < 1 ||
	    cfg.header_timeout_s > 3600 || cfg.max_connections < 1 ||
	    cfg.max_connections > 65536 || cfg.max_connections_per_ip < 1 ||
	    cfg.max_connections_per_ip > 65536)
		fuzz_fail("an accepted number is outside its range");
	check_str(cfg.data_dir, dflt.data_dir);
	check_str(cfg.catalog_url, dflt.catalog_url);
	check_str(cfg.listen, dflt.listen);
	check_str(cfg.tls_cert, dflt.tls_cert);
	check_str(cfg.tls_key, dflt.tls_key);
	check_str(cfg.clock_file, dflt.clock_file);
	check_str(cfg.folder_root, dflt.folder_root);
	check_str(cfg.source_allow, dflt.source_allow);
	check_str(cfg.source_deny, dflt.source_deny);
	return 0;
}
