/* The store layout of a mailbox (src/sources/mail_layout.h, docs/mail.md
 * section 1): folder paths, Message-ID extraction, message entries. */
#include <stdlib.h>
#include <string.h>

#include "engine/meta.h"
#include "lib/error.h"
#include "sources/mail_layout.h"

#include "harness.h"

static void test_folder_path(void)
{
	static const struct { const char *name; char delim; const char *path; } cases[] = {
		{ "INBOX", '.', "INBOX" },
		{ "Archive.2023.Q1", '.', "Archive/2023/Q1" },
		{ "Work.a/b", '.', "Work/a%2Fb" },          /* '/' inside a component */
		{ "Work/2024", '.', "Work%2F2024" },
		{ "100%", '/', "100%25" },
		{ "a..b", '.', "a/%/b" },                   /* empty component */
		{ "x.0000000042", '.', "x/%30000000042" },  /* never a message name */
		{ "x.00000000421", '.', "x/00000000421" },
		{ "..", '.', "%/%/%" },
		{ "..", '/', "%2E%2E" },
		{ "a/./..", '/', "a/%2E/%2E%2E" },
		{ "tab\there", '.', "tab%09here" },
		{ "flat.name", 0, "flat.name" },
		{ "R&AOk-sum&AOk-", '.', "R&AOk-sum&AOk-" }, /* modified UTF-7 kept */
	};
	size_t i;
	char *p = NULL;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = mail_folder_path(cases[i].name, cases[i].delim);
		CHECKF(strcmp(p, cases[i].path) == 0, "\"%s\" -> \"%s\", want \"%s\"", cases[i].name,
		       p, cases[i].path);
		free(p);
		p = NULL;
	}
out:
	free(p);
}

static int msgid_is(const char *msg, const char *want)
{
	char *id = mail_message_id((const uint8_t *)msg, strlen(msg));
	int same = want == NULL ? id == NULL : id != NULL && strcmp(id, want) == 0;

	free(id);
	return same;
}

static void test_message_id(void)
{
	CHECK(msgid_is("From: a\r\nMessage-ID: <x@y>\r\n\r\nbody", "<x@y>"));
	CHECK(msgid_is("message-id:   <x@y>  \n\nbody", "<x@y>"));
	/* folded onto the next line */
	CHECK(msgid_is("Subject: s\r\nMessage-Id:\r\n <long.id@host>\r\nTo: b\r\n\r\n",
		       "<long.id@host>"));
	/* only the header counts */
	CHECK(msgid_is("From: a\r\n\r\nMessage-ID: <in-body@y>\r\n", NULL));
	CHECK(msgid_is("\r\nMessage-ID: <x>\r\n", NULL));
	CHECK(msgid_is("X-Message-ID: <not@this>\r\n\r\n", NULL));
	CHECK(msgid_is("Message-ID:\r\n\r\n", NULL));
	/* a HEADER.FIELDS reply, and a header without its blank line */
	CHECK(msgid_is("Message-ID: <gen-1-5@example.org>\r\n\r\n", "<gen-1-5@example.org>"));
	CHECK(msgid_is("Message-ID: <cut@off>", "<cut@off>"));
	CHECK(mail_header_complete((const uint8_t *)"A: b\n\nc", 7));
	CHECK(!mail_header_complete((const uint8_t *)"A: b\nC: d\n", 10));
out:
	return;
}

static void test_entries(void)
{
	struct meta_entry e;
	char *flags = NULL, *tz = NULL;

	memset(&e, 0, sizeof(e));
	mail_message_entry(&e, "Archive/2023", 42, 1234, 1700000060, "+0200",
			   "\\Seen \\Flagged $Work", 1, 987654321);
	CHECK(strcmp(e.path, "Archive/2023/0000000042") == 0);
	CHECK(e.type == META_FILE && (e.mode & 07777) == 0600 && e.size == 1234);
	CHECK(e.mtime_s == 1700000060 && e.mtime_ns == 0);
	flags = mail_xattr(&e, "user.imap.flags");
	tz = mail_xattr(&e, "user.imap.tz");
	CHECK(flags && strcmp(flags, "\\Seen \\Flagged $Work") == 0);
	CHECK(tz && strcmp(tz, "+0200") == 0);
	CHECK(mail_xattr_u64(&e, "user.imap.modseq", 0) == 987654321);
	CHECK(mail_xattr_u64(&e, "user.imap.absent", 7) == 7);
	CHECK(mail_xattr_u64(&e, "user.imap.flags", 7) == 7); /* not a number */
	/* The message sorts among its folder's children by UID. */
	CHECK(meta_path_cmp("Archive/2023/0000000042", "Archive/2023/0000000100") < 0);
out:
	free(flags);
	free(tz);
	meta_entry_clear(&e);
}

const struct unit_test mail_layout_tests[] = {
	{ "mail: folder names become safe tree paths", test_folder_path },
	{ "mail: Message-ID from header bytes (folded, case, header only)", test_message_id },
	{ "mail: message entries carry flags, tz and modseq", test_entries },
	{ NULL, NULL },
};
