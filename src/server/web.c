/* The web console's static files (web.h). The console is plain files that
 * call the same JSON API as everyone else: serving them needs no token and
 * no service call; what a page may do is still decided by the API for the
 * token the page sends. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "lib/hex.h"
#include "lib/mem.h"
#include "server/web.h"

#define WEB_FILE_MAX (16u << 20)

int web_is_console(const char *url)
{
	return strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0 ||
	       strncmp(url, "/ui/", 4) == 0;
}

/* The file's path inside web/: "/index.html" for the page, else what
 * follows "/ui". */
static const char *asset_path(const char *url)
{
	if (strcmp(url, "/") == 0)
		return "/index.html";
	if (strncmp(url, "/ui/", 4) == 0)
		return url + 3;
	return url;
}

/* Only plain names: no "..", no hidden or empty segments, a short safe
 * alphabet, so a path can never leave web_root. */
static int safe_path(const char *p)
{
	const char *seg = p;

	if (*p != '/' || strlen(p) > 200)
		return 0;
	for (const char *c = p + 1;; c++) {
		if (*c == '/' || *c == '\0') {
			if (c == seg + 1 || seg[1] == '.')
				return 0;
			if (*c == '\0')
				return 1;
			seg = c;
			continue;
		}
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-'))
			return 0;
	}
}

static const char *type_of(const char *p)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".mjs", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ ".json", "application/json" },
		{ ".txt", "text/plain; charset=utf-8" },
		{ ".woff2", "font/woff2" },
		{ ".webmanifest", "application/manifest+json" },
	};
	const char *dot = strrchr(p, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return NULL;
}

/* Reads web_root + path: a regular file, not through a symbolic link at
 * its last component, at most WEB_FILE_MAX. */
static int read_root_file(const char *root, const char *path, struct web_file *f)
{
	char *full = xasprintf("%s%s", root, path);
	int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	ssize_t n;
	size_t got = 0;

	free(full);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? 404 : 500;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > WEB_FILE_MAX) {
		close(fd);
		return 404;
	}
	f->owned = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size &&
	       (n = read(fd, f->owned + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	f->data = f->owned;
	f->len = got;
	return 0;
}

/* A strong ETag of bytes read from disk, like the embedded ones. */
static void etag_of(struct web_file *f)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[2 * 16 + 1];

	EVP_Digest(f->data, f->len, md, &mdlen, EVP_sha256(), NULL);
	hex_encode(md, 16, hex);
	snprintf(f->etag_buf, sizeof(f->etag_buf), "\"%s\"", hex);
	f->etag = f->etag_buf;
}

int web_lookup(const char *web_root, const char *url, struct web_file *f)
{
	const char *p = asset_path(url);
	int rc;

	memset(f, 0, sizeof(*f));
	if (!safe_path(p) || (f->content_type = type_of(p)) == NULL)
		return 404;
	if (web_root == NULL) {
		for (const struct web_asset *a = web_assets; a->path; a++) {
			if (strcmp(a->path, p) == 0) {
				f->data = a->data;
				f->len = a->len;
				f->etag = a->etag;
				return 0;
			}
		}
		return 404;
	}
	if ((rc = read_root_file(web_root, p, f)) != 0)
		return rc;
	etag_of(f);
	return 0;
}

void web_file_clear(struct web_file *f)
{
	free(f->owned);
	memset(f, 0, sizeof(*f));
}
