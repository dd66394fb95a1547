/* imap_probe: drives coffer's IMAP client (src/sources/imap.h) from the
 * end-to-end test tests/e2e/imap.sh, against a real Dovecot.
 *
 *   imap_probe [options] COMMAND [ARGS]
 *   options: --host H --port P --tls implicit|starttls|none --ca FILE
 *            --insecure --user U --auth plain|login|xoauth2|oauthbearer
 *            --secret S | --secret-command CMD --timeout-ms N
 *            --reconnects N --max-literal N
 *   commands:
 *     login                       print the capabilities
 *     list                        one line per folder: name TAB attrs TAB
 *                                 messages uidnext uidvalidity highestmodseq
 *     select FOLDER [condstore|examine|qresync UV MODSEQ]...
 *                                 print "uidvalidity U uidnext N exists E
 *                                 highestmodseq M vanished SET"
 *     meta FOLDER                 one line per message: uid flags date size modseq
 *     bodies FOLDER DIR [KILL_AFTER KILL_CMD]
 *                                 every message's bytes into DIR/UID; with
 *                                 KILL_AFTER, runs KILL_CMD (sh -c) once after
 *                                 that many messages; fails on a UID seen twice
 *     search FOLDER CRITERIA      the UID set found
 *     append FOLDER FILE FLAGS DATE [COUNT]
 *                                 append FILE COUNT times (default 1) with flags
 *                                 (space-separated, "" none) and internal date;
 *                                 print "appenduid UV UID..."
 *     create FOLDER | delete FOLDER
 *     store FOLDER SET OP FLAGS   UID STORE
 *     expunge FOLDER SET          UID EXPUNGE
 * Errors go to stderr as "imap_probe: MESSAGE"; exit 1. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/buf.h"
#include "lib/error.h"
#include "lib/mem.h"
#include "sources/imap.h"

struct bodies_ctx {
	const char *dir;
	struct imap_uidset seen;
	uint64_t n, kill_after;
	const char *kill_cmd;
	int killed;
};

static int num_arg(const char *s, uint64_t *r)
{
	char *end;

	errno = 0;
	*r = strtoull(s, &end, 10);
	return (errno || end == s || *end) ? -1 : 0;
}

static int on_body(void *vctx, const struct imap_msg *m, struct error *err)
{
	struct bodies_ctx *x = vctx;
	char *path;
	FILE *f;

	if (imap_uidset_contains(&x->seen, m->uid))
		return error_set(err, "message UID %u delivered twice", m->uid);
	imap_uidset_add(&x->seen, m->uid, m->uid);
	if (!m->body)
		return error_set(err, "message UID %u came without a body", m->uid);
	path = xasprintf("%s/%u", x->dir, m->uid);
	f = fopen(path, "wb");
	if (!f || fwrite(m->body, 1, m->body_len, f) != m->body_len || fclose(f) != 0) {
		error_sys(err, "write %s", path);
		free(path);
		return -1;
	}
	free(path);
	x->n++;
	if (x->kill_cmd && !x->killed && x->n == x->kill_after) {
		x->killed = 1;
		if (system(x->kill_cmd) != 0)
			fprintf(stderr, "imap_probe: kill command failed\n");
	}
	return 0;
}

static int on_meta(void *vctx, const struct imap_msg *m, struct error *err)
{
	(void)vctx;
	(void)err;
	printf("%u (", m->uid);
	for (size_t k = 0; k < m->nflags; k++)
		printf("%s%s", k ? " " : "", m->flags[k]);
	printf(") \"%s\" %llu %llu %lld\n", m->internaldate ? m->internaldate : "",
	       (unsigned long long)m->size, (unsigned long long)m->modseq,
	       (long long)m->internaldate_unix);
	return 0;
}

static int on_select_fetch(void *vctx, const struct imap_msg *m, struct error *err)
{
	(void)vctx;
	(void)err;
	printf("changed %u modseq %llu\n", m->uid, (unsigned long long)m->modseq);
	return 0;
}

static int do_select(struct imap *c, const char *folder, int argc, char **argv,
		     struct error *err)
{
	struct imap_select_opts so = { .on_fetch = on_select_fetch };
	struct imap_mailbox mb;
	char *v;

	for (int k = 0; k < argc; k++) {
		uint64_t a, b;

		if (!strcmp(argv[k], "condstore"))
			so.condstore = 1;
		else if (!strcmp(argv[k], "examine"))
			so.readonly = 1;
		else if (!strcmp(argv[k], "qresync") && k + 2 < argc && num_arg(argv[k + 1], &a) == 0 &&
			 num_arg(argv[k + 2], &b) == 0) {
			so.qresync_uidvalidity = (uint32_t)a;
			so.qresync_modseq = b;
			k += 2;
		} else
			return error_set(err, "bad select option %s", argv[k]);
	}
	if (imap_select(c, folder, &so, &mb, err) < 0)
		return -1;
	v = imap_uidset_format(&mb.vanished);
	printf("uidvalidity %u uidnext %u exists %u highestmodseq %llu vanished %s\n",
	       mb.uidvalidity, mb.uidnext, mb.exists, (unsigned long long)mb.highestmodseq,
	       *v ? v : "-");
	free(v);
	imap_mailbox_clear(&mb);
	return 0;
}

static int read_file(const char *path, struct buf *b, struct error *err)
{
	FILE *f = fopen(path, "rb");
	char chunk[65536];
	size_t n;

	if (!f)
		return error_sys(err, "open %s", path);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(b, chunk, n);
	fclose(f);
	return 0;
}

/* Splits "a b c" into words (in place). */
static size_t words(char *s, const char **v, size_t max)
{
	size_t n = 0;

	for (char *p = s; *p && n < max;) {
		while (*p == ' ')
			*p++ = '\0';
		if (!*p)
			break;
		v[n++] = p;
		while (*p && *p != ' ')
			p++;
	}
	return n;
}

