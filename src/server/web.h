#ifndef COFFER_WEB_H
#define COFFER_WEB_H
/* The web console's static files (docs/console.md): web/ compiled into the
 * binary by scripts/embed-web.py, or read from a folder (web_root) at each
 * request for development. `/` is index.html, `/ui/<path>` is web/<path>;
 * nothing else is the console's. */
#include <stddef.h>
#include <stdint.h>

struct web_asset {
	const char *path;         /* "/index.html", "/app.js", "/views/unit.js" */
	const char *content_type;
	const uint8_t *data;
	size_t len;
	const char *etag;         /* quoted, strong */
};

/* The compiled-in files, ended by an entry whose path is NULL. */
extern const struct web_asset web_assets[];

/* 1 when the URL path is the console's (`/`, `/index.html`, `/ui/...`). */
int web_is_console(const char *url);

/* A console file to send: embedded (data points into web_assets) or read
 * from web_root (data is owned, freed by web_file_clear). */
struct web_file {
	const uint8_t *data;
	size_t len;
	const char *content_type;
	const char *etag;
	uint8_t *owned;
	char etag_buf[40];
};

/* 0 and *f filled; 404 for no such file (or a path that could leave the
 * folder: "..", hidden names, anything but [A-Za-z0-9._-/]); 500 when
 * web_root cannot be read. web_root NULL: the compiled-in files. */
int web_lookup(const char *web_root, const char *url, struct web_file *f);
void web_file_clear(struct web_file *f);

/* The Content-Security-Policy of the console's pages, and of every other
 * answer (JSON is never a document: nothing may load from it). Trusted
 * Types with no policy: the browser refuses every HTML-from-a-string sink
 * (innerHTML and the like), so markup can only come from the files. */
#define WEB_CSP_CONSOLE                                                                 \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
	"connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "     \
	"form-action 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'; "  \
	"trusted-types 'none'"
#define WEB_CSP_API "default-src 'none'; frame-ancestors 'none'; sandbox"

#endif
