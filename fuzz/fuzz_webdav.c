/* Fuzzes the WebDAV client's reader of PROPFIND answers
 * (sources/webdav.h): a multistatus body from a server that may be
 * hostile or broken, read against the base URL http://h/dav/u/. An
 * accepted answer must only hold paths below the base: relative, no empty,
 * "." or ".." segment, no NUL; and the same bytes as one href segment to
 * decode and as a path to encode. Dead properties kept compare equal to
 * themselves; the same bytes read as a PROPPATCH answer. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#include "lib/error.h"
#include "sources/webdav.h"

static void check_path(const char *p)
{
	const char *s = p;

	if (p[0] == '/' || (p[0] != '\0' && p[strlen(p) - 1] == '/')) {
		fprintf(stderr, "fuzz_webdav: path \"%s\" is not relative\n", p);
		abort();
	}
	while (*s) {
		size_t n = strcspn(s, "/");

		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) {
			fprintf(stderr, "fuzz_webdav: path \"%s\" has a bad segment\n", p);
			abort();
		}
		s += n;
		if (*s == '/')
			s++;
	}
}

/* Dead properties read back must compare equal to themselves (no
 * PROPPATCH), and against nothing give a body. */
static void check_props(const char *props)
{
	struct error err;
	char *body = NULL;

	if (props == NULL)
		return;
	error_init(&err);
	if (dav_props_patch(props, props, "fuzz", &body, &err) < 0 || body != NULL) {
		fprintf(stderr, "fuzz_webdav: properties %s differ from themselves (%s)\n", props,
			body ? body : err.msg);
		abort();
	}
	if (dav_props_patch(props, NULL, "fuzz", &body, &err) < 0 || body == NULL) {
		fprintf(stderr, "fuzz_webdav: properties %s give no PROPPATCH\n", props);
		abort();
	}
	free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dav_list l;
	struct error err;
	size_t i;

	error_init(&err);
	if (dav_multistatus_parse((const char *)data, size, "http://h/dav/u/", "fuzz", &l, &err) ==
	    0) {
		for (i = 0; i < l.n; i++) {
			check_path(l.res[i].path);
			check_props(l.res[i].props);
		}
		dav_list_clear(&l);
	} else if (l.n != 0) {
		fprintf(stderr, "fuzz_webdav: a refused answer left resources behind\n");
		abort();
	}
	(void)dav_patch_result((const char *)data, size, "fuzz", &err);
	if (size < 4096) {
		char s[4096], *d, *u;

		memcpy(s, data, size);
		s[size] = '\0';
		d = dav_unescape_segment(s, size);
		if (d != NULL) {
			if (strchr(d, '/') != NULL) {
				fprintf(stderr, "fuzz_webdav: a segment decoded to a '/'\n");
				abort();
			}
			/* encoding and decoding a segment gives it back */
			u = dav_url("", d, 0);
			char *back = dav_unescape_segment(u, strlen(u));

			if (back == NULL || strcmp(back, d) != 0) {
				fprintf(stderr, "fuzz_webdav: \"%s\" does not round-trip\n", d);
				abort();
			}
			free(back);
			free(u);
			free(d);
		}
	}
	return 0;
}
