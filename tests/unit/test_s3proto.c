/* The pure parts of the S3 backend (src/store/s3proto.h): store specs, the
 * canonical query string SigV4 signs, and the strict ListObjectsV2 and
 * <Error> readers. The transport is tested against radosgw (tests/e2e/s3.sh). */
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/error.h"
#include "store/s3proto.h"

#include "harness.h"

static void test_spec(void)
{
	static const char *const bad[] = {
		"foo://x", "s3://", "s3://host", "s3://host/", "s3://host/ab", "s3://ho st/bucket",
		"s3://user:pw@host/bucket", "s3://host:0/bucket", "s3://host:65536/bucket",
		"s3://host:/bucket", "s3://host/Bucket", "s3://host/-bucket", "s3://host/bucket/a//b",
		"s3://host/bucket/../x", "s3://host/bucket/./x", "s3://host/bucket/a?b",
		"s3+https://host/bucket", "S3://host/bucket",
	};
	struct s3proto_spec sp;
	struct error err;
	size_t i;

	error_init(&err);
	CHECK(s3proto_is_url("s3://h/b") && s3proto_is_url("foo://x") && !s3proto_is_url("/srv/x") &&
	      !s3proto_is_url("rel/dir") && !s3proto_is_url("s3:") && !s3proto_is_url("://x"));
	CHECK_OK(s3proto_spec_parse("s3://s3.example.com/bucket-1", &sp, &err), &err);
	CHECK(sp.tls && strcmp(sp.host, "s3.example.com") == 0 && strcmp(sp.bucket, "bucket-1") == 0 &&
	      strcmp(sp.prefix, "") == 0);
	s3proto_spec_clear(&sp);
	CHECK_OK(s3proto_spec_parse("s3+http://127.0.0.1:7480/b.c.d/a/b/", &sp, &err), &err);
	CHECK(!sp.tls && strcmp(sp.host, "127.0.0.1:7480") == 0 && strcmp(sp.bucket, "b.c.d") == 0 &&
	      strcmp(sp.prefix, "a/b/") == 0);
	s3proto_spec_clear(&sp);
	CHECK_OK(s3proto_spec_parse("s3://[::1]:9000/bkt/p", &sp, &err), &err);
	CHECK(strcmp(sp.host, "[::1]:9000") == 0 && strcmp(sp.prefix, "p/") == 0);
	s3proto_spec_clear(&sp);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error_init(&err);
		CHECKF(s3proto_spec_parse(bad[i], &sp, &err) < 0 && err.code == ERROR_USAGE,
		       "\"%s\" was taken", bad[i]);
		CHECKF(strstr(err.msg, bad[i]) != NULL, "the error does not name \"%s\": %s", bad[i],
		       err.msg);
	}
	error_init(&err);
	CHECK(s3proto_spec_parse("foo://x", &sp, &err) < 0 && strstr(err.msg, "unknown scheme"));
out:;
}

