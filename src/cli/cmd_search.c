/* coffer search and coffer export: mail search over the mail index of the
 * store (brought up to date first) and export as mbox or .eml files
 * (docs/mail.md sections 5 and 6, docs/cli.md). */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "engine/mailexport.h"
#include "engine/mailindex.h"
#include "engine/tree.h"
#include "engine/views.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/hex.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/parse.h"
#include "lib/timeutil.h"
#include "store/index.h"
#include "store/rp.h"
#include "store/store.h"

#define USAGE_SEARCH_FULL \
	"--unit U [--rp N] [--from A] [--to A] [--address A] [--subject W] [--body W] " \
	"[--attachment W] [--since D] [--until D] [--folder F] [--has-attachment] [--limit N] [--page N | --all] " \
	"[--index FILE] [--no-update] [--timing]"
#define USAGE_EXPORT_FULL \
	"RP [--folder F] (--mbox FILE | --eml DIR)\n" \
	"       coffer export --search " USAGE_SEARCH_FULL " (--mbox FILE | --eml DIR)"

#define COUNT_MAX 1000000 /* --limit and --page: plenty, and no overflow in limit * page */

struct search_args {
	struct mailindex_query q;
	const char *index_path;
	size_t page;
	int all;
	int no_update; /* search the index as it is (with --index, no store needed) */
	int timing;    /* report how long the searches took */
};

static int fail(struct error *err)
{
	log_error("%s", err->msg);
	return err->code == ERROR_USAGE ? EXIT_USAGE : EXIT_FAIL;
}

/* Parses one search option at argv[*i]: 1 taken, 0 not a search option,
 * -1 malformed (err says why). */
static int search_option(struct search_args *a, int argc, char **argv, int *i,
			 struct error *err)
{
	const char *opt = argv[*i];
	const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
	const char **text = NULL;
	int64_t n;

	if (strcmp(opt, "--has-attachment") == 0) {
		a->q.has_attachment = 1;
		return 1;
	}
	if (strcmp(opt, "--all") == 0 || strcmp(opt, "--no-update") == 0 ||
	    strcmp(opt, "--timing") == 0) {
		*(opt[2] == 'a' ? &a->all : opt[2] == 'n' ? &a->no_update : &a->timing) = 1;
		return 1;
	}
	if (strcmp(opt, "--unit") == 0)
		text = &a->q.unit;
	else if (strcmp(opt, "--from") == 0)
		text = &a->q.from;
	else if (strcmp(opt, "--to") == 0)
		text = &a->q.to;
	else if (strcmp(opt, "--address") == 0)
		text = &a->q.address;
	else if (strcmp(opt, "--subject") == 0)
		text = &a->q.subject;
	else if (strcmp(opt, "--body") == 0)
		text = &a->q.body;
	else if (strcmp(opt, "--attachment") == 0)
		text = &a->q.attachment;
	else if (strcmp(opt, "--folder") == 0)
		text = &a->q.folder;
	else if (strcmp(opt, "--index") == 0)
		text = &a->index_path;
	else if (strcmp(opt, "--rp") != 0 && strcmp(opt, "--since") != 0 &&
		 strcmp(opt, "--until") != 0 && strcmp(opt, "--limit") != 0 &&
		 strcmp(opt, "--page") != 0)
		return 0;
	if (v == NULL)
		return error_setk(err, ERROR_USAGE, "%s needs a value", opt);
	(*i)++;
	if (text) {
		*text = v;
		return 1;
	}
	if (strcmp(opt, "--since") == 0 || strcmp(opt, "--until") == 0) {
		int until = opt[2] == 'u';

		/* A day alone as --until is the whole day, as the API's until. */
		if (time_parse_field(opt, v, until ? TIME_END_OF_DAY : 0, &n, err) < 0)
			return -1;
		*(until ? &a->q.until : &a->q.since) = n / 1000000000;
		*(until ? &a->q.has_until : &a->q.has_since) = 1;
		return 1;
	}
	if (strcmp(opt, "--rp") == 0) {
		if (parse_int_field(opt, v, 1, UINT32_MAX, &n, err) < 0)
			return -1;
		a->q.seq = (uint32_t)n;
		return 1;
	}
	if (parse_int_field(opt, v, 1, COUNT_MAX, &n, err) < 0)
		return -1;
	*(strcmp(opt, "--limit") == 0 ? &a->q.limit : &a->page) = (size_t)n;
	return 1;
}

