#ifndef COFFER_S3PROTO_H
#define COFFER_S3PROTO_H

/* The pure parts of the S3 protocol, apart from the transport so that unit
 * tests and a fuzzer can reach them (docs/s3.md): the store spec, the
 * canonical encoding SigV4 signs, and the two XML answers coffer reads
 * (ListObjectsV2 and <Error>). The XML reader is small and strict: no
 * DTD, no CDATA, only the five named entities; anything else is refused. */

#include <stddef.h>
#include <stdint.h>

struct buf;
struct error;

/* Addressing a spec asks for (addressing=path|virtual). */
enum { S3PROTO_ADDR_DEFAULT = 0, S3PROTO_ADDR_PATH = 1, S3PROTO_ADDR_VIRTUAL = 2 };

/* A parsed store spec "s3://HOST[:PORT]/BUCKET[/PREFIX][?SETTINGS]"
 * ("s3+http://" for plain HTTP). prefix is "" or ends with '/'. SETTINGS
 * is "name=value" pairs joined with '&' (values %XX-decoded): credentials,
 * delete-credentials and ca-file name files, region a region, addressing
 * path or virtual (docs/s3.md). Each is NULL when not given. Values are
 * names, never secrets, so a spec may be shown whole. */
struct s3proto_spec {
	int tls;
	char *host;   /* as written, with ":PORT" if given */
	char *bucket;
	char *prefix;
	char *credentials;
	char *delete_credentials;
	char *region;
	char *ca_file;
	int addressing; /* S3PROTO_ADDR_* */
};

/* 1 if spec names a store by URL scheme ("word://"), else 0 (a folder). */
int s3proto_is_url(const char *spec);

/* Parses an "s3://" or "s3+http://" spec into sp (freed with
 * s3proto_spec_clear()). ERROR_USAGE naming the spec for any other scheme,
 * a missing host or bucket, a bucket name S3 would refuse, or a prefix
 * with empty, "." or ".." parts. */
int s3proto_spec_parse(const char *spec, struct s3proto_spec *sp, struct error *err);
void s3proto_spec_clear(struct s3proto_spec *sp);

/* The part of a spec that names the store: without its "?SETTINGS" (how
 * to reach it is not what it is). A folder's spec is returned as is. The
 * caller frees the result. */
char *s3proto_spec_identity(const char *spec);

/* The bucket policy docs/s3.md recommends (JSON text, caller frees):
 * backup_arn may read, list, write and extend retention, and is denied
 * every delete, legal hold, governance bypass and bucket setting;
 * delete_arn may delete object versions and set or release legal holds.
 * ERROR_USAGE for a bad bucket name or an ARN outside "arn:aws:iam::" with
 * the characters IAM allows. */
char *s3proto_policy(const char *bucket, const char *backup_arn, const char *delete_arn,
		     struct error *err);

/* Appends s URI-encoded the way SigV4 wants (RFC 3986 unreserved kept,
 * everything else %XX upper case); with keep_slash, '/' is kept (paths). */
void s3proto_uri_encode(struct buf *out, const char *s, size_t len, int keep_slash);

/* Builds a canonical query string from n name/value pairs
 * (names[i], values[i]; a NULL value is left out): encoded, sorted by
 * encoded name, joined with '&'. The caller frees the result. */
char *s3proto_query(const char *const *names, const char *const *values, size_t n);

/* One page of a ListObjectsV2 answer. */
struct s3proto_list {
	char **names;     /* below the listed prefix, without it, no trailing '/' */
	size_t n;
	int truncated;
	char *next_token; /* NextContinuationToken, NULL if none */
};

/* Parses a ListObjectsV2 answer for a listing of `prefix` with delimiter
 * '/': Contents/Key and CommonPrefixes/Prefix give names (the prefix
 * stripped; keys outside it, or with a '/' left, are refused as a bad
 * answer). Appends to l (so pages accumulate), replacing truncated and
 * next_token. ERROR_CORRUPT naming `what` for malformed XML. */
int s3proto_list_parse(const char *xml, size_t len, const char *prefix, const char *what,
		       struct s3proto_list *l, struct error *err);
void s3proto_list_clear(struct s3proto_list *l);

/* Reads Code and Message out of an S3 <Error> body into code/msg (NUL
 * terminated, cut to their sizes, control characters replaced); 0 if it
 * is one, -1 (both left empty) otherwise. */
int s3proto_error_parse(const char *xml, size_t len, char *code, size_t code_size, char *msg,
			size_t msg_size);

/* Whether the body of a GetObjectLockConfiguration answer says
 * ObjectLockEnabled = Enabled. */
int s3proto_lock_enabled(const char *xml, size_t len);

/* Parses an ISO 8601 UTC date as S3 gives an Object Lock retain-until
 * date ("2027-01-06T10:00:00Z", "2027-01-06T10:00:00.000Z", "+00:00"
 * for Z) into Unix seconds (a fraction rounds up); -1 for anything else. */
int s3proto_date_parse(const char *s, int64_t *secs_r);

/* Parses an HTTP date as a server's Date header gives it (RFC 7231's
 * IMF-fixdate, "Mon, 07 Dec 2026 09:16:01 GMT") into Unix seconds; -1 for
 * anything else. */
int s3proto_http_date_parse(const char *s, int64_t *secs_r);

/* The versions of one key in a ListObjectVersions answer (GET
 * ?versions&prefix=KEY): the VersionIds of its Version entries (delete
 * markers and other keys left out) in the server's order, newest first.
 * ERROR_CORRUPT naming `what` for malformed XML. */
struct s3proto_versions {
	char **ids;
	size_t n;
	int truncated;
};

int s3proto_versions_parse(const char *xml, size_t len, const char *key, const char *what,
			   struct s3proto_versions *v, struct error *err);
void s3proto_versions_clear(struct s3proto_versions *v);

#endif
