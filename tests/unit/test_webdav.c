/* The pure parts of the WebDAV client (src/sources/webdav.h): the
 * multistatus reader (namespaces by URI, statuses, limits, hrefs decoded
 * and kept below the base) and the encoding of paths into URLs. The
 * transport is tested against Apache mod_dav (tests/e2e/webdav.sh). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "sources/webdav.h"

#include "harness.h"

#define BASE "http://h:8080/dav/u%20x/"

static const struct dav_res *find(const struct dav_list *l, const char *path)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->res[i].path, path) == 0)
			return &l->res[i];
	return NULL;
}

static int parse(const char *xml, struct dav_list *l, struct error *err)
{
	return dav_multistatus_parse(xml, strlen(xml), BASE, "PROPFIND " BASE, l, err);
}

/* Any prefix, or none, for DAV: and the ownCloud namespace; only 2xx
 * propstats count; names decoded. */
static void test_multistatus(void)
{
	static const char xml[] =
		"<?xml version=\"1.0\"?>\n"
		"<multistatus xmlns=\"DAV:\" xmlns:o=\"http://owncloud.org/ns\">"
		"<response><href>/dav/u%20x/</href><propstat><prop><resourcetype><collection/>"
		"</resourcetype><getetag>\"c1\"</getetag></prop><status>HTTP/1.1 200 OK</status>"
		"</propstat></response>"
		"<response><href>http://H:8080/dav/u%20x/a%25b%23c%3Fd%20%C3%A9.txt</href>"
		"<propstat><prop><getcontentlength> 12 </getcontentlength>"
		"<getlastmodified>Mon, 07 Dec 2026 10:27:28 GMT</getlastmodified>"
		"<getetag>W/\"e2\"</getetag><getcontenttype>text/plain</getcontenttype>"
		"<o:fileid>42</o:fileid><o:permissions>RGDNVW</o:permissions></prop>"
		"<status>HTTP/1.1 200 OK</status></propstat>"
		"<propstat><prop><o:checksums/></prop><status>HTTP/1.1 404 Not Found</status>"
		"</propstat></response>"
		/* a resourcetype <collection/> in another namespace is no collection */
		"<response><href>/dav/u%20x/sub/</href><propstat><prop><resourcetype>"
		"<collection xmlns=\"urn:other\"/></resourcetype></prop>"
		"<status>HTTP/1.1 200 OK</status></propstat></response>"
		/* a getetag in another namespace is not the ETag */
		"<response><href>/dav/u%20x/sub/f</href><propstat><prop>"
		"<x:getetag xmlns:x=\"urn:other\">\"no\"</x:getetag></prop>"
		"<status>HTTP/1.1 200 OK</status></propstat></response>"
		"</multistatus>";
	struct dav_list l = { 0 };
	const struct dav_res *r;
	struct error err;

	CHECK_OK(parse(xml, &l, &err), &err);
	CHECKF(l.n == 4, "%zu resources", l.n);
	CHECK((r = find(&l, "")) != NULL && r->collection && strcmp(r->etag, "\"c1\"") == 0);
	r = find(&l, "a%b#c?d \xc3\xa9.txt");
	CHECK(r != NULL && !r->collection && r->has_size && r->size == 12 && r->has_mtime &&
	      r->mtime_s == 1796639248 && strcmp(r->etag, "W/\"e2\"") == 0 &&
	      strcmp(r->ctype, "text/plain") == 0 && strcmp(r->fileid, "42") == 0 &&
	      strcmp(r->permissions, "RGDNVW") == 0 && r->checksums == NULL);
	CHECK((r = find(&l, "sub")) != NULL && !r->collection);
	CHECK((r = find(&l, "sub/f")) != NULL && r->etag == NULL);
out:
	dav_list_clear(&l);
}