static int search_args_check(struct search_args *a, struct error *err)
{
	if (a->q.unit == NULL)
		return error_setk(err, ERROR_USAGE, "search needs --unit");
	if (a->page == 0)
		a->page = 1;
	if (a->q.limit == 0)
		a->q.limit = 50;
	a->q.offset = (a->page - 1) * a->q.limit;
	return 0;
}

static void skip_line(void *ctx, const char *unit, uint32_t seq, const struct error *why)
{
	int *skipped = ctx;

	log_warn("%s@%u left out of the mail index: %s", unit, seq, why->msg);
	(*skipped)++;
}

/* Opens the mail index (--index, or the store's cache folder) and brings
 * the unit's restore points into it (unless --no-update; then s may be
 * NULL when --index is given). */
static struct mailindex *index_for(struct store *s, struct search_args *a, int *skipped,
				   struct error *err)
{
	struct mailindex_stats st;
	struct store_unit *u;
	struct mailindex *mi;
	char *path;

	if (a->index_path) {
		path = xstrdup(a->index_path);
	} else {
		if (fs_mkdir_p(store_cache_dir(s), err) < 0)
			return NULL;
		path = fs_join(store_cache_dir(s), "mailindex.sqlite");
	}
	mi = mailindex_open(path, err);
	free(path);
	if (mi == NULL || a->no_update)
		return mi;
	memset(&st, 0, sizeof(st));
	u = store_unit_open(s, a->q.unit, 0, err);
	if (u == NULL || mailindex_update_unit(mi, u, skip_line, skipped, &st, err) < 0) {
		store_unit_close(&u);
		mailindex_close(&mi);
		return NULL;
	}
	store_unit_close(&u);
	if (st.points || st.dropped)
		log_info("mail index: %llu restore points added, %llu messages parsed (%llu with "
			 "MIME errors), %llu restore points dropped", (unsigned long long)st.points,
			 (unsigned long long)st.parsed, (unsigned long long)st.parse_errors,
			 (unsigned long long)st.dropped);
	return mi;
}

/* The store, unless the search needs none (--no-update with --index). */
static struct store *store_for(struct cli *c, const struct search_args *a, struct error *err)
{
	if (a->no_update && a->index_path)
		return NULL;
	return cli_open(c, 0, err);
}

/* "u@1-3,5" style list of the points holding a hit (all places). */
static void points_text(const struct mailindex_hit *h, struct buf *b)
{
	size_t n, i, k;
	struct mailindex_point *pts = mailindex_hit_points(h, &n);

	for (i = 0; i < n; i = k) {
		size_t run = i;

		/* Extend over consecutive numbers of one unit. */
		for (k = i + 1; k < n && strcmp(pts[k].unit, pts[i].unit) == 0 &&
				pts[k].seq == pts[run].seq + 1; k++)
			run = k;
		buf_addf(b, "%s%s@%u", b->len ? "," : "", pts[i].unit, pts[i].seq);
		if (pts[run].seq > pts[i].seq)
			buf_addf(b, "-%u", pts[run].seq);
	}
	buf_add(b, "", 1);
	free(pts);
}

/* Text from mail made safe for a terminal: a control character (an
 * escape sequence in a subject could drive the terminal) becomes '?'.
 * Caller frees. */