/* Settings after '?': known names only, each once, values decoded. */
static void test_spec_settings(void)
{
	static const char *const bad[][2] = {
		{ "s3://h/bkt?secret=x", "unknown setting \"secret\"" },
		{ "s3://h/bkt/p?credentials=/a&credentials=/b", "given twice" },
		{ "s3://h/bkt?credentials=", "wants a value" },
		{ "s3://h/bkt?credentials", "wants a value" },
		{ "s3://h/bkt?ca-file=%zz", "wants a value" },
		{ "s3://h/bkt?ca-file=a%0ab", "wants a value" },
		{ "s3://h/bkt?addressing=dns", "path or virtual" },
		{ "s3://h/bkt?region=EU_West", "not a region name" },
	};
	struct s3proto_spec sp;
	struct error err;
	char *id = NULL;
	size_t i;

	error_init(&err);
	CHECK_OK(s3proto_spec_parse("s3+http://h:9/bkt/a/b/?credentials=/etc/c%26d&region=eu-1&"
				    "delete-credentials=rel/del&ca-file=/ca.pem&addressing=virtual",
				    &sp, &err), &err);
	CHECK(strcmp(sp.bucket, "bkt") == 0 && strcmp(sp.prefix, "a/b/") == 0 &&
	      strcmp(sp.credentials, "/etc/c&d") == 0 && strcmp(sp.delete_credentials, "rel/del") == 0 &&
	      strcmp(sp.region, "eu-1") == 0 && strcmp(sp.ca_file, "/ca.pem") == 0 &&
	      sp.addressing == S3PROTO_ADDR_VIRTUAL);
	s3proto_spec_clear(&sp);
	CHECK_OK(s3proto_spec_parse("s3://h/bkt?addressing=path", &sp, &err), &err);
	CHECK(strcmp(sp.prefix, "") == 0 && sp.addressing == S3PROTO_ADDR_PATH &&
	      sp.credentials == NULL && sp.region == NULL);
	s3proto_spec_clear(&sp);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error_init(&err);
		CHECKF(s3proto_spec_parse(bad[i][0], &sp, &err) < 0 && err.code == ERROR_USAGE,
		       "\"%s\" was taken", bad[i][0]);
		CHECKF(strstr(err.msg, bad[i][1]) != NULL, "\"%s\": %s", bad[i][0], err.msg);
	}
	id = s3proto_spec_identity("s3://h/bkt/p?credentials=/x");
	CHECK(strcmp(id, "s3://h/bkt/p") == 0);
	free(id);
	{
		int64_t t = 0;

		CHECK(s3proto_http_date_parse("Mon, 07 Dec 2026 09:16:01 GMT", &t) == 0 &&
		      t == 1796634961);
		CHECK(s3proto_http_date_parse("Mon, 07 Dek 2026 09:16:01 GMT", &t) < 0 &&
		      s3proto_http_date_parse("Mon, 07 Dec 2026 09:16:01 UTC", &t) < 0 &&
		      s3proto_http_date_parse("Mon, 7 Dec 2026 09:16:01 GMT", &t) < 0 &&
		      s3proto_http_date_parse("", &t) < 0);
	}
	{
		char *pol = s3proto_policy("bkt", "arn:aws:iam:::user/backup",
					   "arn:aws:iam:::user/deleter", &err);

		CHECK(pol != NULL && strstr(pol, "\"arn:aws:s3:::bkt/*\"") &&
		      strstr(pol, "\"Effect\": \"Deny\""));
		free(pol);
		CHECK(s3proto_policy("bkt", "arn:aws:iam:::user/a\"b", "arn:aws:iam:::user/d",
				     &err) == NULL && err.code == ERROR_USAGE);
		CHECK(s3proto_policy("bkt", "arn:aws:iam:::user/a", "arn:aws:iam:::user/a",
				     &err) == NULL);
		CHECK(s3proto_policy("B", "arn:aws:iam:::user/a", "arn:aws:iam:::user/d",
				     &err) == NULL);
	}
	id = s3proto_spec_identity("/srv/a?b");
	CHECK(strcmp(id, "/srv/a?b") == 0);
out:
	free(id);
}

static void test_encode(void)
{
	static const char *const names[] = { "prefix", "list-type", "delimiter",
					     "continuation-token", "versionId" };
	const char *values[] = { "a b/c+d~_.-é", "2", "/", NULL, "" };
	struct buf b;
	char *q = NULL;

	buf_init(&b, 0);
	s3proto_uri_encode(&b, "units/ab cd/x+y%", 16, 1);
	CHECKF(b.len == 22 && memcmp(b.data, "units/ab%20cd/x%2By%25", 22) == 0, "%.*s",
	       (int)b.len, (const char *)b.data);
	buf_reset(&b);
	s3proto_uri_encode(&b, "a/b", 3, 0);
	CHECK(b.len == 5 && memcmp(b.data, "a%2Fb", 5) == 0);
	/* Sorted by name, NULL values left out, empty ones kept as "name=". */
	q = s3proto_query(names, values, 5);
	CHECKF(strcmp(q, "delimiter=%2F&list-type=2&prefix=a%20b%2Fc%2Bd~_.-%C3%A9&versionId=") == 0,
	       "%s", q);
	free(q);
	q = s3proto_query(names, values, 0);
	CHECK(strcmp(q, "") == 0);
out:
	free(q);
	buf_clear(&b);
}

#define LIST_HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" \
	"<Name>bkt</Name><Prefix>p/units/</Prefix><KeyCount>3</KeyCount>"

static int list_ok(const char *xml, struct s3proto_list *l)
{
	struct error err;

	error_init(&err);
	return s3proto_list_parse(xml, strlen(xml), "p/units/", "test", l, &err);
}