/* Answers refused as a whole, naming the URL asked. */
static void test_refused(void)
{
	static const char *const bad[] = {
		"not xml",
		"<multistatus xmlns=\"urn:not-dav\"/>",
		"<?xml version=\"1.0\"?><!DOCTYPE m [<!ENTITY a \"aaaa\">]>"
		"<m:multistatus xmlns:m=\"DAV:\">&a;</m:multistatus>",
		"<multistatus xmlns=\"DAV:\"><response><propstat><prop/><status>HTTP/1.1 200 OK"
		"</status></propstat></response></multistatus>",
		"<multistatus xmlns=\"DAV:\"><response><href>/dav/other/</href><propstat><prop/>"
		"<status>HTTP/1.1 200 OK</status></propstat></response></multistatus>",
		"<multistatus xmlns=\"DAV:\"><response><href>/dav/u%20x/../../etc</href><propstat>"
		"<prop/><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>",
		"<multistatus xmlns=\"DAV:\"><response><href>/dav/u%20x/a%2Fb</href><propstat>"
		"<prop/><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>",
		"<multistatus xmlns=\"DAV:\"><response><href>/dav/u%20x/a%00b</href><propstat>"
		"<prop/><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>",
		"<multistatus xmlns=\"DAV:\"><response><href>http://evil:8080/dav/u%20x/a</href>"
		"<propstat><prop/><status>HTTP/1.1 200 OK</status></propstat></response>"
		"</multistatus>",
		"<multistatus xmlns=\"DAV:\"><response><href>/dav/u%20x/a%zz</href><propstat>"
		"<prop/><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>",
	};
	struct dav_list l = { 0 };
	struct error err;
	char *deep = NULL;
	size_t i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error_init(&err);
		CHECKF(parse(bad[i], &l, &err) < 0 && l.n == 0, "answer %zu was taken", i);
		CHECKF(strstr(err.msg, "PROPFIND " BASE) != NULL, "answer %zu: %s", i, err.msg);
	}
	/* nesting deeper than the limit */
	n = 100;
	deep = malloc(n * 8 + 64);
	CHECK(deep != NULL);
	{
		size_t k = 0;

		memcpy(deep, "<multistatus xmlns=\"DAV:\">", 26);
		k = 26;
		for (i = 0; i < n; i++) {
			memcpy(deep + k, "<a>", 3);
			k += 3;
		}
		for (i = 0; i < n; i++) {
			memcpy(deep + k, "</a>", 4);
			k += 4;
		}
		memcpy(deep + k, "</multistatus>", 15);
	}
	error_init(&err);
	CHECK(parse(deep, &l, &err) < 0 && strstr(err.msg, "deeper") != NULL);
out:
	free(deep);
	dav_list_clear(&l);
}

static void test_url(void)
{
	char *u = NULL, *d = NULL;

	u = dav_url(BASE, "a b/%#?\xc3\xa9~._-", 1);
	CHECKF(strcmp(u, BASE "a%20b/%25%23%3F%C3%A9~._-/") == 0, "%s", u);
	free(u);
	u = dav_url(BASE, "", 1);
	CHECK(strcmp(u, BASE) == 0);
	d = dav_unescape_segment("a%20b%c3%A9", 11);
	CHECK(d != NULL && strcmp(d, "a b\xc3\xa9") == 0);
	free(d);
	d = NULL;
	CHECK(dav_unescape_segment("a%2", 3) == NULL && dav_unescape_segment("%2f", 3) == NULL);
out:
	free(u);
	free(d);
}

/* One file's answer with dead properties under prefix `px`. */
#define DEAD_ANSWER(px, color)                                                                  \
	"<D:multistatus xmlns:D=\"DAV:\" xmlns:" px "=\"urn:x-test\">"                          \
	"<D:response xmlns:lp2=\"http://apache.org/dav/props/\"><D:href>/dav/u%20x/f</D:href>" \
	"<D:propstat><D:prop><" px ":color xml:lang=\"fr\">" color " <" px ":b>\xc3\xa9</" px  \
	":b></" px ":color><" px ":empty/><D:displayname>F</D:displayname>"                     \
	"<D:getetag>\"e\"</D:getetag><lp2:executable>F</lp2:executable><D:lockdiscovery/>"      \
	"</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"              \
	"</D:multistatus>"

/* Dead properties are kept as one DAV:prop text with their namespaces,
 * the server's own (DAV: but displayname, Apache's) left out; two texts
 * compare on namespaces, not prefixes; the PROPPATCH body sets what
 * differs and removes what the point lacks. */
static void test_dead_props(void)
{
	struct dav_list a = { 0 }, b = { 0 }, c = { 0 };
	char *body = NULL;
	struct error err;

	CHECK_OK(parse(DEAD_ANSWER("ns1", "rouge"), &a, &err), &err);
	CHECK_OK(parse(DEAD_ANSWER("z", "rouge"), &b, &err), &err);
	CHECK_OK(parse(DEAD_ANSWER("ns1", "bleu"), &c, &err), &err);
	CHECK(a.n == 1 && a.res[0].props != NULL && strcmp(a.res[0].etag, "\"e\"") == 0);
	CHECKF(strstr(a.res[0].props, "urn:x-test") && strstr(a.res[0].props, "rouge") &&
		       strstr(a.res[0].props, "displayname") && !strstr(a.res[0].props, "executable") &&
		       !strstr(a.res[0].props, "lockdiscovery") && !strstr(a.res[0].props, "getetag"),
	       "%s", a.res[0].props);
	CHECK_OK(dav_props_patch(a.res[0].props, b.res[0].props, "f", &body, &err), &err);
	CHECKF(body == NULL, "%s", body);
	CHECK_OK(dav_props_patch(a.res[0].props, c.res[0].props, "f", &body, &err), &err);
	CHECKF(body && strstr(body, "propertyupdate") && strstr(body, "rouge") &&
		       !strstr(body, "remove") && !strstr(body, "empty"),
	       "%s", body);
	free(body);
	body = NULL;
	/* nothing in the point: what the server has is removed */
	CHECK_OK(dav_props_patch(NULL, a.res[0].props, "f", &body, &err), &err);
	CHECKF(body && strstr(body, "remove") && strstr(body, "color") && !strstr(body, "set>"),
	       "%s", body);
	free(body);
	body = NULL;
	error_init(&err);
	CHECK(dav_props_patch("<x/>", NULL, "f", &body, &err) < 0 && err.code == ERROR_CORRUPT &&
	      strstr(err.msg, "f: ") != NULL);
	/* A property listed twice is kept once, the first (found by fuzzing:
	 * the text then differed from itself). */
	dav_list_clear(&c);
	CHECK_OK(parse("<D:multistatus xmlns:D=\"DAV:\"><D:response><D:href>/dav/u%20x/f</D:href>"
		       "<D:propstat><D:prop><Z:t xmlns:Z=\"urn:z\">1</Z:t><Z:t xmlns:Z=\"urn:z\">2</Z:t>"
		       "</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"
		       "</D:multistatus>", &c, &err), &err);
	CHECKF(c.n == 1 && c.res[0].props && strstr(c.res[0].props, ">1<") &&
		       !strstr(c.res[0].props, ">2<"), "%s", c.res[0].props);
	CHECK_OK(dav_props_patch(c.res[0].props, c.res[0].props, "f", &body, &err), &err);
	CHECKF(body == NULL, "%s", body);
out:
	free(body);
	dav_list_clear(&a);
	dav_list_clear(&b);
	dav_list_clear(&c);
}

