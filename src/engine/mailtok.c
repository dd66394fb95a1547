/* The mail index's FTS5 tokenizer: CJK runs as bigrams, the rest through
 * unicode61 (docs/mail.md section 5, "Tokens"). Text is split into CJK and
 * other segments; other segments go to unicode61 as they are (its offsets
 * moved to the whole text), CJK runs are streamed a character at a time,
 * so no run is ever held whole. */
#include "engine/mailtok.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"

/* Combining voicing marks (dakuten, handakuten) and their half-width and
 * spacing forms. */
#define VOICED 0x3099
#define SEMIVOICED 0x309A
#define HW_VOICED 0xFF9E
#define HW_SEMIVOICED 0xFF9F

struct mailtok {
	fts5_tokenizer inner;
	Fts5Tokenizer *unicode61;
};

int mailtok_is_cjk(uint32_t cp)
{
	return (cp >= 0x1100 && cp <= 0x11FF) ||   /* Hangul jamo */
	       (cp >= 0x2E80 && cp <= 0x2FDF) ||   /* CJK and Kangxi radicals */
	       (cp >= 0x3005 && cp <= 0x3007) ||   /* 々 〆 〇 */
	       (cp >= 0x3041 && cp <= 0x30FA) ||   /* Hiragana, Katakana (not ・) */
	       (cp >= 0x30FC && cp <= 0x30FF) ||   /* ー and the katakana iteration marks */
	       (cp >= 0x3105 && cp <= 0x318F) ||   /* Bopomofo, Hangul compatibility jamo */
	       (cp >= 0x31A0 && cp <= 0x31BF) ||   /* Bopomofo extended */
	       (cp >= 0x31F0 && cp <= 0x31FF) ||   /* Katakana phonetic extensions */
	       (cp >= 0x3400 && cp <= 0x4DBF) ||   /* Han extension A */
	       (cp >= 0x4E00 && cp <= 0x9FFF) ||   /* Han */
	       (cp >= 0xA960 && cp <= 0xA97F) ||   /* Hangul jamo extended A */
	       (cp >= 0xAC00 && cp <= 0xD7FF) ||   /* Hangul syllables, jamo extended B */
	       (cp >= 0xF900 && cp <= 0xFAFF) ||   /* Han compatibility */
	       (cp >= 0xFF66 && cp <= 0xFF9F) ||   /* half-width katakana */
	       (cp >= 0xFFA0 && cp <= 0xFFDC) ||   /* half-width Hangul */
	       (cp >= 0x20000 && cp <= 0x3134F);   /* Han extensions B-G, compatibility */
}

/* Decodes one UTF-8 character of s[0..n) (n > 0); invalid input is one
 * byte of U+FFFD, which is not CJK. */
static uint32_t utf8_next(const unsigned char *s, int n, int *len_r)
{
	uint32_t cp;
	int len, i;

	if (s[0] < 0x80) {
		*len_r = 1;
		return s[0];
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		len = 2;
		cp = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		len = 3;
		cp = s[0] & 0x0F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		*len_r = 1;
		return 0xFFFD;
	}
	if (len > n)
		len = 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			len = 0;
			break;
		}
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if (len == 0 || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF)) {
		*len_r = 1;
		return 0xFFFD;
	}
	*len_r = len;
	return cp;
}

