/* The store layout of a mailbox (src/engine/maillayout.h, docs/mail.md
 * section 1): folder paths, message names, entries and the root check;
 * and the Message-ID extraction of its reader (src/engine/mail_point.h). */
#include <stdlib.h>
#include <string.h>

#include "engine/mail_point.h"
#include "engine/maillayout.h"
#include "engine/meta.h"
#include "lib/error.h"

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
		p = maillayout_folder_path(cases[i].name, cases[i].delim);
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
	maillayout_message_entry(&e, "Archive/2023", 42, 1234, 1700000060, "+0200",
				 "\\Seen \\Flagged $Work", 1, 987654321);
	CHECK(strcmp(e.path, "Archive/2023/0000000042") == 0);
	CHECK(e.type == META_FILE && (e.mode & 07777) == 0600 && e.size == 1234);
	CHECK(e.mtime_s == 1700000060 && e.mtime_ns == 0);
	flags = meta_entry_xattr_str(&e, MAILLAYOUT_XATTR_FLAGS);
	tz = meta_entry_xattr_str(&e, MAILLAYOUT_XATTR_TZ);
	CHECK(flags && strcmp(flags, "\\Seen \\Flagged $Work") == 0);
	CHECK(tz && strcmp(tz, "+0200") == 0);
	CHECK(strcmp(MAILLAYOUT_XATTR_FLAGS, "user.imap.flags") == 0); /* the format's names */
	CHECK(meta_entry_xattr(&e, "user.imap.absent") == NULL);
	CHECK(meta_entry_xattr_str(&e, "user.imap.absent") == NULL);
	CHECK(maillayout_xattr_u64(&e, MAILLAYOUT_XATTR_MODSEQ, 0) == 987654321);
	CHECK(maillayout_xattr_u64(&e, "user.imap.absent", 7) == 7);
	CHECK(maillayout_xattr_u64(&e, MAILLAYOUT_XATTR_FLAGS, 7) == 7); /* not a number */
	/* The message sorts among its folder's children by UID. */
	CHECK(meta_path_cmp("Archive/2023/0000000042", "Archive/2023/0000000100") < 0);
out:
	free(flags);
	free(tz);
	meta_entry_clear(&e);
}

static int uid_is(const char *path, uint32_t want)
{
	uint32_t uid = 0;
	int r = maillayout_message_uid(path, &uid);

	return want ? r == 1 && uid == want : r == 0;
}

static void test_message_names(void)
{
	char *p = NULL;

	CHECK(uid_is("INBOX/0000000042", 42));
	CHECK(uid_is("0000000001", 1));                 /* a message of the root */
	CHECK(uid_is("a/b/4294967295", 4294967295u));
	CHECK(uid_is("INBOX/0000000000", 0));           /* UID 0 does not exist */
	CHECK(uid_is("INBOX/4294967296", 0));           /* above 2^32 - 1 */
	CHECK(uid_is("INBOX/000000042", 0));            /* 9 digits */
	CHECK(uid_is("INBOX/00000000042", 0));          /* 11 */
	CHECK(uid_is("INBOX/000000004x", 0));
	CHECK(uid_is("x/%30000000042", 0));             /* an encoded folder name */
	CHECK(uid_is("0000000042/", 0));
	p = maillayout_message_path("", 7);
	CHECK(strcmp(p, "0000000007") == 0);
	free(p);
	p = maillayout_message_path("Archive/2023", 4294967295u);
	CHECK(strcmp(p, "Archive/2023/4294967295") == 0);
out:
	free(p);
}

static void test_root(void)
{
	struct meta_entry root, other;
	struct error err;

	memset(&root, 0, sizeof(root));
	memset(&other, 0, sizeof(other));
	maillayout_root_entry(&root, '.');
	CHECK_OK(maillayout_check_root(&root, "ann", 3, &err), &err);
	CHECK(maillayout_root_delimiter(&root) == '.');
	CHECK(root.type == META_DIR && *root.path == '\0');
	meta_entry_clear(&root);
	maillayout_root_entry(&root, 0); /* a flat namespace */
	CHECK_OK(maillayout_check_root(&root, "ann", 3, &err), &err);
	CHECK(maillayout_root_delimiter(&root) == 0);

	CHECK_FAILS(maillayout_check_root(NULL, "ann", 3, &err), &err, ERROR_USAGE);
	CHECKF(strstr(err.msg, "ann@3 is not a mailbox restore point") != NULL, "%s", err.msg);
	maillayout_dir_entry(&other, ""); /* a folder backup's root */
	CHECK_FAILS(maillayout_check_root(&other, "ann", 3, &err), &err, ERROR_USAGE);
	CHECKF(strstr(err.msg, "not a mailbox restore point") != NULL, "%s", err.msg);
	meta_entry_clear(&other);
	/* the attribute on something other than the root folder */
	maillayout_dir_entry(&other, "INBOX");
	maillayout_entry_set(&other, MAILLAYOUT_XATTR_MAILBOX, MAILLAYOUT_VERSION);
	CHECK_FAILS(maillayout_check_root(&other, "ann", 3, &err), &err, ERROR_USAGE);
	meta_entry_clear(&other);
	/* another mapping version */
	maillayout_dir_entry(&other, "");
	maillayout_entry_set(&other, MAILLAYOUT_XATTR_MAILBOX, "2");
	CHECK_FAILS(maillayout_check_root(&other, "ann", 3, &err), &err, ERROR_VERSION);
	CHECKF(strstr(err.msg, "ann@3") && strstr(err.msg, "version 2"), "%s", err.msg);
	meta_entry_clear(&other);
	maillayout_dir_entry(&other, "");
	maillayout_entry_set(&other, MAILLAYOUT_XATTR_MAILBOX, "11");
	CHECK_FAILS(maillayout_check_root(&other, "ann", 3, &err), &err, ERROR_VERSION);
out:
	meta_entry_clear(&root);
	meta_entry_clear(&other);
}

const struct unit_test mail_layout_tests[] = {
	{ "mail: folder names become safe tree paths", test_folder_path },
	{ "mail: Message-ID from header bytes (folded, case, header only)", test_message_id },
	{ "mail: message entries carry flags, tz and modseq", test_entries },
	{ "mail: message names are UIDs of 10 digits, 1 to 2^32 - 1", test_message_names },
	{ "mail: the root check names the point, refuses other versions", test_root },
	{ NULL, NULL },
};