static char *term_safe(const char *s)
{
	char *t = xstrdup(s), *p;

	for (p = t; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return t;
}

static void print_hit(struct cli *c, const struct mailindex_hit *h)
{
	struct buf pts;
	char date[32];
	char *from, *subject, *folder, *snippet;

	if (c->json) {
		json_object *o = view_hit(h);

		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
		return;
	}
	buf_init(&pts, 0);
	points_text(h, &pts);
	time_format(h->date, date);
	from = term_safe(h->from);
	subject = term_safe(h->subject);
	folder = term_safe(h->where ? h->where->folder_utf8 : "");
	snippet = term_safe(h->snippet);
	printf("%s  %s  %s%s\n", date, from, subject, h->has_attachment ? "  [attachment]" : "");
	if (h->where)
		printf("    %s@%u %s uid %u  in %s\n", h->where->unit, h->where_seq, folder,
		       h->where->uid, (const char *)pts.data);
	if (*snippet)
		printf("    %s\n", snippet);
	free(from);
	free(subject);
	free(folder);
	free(snippet);
	buf_clear(&pts);
}

/* Runs the search page by page (all pages with --all), handing each page's
 * hits to `each`. Sets *more when a page was left. */
typedef int hit_cb(void *ctx, const struct mailindex_hit *h, struct error *err);

static int search_pages(struct mailindex *mi, struct search_args *a, hit_cb *each, void *ctx,
			int *more, struct error *err)
{
	struct mailindex_results res;
	struct timespec t0, t1;
	size_t i;

	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (mailindex_search(mi, &a->q, &res, err) < 0)
			return -1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (a->timing)
			fprintf(stderr, "search: %zu results in %.3f ms\n", res.n,
				(double)(t1.tv_sec - t0.tv_sec) * 1e3 +
				(double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
		for (i = 0; i < res.n; i++) {
			if (each(ctx, &res.hits[i], err) < 0) {
				mailindex_results_clear(&res);
				return -1;
			}
		}
		*more = res.more;
		mailindex_results_clear(&res);
		if (!*more || !a->all)
			return 0;
		a->q.offset += a->q.limit;
		a->page++;
	}
}

static int print_cb(void *ctx, const struct mailindex_hit *h, struct error *err)
{
	(void)err;
	print_hit(ctx, h);
	return 0;
}

int cmd_search(struct cli *c, int argc, char **argv)
{
	struct search_args a;
	struct mailindex *mi = NULL;
	struct store *s = NULL;
	struct error err;
	int i, ret, more = 0, skipped = 0;

	memset(&a, 0, sizeof(a));
	error_init(&err);
	for (i = 1; i < argc; i++) {
		ret = search_option(&a, argc, argv, &i, &err);
		if (ret < 0)
			return fail(&err);
		if (ret == 0)
			return cli_usage("search", USAGE_SEARCH_FULL);
	}
	if (search_args_check(&a, &err) < 0)
		return fail(&err);
	if (a.all)
		a.q.limit = 1000;
	s = store_for(c, &a, &err);
	ret = (s || (a.no_update && a.index_path)) &&
	      (mi = index_for(s, &a, &skipped, &err)) != NULL ?
	      search_pages(mi, &a, print_cb, c, &more, &err) : -1;
	mailindex_close(&mi);
	store_close(&s);
	if (ret < 0)
		return fail(&err);
	if (more && c->json)
		printf("{\"more\":true,\"nextPage\":%zu}\n", a.page + 1);
	else if (more && !c->quiet)
		fprintf(stderr, "more results: --page %zu (or --all)\n", a.page + 1);
	return skipped ? EXIT_WARNINGS : EXIT_OK;
}

/* ---- export ---- */

/* The messages a search found, grouped by the restore point each came
 * from (its newest matching place). */
struct found {
	char *unit;
	uint32_t seq;
	char **paths;
	size_t n;
};

struct found_set {
	struct found *f;
	size_t n;
};

static int found_cb(void *ctx, const struct mailindex_hit *h, struct error *err)
{
	struct found_set *fs = ctx;
	struct found *f = NULL;
	size_t i;

	(void)err;
	if (h->where == NULL)
		return 0;
	for (i = 0; i < fs->n && f == NULL; i++)
		if (fs->f[i].seq == h->where_seq && strcmp(fs->f[i].unit, h->where->unit) == 0)
			f = &fs->f[i];
	if (f == NULL) {
		fs->f = xrealloc(fs->f, xmul(fs->n + 1, sizeof(*fs->f)));
		f = &fs->f[fs->n++];
		memset(f, 0, sizeof(*f));
		f->unit = xstrdup(h->where->unit);
		f->seq = h->where_seq;
	}
	f->paths = xrealloc(f->paths, xmul(f->n + 1, sizeof(char *)));
	f->paths[f->n++] = xstrdup(h->where->path);
	return 0;
}

static void found_clear(struct found_set *fs)
{
	size_t i, k;

	for (i = 0; i < fs->n; i++) {
		for (k = 0; k < fs->f[i].n; k++)
			free(fs->f[i].paths[k]);
		free(fs->f[i].paths);
		free(fs->f[i].unit);
	}
	free(fs->f);
}

static int export_found(struct store *s, struct mailexport *x, const struct found *f,
			struct error *err)
{
	struct store_unit *u = store_unit_open(s, f->unit, 0, err);
	struct index *ix = NULL;
	struct rp *rp = NULL;
	int ret = -1;

	if (u && rp_read(u, f->seq, &rp, err) == 0 && (ix = index_open(u, err)) != NULL)
		ret = mailexport_add_paths(x, u, ix, rp, (const char *const *)f->paths, f->n, err);
	index_close(&ix);
	rp_free(&rp);
	store_unit_close(&u);
	return ret;
}

static int export_search(struct store *s, struct search_args *a, struct mailexport *x,
			 int *skipped, struct error *err)
{
	struct found_set fs = { 0 };
	struct mailindex *mi = index_for(s, a, skipped, err);
	size_t i;
	int more = 0, ret;

	if (mi == NULL)
		return -1;
	a->all = 1;
	a->q.limit = 1000;
	a->q.offset = 0;
	ret = search_pages(mi, a, found_cb, &fs, &more, err);
	mailindex_close(&mi);
	for (i = 0; i < fs.n && ret == 0; i++)
		ret = export_found(s, x, &fs.f[i], err);
	found_clear(&fs);
	return ret;
}

static int export_rp(struct store *s, const char *spec, const char *folder, struct mailexport *x,
		     struct error *err)
{
	struct store_unit *u = NULL;
	struct index *ix = NULL;
	struct rp *rp = NULL;
	int ret = -1;

	if (tree_resolve(s, spec, &u, &rp, err) == 0 && (ix = index_open(u, err)) != NULL)
		ret = mailexport_add_rp(x, u, ix, rp, folder, err);
	index_close(&ix);
	rp_free(&rp);
	store_unit_close(&u);
	return ret;
}

struct export_args {
	struct search_args sa;
	int search;
	const char *rp, *folder, *mbox, *eml;
};

static int export_parse(struct export_args *e, int argc, char **argv, struct error *err)
{
	int i, ret;

	for (i = 1; i < argc; i++) {
		const char *opt = argv[i];

		if (strcmp(opt, "--search") == 0) {
			e->search = 1;
		} else if ((strcmp(opt, "--mbox") == 0 || strcmp(opt, "--eml") == 0) && i + 1 < argc) {
			*(opt[2] == 'm' ? &e->mbox : &e->eml) = argv[++i];
		} else if (opt[0] != '-' && e->rp == NULL) {
			e->rp = opt;
		} else if ((ret = search_option(&e->sa, argc, argv, &i, err)) != 1) {
			return ret < 0 ? -1 : error_setk(err, ERROR_USAGE, "unknown option %s", opt);
		}
	}
	/* Without --search, --folder belongs to the restore point. */
	if (!e->search) {
		e->folder = e->sa.q.folder;
		e->sa.q.folder = NULL;
	}
	if ((e->mbox != NULL) == (e->eml != NULL))
		return error_setk(err, ERROR_USAGE, "export needs one of --mbox FILE or --eml DIR");
	if (e->search == (e->rp != NULL))
		return error_setk(err, ERROR_USAGE, "export needs a restore point or --search");
	return e->search ? search_args_check(&e->sa, err) : 0;
}

int cmd_export(struct cli *c, int argc, char **argv)
{
	struct export_args e;
	struct mailexport *x = NULL;
	struct store *s = NULL;
	struct error err;
	int ret = -1, skipped = 0;

	memset(&e, 0, sizeof(e));
	error_init(&err);
	if (export_parse(&e, argc, argv, &err) < 0) {
		log_error("%s", err.msg);
		return cli_usage("export", USAGE_EXPORT_FULL);
	}
	s = cli_open(c, 0, &err);
	if (s)
		x = mailexport_open(e.mbox ? MAILEXPORT_MBOX : MAILEXPORT_EML,
				      e.mbox ? e.mbox : e.eml, e.search ? MAILEXPORT_UNIT_DIRS : 0,
				      &err);
	if (x)
		ret = e.search ? export_search(s, &e.sa, x, &skipped, &err) :
				 export_rp(s, e.rp, e.folder, x, &err);
	if (ret == 0)
		ret = mailexport_finish(x, &err);
	if (ret == 0 && c->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "messages",
				       json_object_new_int64((int64_t)mailexport_count(x)));
		json_object_object_add(o, e.mbox ? "mbox" : "eml",
				       json_object_new_string(e.mbox ? e.mbox : e.eml));
		/* Standard output carries the mbox itself with "--mbox -". */
		fprintf(e.mbox && strcmp(e.mbox, "-") == 0 ? stderr : stdout, "%s\n",
			json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else if (ret == 0 && !c->quiet)
		fprintf(stderr, "exported %llu messages to %s\n",
			(unsigned long long)mailexport_count(x), e.mbox ? e.mbox : e.eml);
	mailexport_close(&x);
	store_close(&s);
	if (ret < 0)
		return fail(&err);
	return skipped ? EXIT_WARNINGS : EXIT_OK;
}