static void test_list(void)
{
	static const char *const bad[] = {
		"", "<ListBucketResult>", "<Other/>", LIST_HEAD "</ListBucketResult><x/>",
		LIST_HEAD "<Contents><Key>q/units/a</Key></Contents></ListBucketResult>",
		LIST_HEAD "<Contents><Key>p/units/a/b</Key></Contents></ListBucketResult>",
		LIST_HEAD "<CommonPrefixes><Prefix>p/units/a</Prefix></CommonPrefixes></ListBucketResult>",
		LIST_HEAD "<Contents><Key>p/units/&bogus;</Key></Contents></ListBucketResult>",
		LIST_HEAD "<Contents><Key>p/units/a</Contents></Key></ListBucketResult>",
		LIST_HEAD "<IsTruncated>yes</IsTruncated></ListBucketResult>",
		LIST_HEAD "<IsTruncated>true</IsTruncated></ListBucketResult>",
		LIST_HEAD "<!-- x --></ListBucketResult>",
		LIST_HEAD "<![CDATA[x]]></ListBucketResult>",
		LIST_HEAD "<Contents><Key>p/units/&#0;</Key></Contents></ListBucketResult>",
		LIST_HEAD "<a><b><c><d><e><f><g><h><i>x</i></h></g></f></e></d></c></b></a></ListBucketResult>",
	};
	const char *good = LIST_HEAD
		"<IsTruncated>true</IsTruncated><NextContinuationToken>1ueGcxLPRx1T&amp;r</NextContinuationToken>"
		"<Contents><Key>p/units/key</Key><Size>12</Size></Contents>"
		"<Contents><Key>p/units/</Key></Contents>"
		"<Contents><Key>p/units/a&amp;b&#x41;&#66;</Key></Contents>"
		"<CommonPrefixes><Prefix>p/units/0123/</Prefix></CommonPrefixes>"
		"<Empty/></ListBucketResult>\n";
	const char *page2 = LIST_HEAD "<IsTruncated>false</IsTruncated>"
		"<Contents><Key>p/units/z</Key></Contents></ListBucketResult>";
	struct s3proto_list l;
	struct error err;
	size_t i;

	memset(&l, 0, sizeof(l));
	CHECK(list_ok(good, &l) == 0);
	CHECK(l.truncated && l.next_token && strcmp(l.next_token, "1ueGcxLPRx1T&r") == 0);
	CHECKF(l.n == 3 && strcmp(l.names[0], "key") == 0 && strcmp(l.names[1], "a&bAB") == 0 &&
	       strcmp(l.names[2], "0123") == 0, "%zu names", l.n);
	CHECK(list_ok(page2, &l) == 0);
	CHECK(!l.truncated && l.next_token == NULL && l.n == 4 && strcmp(l.names[3], "z") == 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECKF(list_ok(bad[i], &l) < 0 && l.n == 4, "bad answer %zu was taken", i);
	error_init(&err);
	CHECK(s3proto_list_parse(NULL, 0, "p/units/", "test", &l, &err) < 0 && l.n == 4);
out:
	s3proto_list_clear(&l);
}

static void test_error(void)
{
	const char *e = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code>"
			"<Message>forbidden by object lock</Message><RequestId>tx1</RequestId></Error>";
	const char *lock = "<ObjectLockConfiguration xmlns=\"x\"><ObjectLockEnabled>Enabled"
			   "</ObjectLockEnabled></ObjectLockConfiguration>";
	char code[16], msg[64];

	CHECK(s3proto_error_parse(e, strlen(e), code, sizeof(code), msg, sizeof(msg)) == 0);
	CHECK(strcmp(code, "AccessDenied") == 0 && strcmp(msg, "forbidden by object lock") == 0);
	/* cut to the buffer, control characters replaced */
	e = "<Error><Code>VeryLongErrorCodeName</Code><Message>a\x01z</Message></Error>";
	CHECK(s3proto_error_parse(e, strlen(e), code, sizeof(code), msg, sizeof(msg)) == 0);
	CHECK(strcmp(code, "VeryLongErrorCo") == 0 && strcmp(msg, "a?z") == 0);
	CHECK(s3proto_error_parse("junk", 4, code, sizeof(code), msg, sizeof(msg)) < 0 &&
	      code[0] == '\0' && msg[0] == '\0');
	/* an answer without a body: an empty buffer has no memory */
	CHECK(s3proto_error_parse(NULL, 0, code, sizeof(code), msg, sizeof(msg)) < 0);
	CHECK(!s3proto_lock_enabled(NULL, 0));
	CHECK(s3proto_lock_enabled(lock, strlen(lock)));
	CHECK(!s3proto_lock_enabled(e, strlen(e)));
out:;
}

/* Object Lock retain-until dates as HEAD gives them. */
static void test_date(void)
{
	int64_t t = 0;

	CHECK(s3proto_date_parse("1970-01-01T00:00:00Z", &t) == 0 && t == 0);
	CHECK(s3proto_date_parse("2027-01-06T10:00:00Z", &t) == 0 && t == 1799229600);
	CHECK(s3proto_date_parse("2027-01-06T10:00:00.000Z", &t) == 0 && t == 1799229600);
	/* A fraction rounds up: the lock holds until then. */
	CHECK(s3proto_date_parse("2027-01-06T10:00:00.25Z", &t) == 0 && t == 1799229601);
	CHECK(s3proto_date_parse("2024-02-29T23:59:59+00:00", &t) == 0 && t == 1709251199);
	CHECK(s3proto_date_parse("2027-01-06T10:00:00", &t) < 0);
	CHECK(s3proto_date_parse("2027-01-06T10:00:00+01:00", &t) < 0);
	CHECK(s3proto_date_parse("2027-13-06T10:00:00Z", &t) < 0);
	CHECK(s3proto_date_parse("Wed, 06 Jan 2027 10:00:00 GMT", &t) < 0);
	CHECK(s3proto_date_parse("", &t) < 0);
out:;
}

/* ListObjectVersions of one key: its versions, newest first, delete
 * markers and other keys (sharing the prefix) left out. */
static void test_versions(void)
{
#define VER_HEAD "<?xml version=\"1.0\"?><ListVersionsResult xmlns=\"x\"><Name>b</Name>"
	static const char *const bad[] = {
		"", "<ListBucketResult></ListBucketResult>",
		VER_HEAD "<Version><VersionId>v1</VersionId></Version></ListVersionsResult>",
		VER_HEAD "<Version><Key>p/k</Key><Key>p/k</Key></Version></ListVersionsResult>",
		VER_HEAD "<Version><Key>p/k</Key></Version></ListVersionsResult>",
		VER_HEAD "<Version><Key>p/k</Key><VersionId></VersionId></Version></ListVersionsResult>",
		VER_HEAD "<IsTruncated>maybe</IsTruncated></ListVersionsResult>",
	};
	const char *good = VER_HEAD "<IsTruncated>false</IsTruncated>"
		"<Version><Key>p/k</Key><VersionId>new</VersionId><IsLatest>true</IsLatest></Version>"
		"<DeleteMarker><Key>p/k</Key><VersionId>dm</VersionId></DeleteMarker>"
		"<Version><Key>p/k0</Key><VersionId>other</VersionId></Version>"
		"<Version><Key>p/k</Key><VersionId>o&amp;ld</VersionId><Size>3</Size></Version>"
		"</ListVersionsResult>";
	struct s3proto_versions v;
	struct error err;
	size_t i;

	error_init(&err);
	CHECK(s3proto_versions_parse(good, strlen(good), "p/k", "k", &v, &err) == 0);
	CHECKF(v.n == 2 && strcmp(v.ids[0], "new") == 0 && strcmp(v.ids[1], "o&ld") == 0 &&
	       !v.truncated, "%zu versions", v.n);
	s3proto_versions_clear(&v);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECKF(s3proto_versions_parse(bad[i], strlen(bad[i]), "p/k", "k", &v, &err) < 0 &&
		       v.n == 0 && err.code == ERROR_CORRUPT, "bad answer %zu was taken", i);
		CHECK(strstr(err.msg, "versions of k") != NULL);
	}
#undef VER_HEAD
out:;
}

const struct unit_test s3proto_tests[] = {
	{ "s3proto_versions", test_versions },
	{ "s3proto_date", test_date },
	{ "s3proto_spec", test_spec },
	{ "s3proto_spec_settings", test_spec_settings },
	{ "s3proto_encode", test_encode },
	{ "s3proto_list", test_list },
	{ "s3proto_error", test_error },
	{ NULL, NULL },
};