/* A PROPPATCH answer names the properties refused, not the ones that
 * only failed with them (424). */
static void test_patch_result(void)
{
	static const char ok[] =
		"<multistatus xmlns=\"DAV:\"><response><href>/f</href><propstat><prop>"
		"<c xmlns=\"urn:x\"/></prop><status>HTTP/1.1 200 OK</status></propstat>"
		"</response></multistatus>";
	static const char bad[] =
		"<multistatus xmlns=\"DAV:\"><response><href>/f</href><propstat><prop>"
		"<c xmlns=\"urn:x\"/></prop><status>HTTP/1.1 424 Failed Dependency</status>"
		"</propstat><propstat><prop><getetag/></prop><status>HTTP/1.1 403 Forbidden"
		"</status></propstat></response></multistatus>";
	struct error err;

	CHECK_OK(dav_patch_result(ok, strlen(ok), "PROPPATCH /f", &err), &err);
	error_init(&err);
	CHECK(dav_patch_result(bad, strlen(bad), "PROPPATCH /f", &err) < 0);
	CHECKF(strstr(err.msg, "{DAV:}getetag (403)") && !strstr(err.msg, "urn:x"), "%s", err.msg);
	error_init(&err);
	CHECK(dav_patch_result("nope", 4, "PROPPATCH /f", &err) < 0 &&
	      strstr(err.msg, "PROPPATCH /f") != NULL);
out:;
}

/* getlastmodified in IMF-fixdate only; anything else is no time. */
static void test_dates(void)
{
	static const struct {
		const char *text;
		int ok;
		int64_t t;
	} cases[] = {
		{ "Sun, 06 Nov 1994 08:49:37 GMT", 1, 784111777 },
		{ "Mon, 07 Foo 2026 10:27:28 GMT", 0, 0 },
		{ "Mon, 07 anF 2026 10:27:28 GMT", 0, 0 },
		{ "Mon, 07 Dec 2026 24:27:28 GMT", 0, 0 },
		{ "Mon, 07 Dec 2026 10:27:28 UTC", 0, 0 },
		{ "Sunday, 06-Nov-94 08:49:37 GMT", 0, 0 },
		{ "", 0, 0 },
	};
	struct dav_list l = { 0 };
	struct error err;
	char xml[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(xml, sizeof(xml),
			 "<multistatus xmlns=\"DAV:\"><response><href>/dav/u%%20x/f</href><propstat>"
			 "<prop><getlastmodified>%s</getlastmodified></prop><status>HTTP/1.1 200 OK"
			 "</status></propstat></response></multistatus>", cases[i].text);
		CHECK_OK(parse(xml, &l, &err), &err);
		CHECKF(l.n == 1 && l.res[0].has_mtime == cases[i].ok &&
			       (!cases[i].ok || l.res[0].mtime_s == cases[i].t),
		       "%s: has %d t %lld", cases[i].text, l.res[0].has_mtime,
		       (long long)l.res[0].mtime_s);
		dav_list_clear(&l);
	}
out:
	dav_list_clear(&l);
}

const struct unit_test webdav_tests[] = {
	{ "webdav_multistatus", test_multistatus },
	{ "webdav_refused", test_refused },
	{ "webdav_url", test_url },
	{ "webdav_dates", test_dates },
	{ "webdav_dead_props", test_dead_props },
	{ "webdav_patch_result", test_patch_result },
	{ NULL, NULL },
};