static int utf8_put(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

int mailtok_is_cjk_char(const char *tok, int n)
{
	int len;
	uint32_t cp;

	if (n <= 0)
		return 0;
	cp = utf8_next((const unsigned char *)tok, n, &len);
	return len == n && mailtok_is_cjk(cp);
}

/* Half-width katakana U+FF66..U+FF9D as their full-width forms. */
static const uint16_t halfwidth_kana[] = {
	0x30F2, 0x30A1, 0x30A3, 0x30A5, 0x30A7, 0x30A9, 0x30E3, 0x30E5, 0x30E7, 0x30C3,
	0x30FC, 0x30A2, 0x30A4, 0x30A6, 0x30A8, 0x30AA, 0x30AB, 0x30AD, 0x30AF, 0x30B1,
	0x30B3, 0x30B5, 0x30B7, 0x30B9, 0x30BB, 0x30BD, 0x30BF, 0x30C1, 0x30C4, 0x30C6,
	0x30C8, 0x30CA, 0x30CB, 0x30CC, 0x30CD, 0x30CE, 0x30CF, 0x30D2, 0x30D5, 0x30D8,
	0x30DB, 0x30DE, 0x30DF, 0x30E0, 0x30E1, 0x30E2, 0x30E4, 0x30E6, 0x30E8, 0x30E9,
	0x30EA, 0x30EB, 0x30EC, 0x30ED, 0x30EF, 0x30F3,
};

static uint32_t fold(uint32_t cp)
{
	if (cp >= 0xFF66 && cp <= 0xFF9D)
		return halfwidth_kana[cp - 0xFF66];
	if (cp == HW_VOICED)
		return VOICED;
	if (cp == HW_SEMIVOICED)
		return SEMIVOICED;
	return cp;
}

/* base + voicing mark as one character, or 0. Kana that take the marks:
 * the k, s, t rows (+1 voiced) and the h row (+1 voiced, +2 semi-voiced);
 * u gives vu. Hiragana are katakana - 0x60. */
static uint32_t compose_kana(uint32_t base, uint32_t mark)
{
	uint32_t k = base >= 0x3041 && base <= 0x3096 ? base + 0x60 : base, out = 0;
	int hira = k != base;

	if (mark == VOICED && k == 0x30A6)
		out = 0x30F4;
	else if (mark == VOICED && ((k >= 0x30AB && k <= 0x30C1 && (k - 0x30AB) % 2 == 0) ||
				    k == 0x30C4 || k == 0x30C6 || k == 0x30C8))
		out = k + 1;
	else if (k >= 0x30CF && k <= 0x30DB && (k - 0x30CF) % 3 == 0)
		out = k + (mark == VOICED ? 1 : 2);
	if (out == 0)
		return 0;
	return hira ? out - 0x60 : out;
}

/* cur followed by c as one character (kana + voicing mark, decomposed
 * Hangul), or 0. */
static uint32_t compose(uint32_t cur, uint32_t c)
{
	if (c == VOICED || c == SEMIVOICED)
		return compose_kana(cur, c);
	if (cur >= 0x1100 && cur <= 0x1112 && c >= 0x1161 && c <= 0x1175)
		return 0xAC00 + ((cur - 0x1100) * 21 + (c - 0x1161)) * 28;
	if (cur >= 0xAC00 && cur <= 0xD7A3 && (cur - 0xAC00) % 28 == 0 && c >= 0x11A8 &&
	    c <= 0x11C2)
		return cur + (c - 0x11A7);
	return 0;
}

/* A voicing mark left alone is shown in its spacing form. */
static uint32_t alone(uint32_t cp)
{
	return cp == VOICED ? 0x309B : cp == SEMIVOICED ? 0x309C : cp;
}

typedef int token_cb(void *, int, const char *, int, int, int);

struct chr {
	uint32_t cp;
	int start, end;
};

struct run {
	void *ctx;
	token_cb *cb;
	int query;
	struct chr prev, cur;
	int has_prev, has_cur, bigrams;
};

static int emit(struct run *r, const struct chr *a, const struct chr *b)
{
	char tok[8];
	int n = utf8_put(alone(a->cp), tok);

	if (b)
		n += utf8_put(alone(b->cp), tok + n);
	return r->cb(r->ctx, 0, tok, n, a->start, b ? b->end : a->end);
}

/* The current character is complete: its bigram with the one before. */
static int run_push(struct run *r)
{
	int rc = SQLITE_OK;

	if (!r->has_cur)
		return rc;
	if (r->has_prev) {
		rc = emit(r, &r->prev, &r->cur);
		r->bigrams++;
	}
	r->prev = r->cur;
	r->has_prev = 1;
	r->has_cur = 0;
	return rc;
}

static int run_add(struct run *r, uint32_t cp, int start, int end)
{
	uint32_t both = r->has_cur ? compose(r->cur.cp, cp) : 0;
	int rc;

	if (both) {
		r->cur.cp = both;
		r->cur.end = end;
		return SQLITE_OK;
	}
	rc = run_push(r);
	r->cur = (struct chr){ cp, start, end };
	r->has_cur = 1;
	return rc;
}

/* The run ends: in a document its last character alone, in a query only a
 * run of one character. */
static int run_end(struct run *r)
{
	int rc = run_push(r);

	if (rc == SQLITE_OK && r->has_prev && (!r->query || r->bigrams == 0))
		rc = emit(r, &r->prev, NULL);
	r->has_prev = r->has_cur = 0;
	r->bigrams = 0;
	return rc;
}

/* unicode61's tokens of a segment, offsets moved to the whole text. */
struct shift {
	void *ctx;
	token_cb *cb;
	int by;
};

static int shifted(void *ctx, int flags, const char *tok, int n, int start, int end)
{
	struct shift *s = ctx;

	return s->cb(s->ctx, flags, tok, n, start + s->by, end + s->by);
}

static int other(struct mailtok *t, struct shift *s, int flags, const char *text, int from,
		 int to)
{
	if (to <= from)
		return SQLITE_OK;
	s->by = from;
	return t->inner.xTokenize(t->unicode61, s, flags, text + from, to - from, shifted);
}

static int tok_tokenize(Fts5Tokenizer *p, void *ctx, int flags, const char *text, int n,
			token_cb *cb)
{
	struct mailtok *t = (struct mailtok *)p;
	const unsigned char *s = (const unsigned char *)text;
	struct run r = { .ctx = ctx, .cb = cb, .query = (flags & FTS5_TOKENIZE_QUERY) != 0 };
	struct shift sh = { .ctx = ctx, .cb = cb };
	int i = 0, seg = 0, in_cjk = 0, rc = SQLITE_OK;

	while (i < n && rc == SQLITE_OK) {
		int len;
		uint32_t cp = utf8_next(s + i, n - i, &len);
		/* A combining mark stays with the run it follows. */
		int cjk = mailtok_is_cjk(cp) || (in_cjk && (cp == VOICED || cp == SEMIVOICED));

		if (cjk && !in_cjk)
			rc = other(t, &sh, flags, text, seg, i);
		else if (!cjk && in_cjk) {
			rc = run_end(&r);
			seg = i;
		}
		in_cjk = cjk;
		if (cjk && rc == SQLITE_OK)
			rc = run_add(&r, fold(cp), i, i + len);
		i += len;
	}
	if (rc == SQLITE_OK)
		rc = in_cjk ? run_end(&r) : other(t, &sh, flags, text, seg, n);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int tok_create(void *ud, const char **args, int nargs, Fts5Tokenizer **out)
{
	fts5_api *api = ud;
	struct mailtok *t = xcalloc(1, sizeof(*t));
	void *inner_ud = NULL;
	int rc;

	rc = api->xFindTokenizer(api, "unicode61", &inner_ud, &t->inner);
	if (rc == SQLITE_OK)
		rc = t->inner.xCreate(inner_ud, args, nargs, &t->unicode61);
	if (rc != SQLITE_OK) {
		free(t);
		return rc;
	}
	*out = (Fts5Tokenizer *)t;
	return SQLITE_OK;
}

static void tok_delete(Fts5Tokenizer *p)
{
	struct mailtok *t = (struct mailtok *)p;

	if (t == NULL)
		return;
	if (t->unicode61)
		t->inner.xDelete(t->unicode61);
	free(t);
}

int mailtok_register(struct sqlite3 *db)
{
	static fts5_tokenizer tok = { tok_create, tok_delete, tok_tokenize };
	fts5_api *api = NULL;
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_pointer(s, 1, &api, "fts5_api_ptr", NULL);
	sqlite3_step(s);
	sqlite3_finalize(s);
	if (api == NULL || api->iVersion < 2)
		return SQLITE_ERROR;
	return api->xCreateTokenizer(api, MAILTOK_NAME, api, &tok, NULL);
}