static int do_append(struct imap *c, char **argv, int argc, struct error *err)
{
	struct buf data;
	const char *flags[32];
	uint64_t count = 1;
	struct imap_append_msg *msgs;
	uint32_t uv = 0, *uids;
	char *fl = xstrdup(argv[2]);
	int rc = -1;

	buf_init(&data, 0);
	if (argc > 4 && num_arg(argv[4], &count) < 0) {
		free(fl);
		return error_set(err, "bad count %s", argv[4]);
	}
	if (read_file(argv[1], &data, err) < 0) {
		free(fl);
		return -1;
	}
	msgs = xcalloc(count, sizeof(*msgs));
	uids = xcalloc(count, sizeof(*uids));
	for (uint64_t k = 0; k < count; k++) {
		msgs[k].data = data.data;
		msgs[k].len = data.len;
		msgs[k].flags = flags;
		msgs[k].internaldate = *argv[3] ? argv[3] : NULL;
	}
	{
		size_t nf = words(fl, flags, 32);

		for (uint64_t k = 0; k < count; k++)
			msgs[k].nflags = nf;
	}
	if (imap_append(c, argv[0], msgs, count, &uv, uids, err) == 0) {
		printf("appenduid %u", uv);
		for (uint64_t k = 0; k < count; k++)
			printf(" %u", uids[k]);
		printf("\n");
		rc = 0;
	}
	free(msgs);
	free(uids);
	free(fl);
	buf_clear(&data);
	return rc;
}

static int select_rw(struct imap *c, const char *folder, struct error *err)
{
	struct imap_mailbox mb;

	if (imap_select(c, folder, NULL, &mb, err) < 0)
		return -1;
	imap_mailbox_clear(&mb);
	return 0;
}

