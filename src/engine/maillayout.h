#ifndef COFFER_MAILLAYOUT_H
#define COFFER_MAILLAYOUT_H

/* The layout of a mailbox restore point (docs/mail.md section 1, mapping
 * version 1): an ordinary tree whose root, folders and messages carry
 * their IMAP state in user.imap.* extended attributes. This is the one
 * definition of that format: the IMAP source writes points through it
 * (src/sources/), and the search index, export and the reader of a
 * point for the source's backup and restore (engine/mail_point.h) read
 * them through it. */

#include <stddef.h>
#include <stdint.h>

struct error;
struct meta_entry;

/* The mapping version, the value of MAILLAYOUT_XATTR_MAILBOX. */
#define MAILLAYOUT_VERSION "1"
/* A message's entry name: its UID as this many zero-padded digits. */
#define MAILLAYOUT_UID_NAME_LEN 10

/* Extended attributes. All numbers are decimal ASCII. */
/* of the root: */
#define MAILLAYOUT_XATTR_MAILBOX "user.imap.mailbox"         /* MAILLAYOUT_VERSION */
#define MAILLAYOUT_XATTR_DELIMITER "user.imap.delimiter"     /* "" for a flat namespace */
/* of a folder: */
#define MAILLAYOUT_XATTR_NAME "user.imap.name"               /* full name, modified UTF-7 */
#define MAILLAYOUT_XATTR_UIDVALIDITY "user.imap.uidvalidity"
#define MAILLAYOUT_XATTR_UIDNEXT "user.imap.uidnext"
#define MAILLAYOUT_XATTR_HIGHESTMODSEQ "user.imap.highestmodseq" /* with CONDSTORE */
#define MAILLAYOUT_XATTR_SPECIALUSE "user.imap.specialuse"   /* "\Sent", space separated */
/* of a folder (its LIST attributes \Noselect, \NonExistent, \Noinferiors)
 * and of a message (flags and keywords, space separated): */
#define MAILLAYOUT_XATTR_FLAGS "user.imap.flags"
/* of a message: */
#define MAILLAYOUT_XATTR_MODSEQ "user.imap.modseq"           /* with CONDSTORE */
#define MAILLAYOUT_XATTR_TZ "user.imap.tz"                   /* INTERNALDATE's zone, "+0200" */

/* Whether `root`, the first entry of a point's tree (NULL: the tree is
 * empty), is the root of a mailbox point this coffer can read. 0 if so;
 * else -1 and err naming point UNIT@SEQ: ERROR_USAGE when it is not a
 * mailbox point (no MAILLAYOUT_XATTR_MAILBOX on a root folder),
 * ERROR_VERSION when its mapping version is another one. */
int maillayout_check_root(const struct meta_entry *root, const char *unit, uint32_t seq,
			  struct error *err);
/* The hierarchy delimiter a checked root records; 0 for a flat namespace. */
char maillayout_root_delimiter(const struct meta_entry *root);

/* The UID of a message entry from its path (its last component:
 * MAILLAYOUT_UID_NAME_LEN digits, 1 to 2^32 - 1); 1 and *uid_r if the name
 * is one, 0 if not. Whether the entry is a file is the caller's check. */
int maillayout_message_uid(const char *path, uint32_t *uid_r);
/* The path of message `uid` in the folder at folder_path ("" for the
 * root); caller frees. */
char *maillayout_message_path(const char *folder_path, uint32_t uid);
/* The tree path of a folder: `name` split on `delim` (0: not split), each
 * component encoded (docs/mail.md "Component encoding"); caller frees. */
char *maillayout_folder_path(const char *name, char delim);

/* A decimal xattr of e as a number; `def` when absent or malformed. */
uint64_t maillayout_xattr_u64(const struct meta_entry *e, const char *name, uint64_t def);

/* Entries as the layout writes them, to fill e (cleared by the caller).
 * They carry only what the layout defines, so that the same mailbox state
 * always encodes to the same bytes (and deduplicates). */
/* The root: a folder with MAILLAYOUT_XATTR_MAILBOX and _DELIMITER. */
void maillayout_root_entry(struct meta_entry *e, char delim);
/* A folder, or a path prefix that is none (no xattrs yet). */
void maillayout_dir_entry(struct meta_entry *e, const char *path);
/* A message: path, size, dates, mode 0600, and the xattrs flags, modseq
 * (when has_modseq) and tz. The extents are the caller's. */
void maillayout_message_entry(struct meta_entry *e, const char *folder_path, uint32_t uid,
			      uint64_t size, int64_t date, const char *tz, const char *flags,
			      int has_modseq, uint64_t modseq);
/* Adds a string xattr. */
void maillayout_entry_set(struct meta_entry *e, const char *name, const char *value);

#endif
