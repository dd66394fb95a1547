/* Fuzzes the IMAP client's response framer and parser (src/sources/
 * imap_parse.h) with no network: the input is a byte stream from a
 * "server". It is framed in pieces whose sizes come from the first byte
 * (as reads would deliver it), every framed response is parsed, and the
 * arguments are walked. The stream is also given to the UID set, modified
 * UTF-7 (lib/mutf7.h) and date parsers. The limits are small so that they
 * are reached. */

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#include "lib/error.h"
#include "lib/mutf7.h"
#include "sources/imap.h"
#include "sources/imap_parse.h"

static size_t walk(const struct imap_arg *v, size_t n)
{
	size_t total = 0;

	for (size_t k = 0; k < n; k++) {
		uint64_t num;

		total++;
		if (v[k].type == IMAP_ARG_LIST)
			total += walk(v[k].list, v[k].n);
		else if (v[k].type != IMAP_ARG_NIL && v[k].len)
			total += (size_t)(v[k].data[0] == 'x') + (size_t)(v[k].data[v[k].len - 1] == 'y');
		(void)imap_arg_number(&v[k], &num);
	}
	return total;
}

static void strings(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct imap_uidset set;
	struct error err;
	int64_t t;
	int tz;
	char *u;

	memcpy(s, data, size);
	s[size] = '\0';
	imap_uidset_init(&set);
	if (imap_uidset_parse(&set, s, size, &err) == 0) {
		char *f = imap_uidset_format(&set);

		(void)imap_uidset_count(&set);
		free(f);
	}
	imap_uidset_clear(&set);
	u = mutf7_decode(s, &err);
	if (u) {
		/* Whatever decodes must encode back to a name that decodes the same. */
		char *back = mutf7_encode(u, &err), *again;

		if (!back)
			abort();
		again = mutf7_decode(back, &err);
		if (!again || strcmp(again, u) != 0)
			abort();
		free(again);
		free(back);
		free(u);
	}
	if (imap_date_parse(s, size, &t, &tz) == 0) {
		char out[48];

		imap_date_format(t, tz, out, sizeof(out));
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_limits lim = { .max_line = 4096, .max_literal = 8192, .max_depth = 8,
				   .max_items = 512 };
	struct imap_framer fr;
	size_t step, start = 0, avail;
	struct error err;

	if (size == 0)
		return 0;
	strings(data, size);
	step = (size_t)(data[0] % 16) + 1;
	data++;
	size--;
	imap_framer_reset(&fr);
	avail = step < size ? step : size;
	while (start < size) {
		size_t rlen = 0, want = 0;
		int rc = imap_frame(&fr, data + start, avail - start, &lim, &rlen, &want, &err);

		if (rc < 0)
			break;
		if (rc == 0) {
			if (avail == size)
				break; /* the stream ended mid-response */
			avail = avail + step < size ? avail + step : size;
			continue;
		}
		if (rlen == 0 || rlen > avail - start)
			abort();
		{
			uint8_t *copy = malloc(rlen);
			struct imap_resp r;

			memcpy(copy, data + start, rlen);
			if (imap_resp_parse(copy, rlen, &lim, &r, &err) == 0) {
				if (r.items > lim.max_items)
					abort();
				(void)walk(r.args, r.nargs);
				(void)walk(r.code_args, r.code_nargs);
				if (strlen(r.text) > rlen)
					abort();
			}
			imap_resp_clear(&r);
			free(copy);
		}
		start += rlen;
		imap_framer_reset(&fr);
		if (avail < start)
			avail = start;
	}
	return 0;
}