static int command(struct imap *c, int argc, char **argv, struct error *err)
{
	const char *cmd = argv[0];

	if (!strcmp(cmd, "login")) {
		printf("caps: %s\n", imap_capability_string(c));
		return 0;
	}
	if (!strcmp(cmd, "list")) {
		struct imap_folder_list l;

		if (imap_list(c, 1, &l, err) < 0)
			return -1;
		for (size_t k = 0; k < l.n; k++) {
			const struct imap_folder *f = &l.v[k];

			printf("%s\t%s\t%u %u %u %llu\n", f->name, f->attr_text, f->status.messages,
			       f->status.uidnext, f->status.uidvalidity,
			       (unsigned long long)f->status.highestmodseq);
		}
		imap_folder_list_clear(&l);
		return 0;
	}
	if (argc < 2)
		return error_set(err, "%s needs a folder", cmd);
	if (!strcmp(cmd, "select"))
		return do_select(c, argv[1], argc - 2, argv + 2, err);
	if (!strcmp(cmd, "create"))
		return imap_create(c, argv[1], err);
	if (!strcmp(cmd, "delete"))
		return imap_delete(c, argv[1], err);
	if (!strcmp(cmd, "append")) {
		if (argc < 5)
			return error_set(err, "append FOLDER FILE FLAGS DATE [COUNT]");
		return do_append(c, argv + 1, argc - 1, err);
	}
	if (!strcmp(cmd, "meta")) {
		struct imap_select_opts so = { .readonly = 1, .condstore = 1 };
		struct imap_mailbox mb;
		struct imap_fetch_opts fo = { .all = 1, .items = IMAP_ITEM_META | IMAP_ITEM_MODSEQ,
					      .cb = on_meta };

		if (imap_select(c, argv[1], &so, &mb, err) < 0)
			return -1;
		imap_mailbox_clear(&mb);
		return imap_fetch(c, &fo, err);
	}
	if (!strcmp(cmd, "bodies")) {
		struct imap_select_opts so = { .readonly = 1 };
		struct imap_mailbox mb;
		struct bodies_ctx x = { 0 };
		struct imap_uidset all;
		struct imap_fetch_opts fo = { .items = IMAP_ITEM_BODY, .cb = on_body, .ctx = &x,
					      .uids = &all, .batch = 50 };
		int rc;

		if (argc < 3)
			return error_set(err, "bodies FOLDER DIR [KILL_AFTER KILL_CMD]");
		x.dir = argv[2];
		if (argc >= 5) {
			if (num_arg(argv[3], &x.kill_after) < 0)
				return error_set(err, "bad KILL_AFTER %s", argv[3]);
			x.kill_cmd = argv[4];
		}
		imap_uidset_init(&x.seen);
		imap_uidset_init(&all);
		if (imap_select(c, argv[1], &so, &mb, err) < 0)
			return -1;
		imap_mailbox_clear(&mb);
		/* The UIDs first, then the bodies in pipelined batches. */
		rc = imap_uid_search(c, "ALL", &all, err);
		if (rc == 0)
			rc = imap_fetch(c, &fo, err);
		printf("delivered %llu\n", (unsigned long long)x.n);
		imap_uidset_clear(&x.seen);
		imap_uidset_clear(&all);
		return rc;
	}
	if (!strcmp(cmd, "search")) {
		struct imap_mailbox mb;
		struct imap_select_opts so = { .readonly = 1 };
		struct imap_uidset s;
		char *v;

		if (argc < 3)
			return error_set(err, "search FOLDER CRITERIA");
		if (imap_select(c, argv[1], &so, &mb, err) < 0)
			return -1;
		imap_mailbox_clear(&mb);
		imap_uidset_init(&s);
		if (imap_uid_search(c, argv[2], &s, err) < 0) {
			imap_uidset_clear(&s);
			return -1;
		}
		v = imap_uidset_format(&s);
		printf("%s\n", v);
		free(v);
		imap_uidset_clear(&s);
		return 0;
	}
	if (!strcmp(cmd, "store") || !strcmp(cmd, "expunge")) {
		struct imap_uidset s;
		int rc;

		if (argc < (cmd[0] == 's' ? 5 : 3))
			return error_set(err, "store FOLDER SET OP FLAGS | expunge FOLDER SET");
		imap_uidset_init(&s);
		if (imap_uidset_parse(&s, argv[2], strlen(argv[2]), err) < 0 ||
		    select_rw(c, argv[1], err) < 0) {
			imap_uidset_clear(&s);
			return -1;
		}
		if (cmd[0] == 's') {
			const char *flags[32];
			char *fl = xstrdup(argv[4]);
			size_t nf = words(fl, flags, 32);

			rc = imap_uid_store(c, &s, argv[3], flags, nf, err);
			free(fl);
		} else {
			rc = imap_uid_expunge(c, &s, err);
		}
		imap_uidset_clear(&s);
		return rc;
	}
	return error_set(err, "unknown command %s", cmd);
}

int main(int argc, char **argv)
{
	struct imap_opts o = { .host = "127.0.0.1", .tls = IMAP_TLS_NONE };
	struct error err;
	struct imap *c;
	int i, rc;

	error_init(&err);
	for (i = 1; i < argc && !strncmp(argv[i], "--", 2); i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t n;

		if (!strcmp(a, "--insecure")) {
			o.insecure = 1;
			continue;
		}
		if (!v)
			goto usage;
		i++;
		if (!strcmp(a, "--host"))
			o.host = v;
		else if (!strcmp(a, "--port") && num_arg(v, &n) == 0 && n < 65536)
			o.port = (uint16_t)n;
		else if (!strcmp(a, "--tls")) {
			if (imap_tls_parse(v, &o.tls, &err) < 0)
				goto fail;
		} else if (!strcmp(a, "--auth")) {
			if (imap_auth_parse(v, &o.auth, &err) < 0)
				goto fail;
		} else if (!strcmp(a, "--ca"))
			o.ca_file = v;
		else if (!strcmp(a, "--user"))
			o.user = v;
		else if (!strcmp(a, "--secret"))
			o.secret = v;
		else if (!strcmp(a, "--secret-command"))
			o.secret_command = v;
		else if (!strcmp(a, "--timeout-ms") && num_arg(v, &n) == 0)
			o.timeout_ms = o.connect_timeout_ms = (int)n;
		else if (!strcmp(a, "--reconnects")) {
			if (!strcmp(v, "-1"))
				o.reconnects = -1;
			else if (num_arg(v, &n) == 0 && n < 100)
				o.reconnects = (int)n;
			else
				goto usage;
		}
		else if (!strcmp(a, "--max-literal") && num_arg(v, &n) == 0)
			o.max_literal = n;
		else
			goto usage;
	}
	if (i >= argc)
		goto usage;
	c = imap_connect(&o, &err);
	if (!c)
		goto fail;
	rc = command(c, argc - i, argv + i, &err);
	if (rc == 0)
		rc = imap_logout(c, &err);
	imap_close(&c);
	if (rc < 0)
		goto fail;
	return 0;
usage:
	fprintf(stderr, "imap_probe: bad usage (see tests/e2e/imap_probe.c)\n");
	return 2;
fail:
	fprintf(stderr, "imap_probe: %s (kind %d)\n", err.msg, err.code);
	return 1;
}
