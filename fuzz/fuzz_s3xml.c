/* Fuzzes the S3 answers coffer reads (src/store/s3proto.h): a
 * ListObjectsV2 page, an <Error> body and an Object Lock configuration,
 * all from a server that may be hostile or broken; and the same bytes as
 * a store spec with settings (s3://HOST/BUCKET/PREFIX?name=value&...) and
 * as a server's Date header. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#include "lib/error.h"
#include "store/s3proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct s3proto_list l;
	struct error err;
	char code[64], msg[128];
	size_t i;

	memset(&l, 0, sizeof(l));
	error_init(&err);
	if (s3proto_list_parse((const char *)data, size, "p/units/", "fuzz", &l, &err) == 0) {
		if (l.truncated && l.next_token == NULL) {
			fprintf(stderr, "fuzz_s3xml: a truncated page without a token was taken\n");
			abort();
		}
		for (i = 0; i < l.n; i++) {
			if (l.names[i][0] == '\0' || strchr(l.names[i], '/') != NULL) {
				fprintf(stderr, "fuzz_s3xml: bad name \"%s\" was taken\n", l.names[i]);
				abort();
			}
		}
	} else if (l.n != 0 || l.next_token != NULL) {
		fprintf(stderr, "fuzz_s3xml: a refused page left names behind\n");
		abort();
	}
	s3proto_list_clear(&l);
	if (s3proto_error_parse((const char *)data, size, code, sizeof(code), msg, sizeof(msg)) == 0 &&
	    (strlen(code) >= sizeof(code) || code[0] == '\0')) {
		fprintf(stderr, "fuzz_s3xml: bad error code\n");
		abort();
	}
	(void)s3proto_lock_enabled((const char *)data, size);
	if (size < 4096) {
		char spec[4096];
		struct s3proto_spec sp;
		int64_t t;

		memcpy(spec, data, size);
		spec[size] = '\0';
		error_init(&err);
		if (s3proto_spec_parse(spec, &sp, &err) == 0) {
			size_t n = strlen(sp.prefix);

			if (sp.bucket == NULL || sp.bucket[0] == '\0' || (n > 0 && sp.prefix[n - 1] != '/')) {
				fprintf(stderr, "fuzz_s3xml: a bad spec was taken\n");
				abort();
			}
			s3proto_spec_clear(&sp);
		}
		free(s3proto_spec_identity(spec));
		(void)s3proto_http_date_parse(spec, &t);
	}
	return 0;
}
