#!/usr/bin/env bash
# Mail search and export (docs/mail.md sections 5 and 6). A mailbox restore
# point is a folder tree in the layout of docs/mail.md section 1 (message
# files named by UID, user.imap.* xattrs), backed up with `coffer backup`:
# no IMAP server is needed. Two backups with changes in between, then every
# filter, the restore points of each result, broken MIME, FTS5 syntax in
# user input, re-indexing cost, and exact bytes from mbox and .eml export.
. "$(dirname "$0")/lib.sh"

M=$T/mailbox

# make_mailbox DIR: writes the corpus (python3: exact RFC 822 bytes, CRLF)
# and a manifest of xattrs, which setfattr applies.
make_mailbox() {
	python3 - "$1" <<'PY' || return 1
import base64, os, sys
root = sys.argv[1]
CRLF = "\r\n"

def msg(headers, body, raw=None):
    if raw is not None:
        return raw
    text = CRLF.join(headers) + CRLF + CRLF + body
    return text.encode("latin-1") if isinstance(text, str) else text

def b64w(s, cs):
    return "=?%s?b?%s?=" % (cs, base64.b64encode(s.encode(cs)).decode())

def h(*lines):
    return list(lines)

msgs = {}  # (folder path, uid) -> bytes
std = ["MIME-Version: 1.0"]
# 1: RFC 2047 iso-8859-1 (Q) subject, plain body
m1 = msg(h("From: Alice Example <alice@bank.example>", "To: Bob <bob@home.example>",
           "Subject: =?iso-8859-1?q?Caf=E9_cr=E8me?=", "Date: Mon, 04 Mar 2024 09:05:00 +0100",
           "Message-ID: <m1@test>", *std, "Content-Type: text/plain; charset=us-ascii"),
         "Your monthly statement balance is ready." + CRLF)
msgs[("INBOX", 1)] = m1
# 2: RFC 2047 utf-8 (B) subject, Cc, utf-8 8bit body
m2 = (CRLF.join(["From: Carol <carol@corp.example>", "To: team@corp.example",
                  "Cc: Dave <dave@corp.example>", "Subject: " + b64w("Grüße aus Zürich", "utf-8"),
                  "Date: Tue, 05 Mar 2024 10:00:00 +0000", *std,
                  "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"])
      + CRLF + CRLF).encode() + ("Schöne Grüße vom See" + CRLF).encode("utf-8")
msgs[("INBOX", 2)] = m2
# 3: koi8-r subject and 8bit koi8-r body
m3 = (CRLF.join(["From: Ivan <ivan@ru.example>", "To: bob@home.example",
                  "Subject: " + b64w("Привет мир", "koi8-r"),
                  "Date: Wed, 06 Mar 2024 11:00:00 +0300", *std,
                  "Content-Type: text/plain; charset=koi8-r", "Content-Transfer-Encoding: 8bit"])
      + CRLF + CRLF).encode() + ("Съешь ещё этих мягких французских булок" + CRLF).encode("koi8-r")
msgs[("INBOX", 3)] = m3
# 4: base64 windows-1252 body
body4 = base64.encodebytes("Das kostet 5 € – naïve résumé attached".encode("cp1252")).decode()
m4 = msg(h("From: shop@store.example", "To: bob@home.example", "Subject: Invoice euro",
           "Date: Thu, 07 Mar 2024 12:00:00 +0000", *std,
           "Content-Type: text/plain; charset=windows-1252", "Content-Transfer-Encoding: base64"),
         body4.replace("\n", CRLF))
msgs[("INBOX", 4)] = m4
# 5: HTML only
html = ("<html><head><title>News</title><style>.x { color: red }</style>"
        "<script>var secretword = 1; if (a < b) {}</script></head>"
        "<body><!-- hiddencomment --><p>Hello&nbsp;<b>Wor</b>ld &amp; caf&eacute; "
        "&#x263A; &lt;tagged&gt;</p><div>second<br>line</div></body></html>")
m5 = msg(h("From: news@letter.example", "To: bob@home.example", "Subject: Newsletter",
           "Date: Fri, 08 Mar 2024 13:00:00 +0000", *std, "Content-Type: text/html; charset=utf-8"),
         html + CRLF)
msgs[("INBOX", 5)] = m5
# 6: attachments with RFC 2231 names (one with continuations)
m6 = msg(h("From: Erin <erin@corp.example>", "To: bob@home.example", "Subject: Reports",
           "Date: Sat, 09 Mar 2024 14:00:00 +0000", *std,
           'Content-Type: multipart/mixed; boundary="XYZ"'),
         CRLF.join(["--XYZ", "Content-Type: text/plain; charset=us-ascii", "",
                    "Please find the files attached.", "--XYZ",
                    "Content-Type: application/pdf",
                    "Content-Disposition: attachment; filename*=utf-8''%E2%82%AC%20rapport%20d%C3%A9cembre.pdf",
                    "Content-Transfer-Encoding: base64", "", "JVBERi0xLjQK", "--XYZ",
                    "Content-Type: application/octet-stream",
                    "Content-Disposition: attachment; filename*0*=us-ascii''Quarterly%2D; filename*1=figures.xlsx",
                    "Content-Transfer-Encoding: base64", "", "UEsDBA==", "--XYZ--", ""]))
msgs[("INBOX", 6)] = m6
# 7: broken MIME: multipart without a boundary, truncated nested part
m7 = msg(h("From: broken@bad.example", "To: bob@home.example", "Subject: Broken multipart zebra",
           "Date: Sun, 10 Mar 2024 15:00:00 +0000", *std, "Content-Type: multipart/mixed",
           "Content-Transfer-Encoding: quoted-printable"),
         "--nope" + CRLF + "Content-Type: text/plain" + CRLF + CRLF + "giraffe text =ZZ" + CRLF
         + "--nope" + CRLF + "Content-Type: message/rfc822" + CRLF + CRLF + "Subject: inner")
msgs[("INBOX", 7)] = m7
# 8: From lines in the body (mboxrd), no final newline
m8 = msg(h("From: poet@verse.example", "To: bob@home.example", "Subject: Poem",
           "Date: Mon, 11 Mar 2024 16:00:00 +0000"),
         "From here on" + CRLF + ">From the quoted line" + CRLF + ">>From deeper" + CRLF
         + "From" + CRLF + "last line without newline")
msgs[("INBOX", 8)] = m8
# 9: FTS5 syntax characters in the subject
m9 = msg(h("From: ops@corp.example", "To: bob@home.example",
           'Subject: Meeting "quoted" NEAR(x) *star) AND OR plan',
           "Date: Tue, 12 Mar 2024 17:00:00 +0000"), "agenda" + CRLF)
msgs[("INBOX", 9)] = m9
# 10: Sent folder
m10 = msg(h("From: Bob <bob@home.example>", "To: Alice <alice@bank.example>",
            "Subject: Re: statement", "Date: Wed, 01 May 2024 08:00:00 +0000"), "Thanks!" + CRLF)
msgs[("Sent", 1)] = m10
# 11: the same bytes as 1, in a nested folder (one message, two places)
msgs[("Work/2024", 1)] = m1
# 12: a folder whose name is modified UTF-7 (Entwürfe)
m12 = msg(h("From: bob@home.example", "To: frank@corp.example", "Subject: Draft budget",
            "Date: Thu, 02 May 2024 09:00:00 +0000"), "numbers tbd" + CRLF)
msgs[("Entw&APw-rfe", 1)] = m12

folders = {"INBOX": ("INBOX", "\\HasNoChildren", ""), "Sent": ("Sent", "", "\\Sent"),
           "Work": ("Work", "\\HasChildren", ""), "Work/2024": ("Work.2024", "", ""),
           "Entw&APw-rfe": ("Entw&APw-rfe", "", "\\Drafts")}
man = open(os.path.join(root + ".xattrs"), "w")
os.makedirs(root, exist_ok=True)
man.write("%s\tuser.imap.mailbox\t1\n%s\tuser.imap.delimiter\t.\n" % (root, root))
for path, (name, flags, special) in folders.items():
    d = os.path.join(root, path)
    os.makedirs(d, exist_ok=True)
    man.write("%s\tuser.imap.name\t%s\n%s\tuser.imap.uidvalidity\t1700000000\n" % (d, name, d))
    if special:
        man.write("%s\tuser.imap.specialuse\t%s\n" % (d, special))
for (folder, uid), data in msgs.items():
    p = os.path.join(root, folder, "%010d" % uid)
    with open(p, "wb") as f:
        f.write(data)
    os.chmod(p, 0o600)
    man.write("%s\tuser.imap.flags\t\\Seen\n%s\tuser.imap.tz\t+0200\n" % (p, p))
PY
	while IFS=$'\t' read -r path name value; do
		setfattr -n "$name" -v "$value" "$path" || return 1
	done <"$1.xattrs"
	# internal dates: the file mtimes
	find "$1" -type f -exec touch -d '2024-03-20 10:00:00 UTC' {} +
}

# s ARGS...: a search, --json lines in $T/out.
s() { run c --json search --unit "${UNIT:-mbox}" "$@"; }

# subjects: the subjects of the last search's results, sorted, one line.
subjects() { jq -r 'select(.subject) | .subject' "$T/out" | LC_ALL=C sort | paste -sd'|'; }

# finds NAME WANT ARGS...: the search gives exactly the subjects WANT ("a|b", sorted).
finds() {
	local name=$1 want=$2; shift 2
	s "$@"
	if sanitizer "$T/err"; then
		not_ok "$name" "sanitizer: $(grep -m1 -E 'Sanitizer|runtime error' "$T/err")"
	elif [ "$rc" != 0 ]; then
		not_ok "$name" "exit $rc: $(tail -2 "$T/err" | tr '\n' ' ')"
	elif [ "$(subjects)" = "$want" ]; then
		ok "$name"
	else
		not_ok "$name" "got '$(subjects)', want '$want'"
	fi
}

# ---- a mailbox, backed up twice ----

init_store
make_mailbox "$M" || { not_ok "corpus written" "python3 or setfattr failed"; exit 1; }
mkdir -p "$T/snap1" && cp -a "$M" "$T/snap1/"
run c backup mbox "$M"; is_rc "backup 1 of the mailbox tree" 0
# Changes: one message deleted, one added, one flag changed.
rm "$M/INBOX/0000000004"
printf 'From: newbie@corp.example\r\nTo: bob@home.example\r\nSubject: Brand new arrival\r\nDate: Fri, 03 May 2024 10:00:00 +0000\r\n\r\nfresh\r\n' >"$M/INBOX/0000000014"
setfattr -n user.imap.flags -v '\Seen' "$M/INBOX/0000000014"
setfattr -n user.imap.flags -v '\Seen \Flagged' "$M/INBOX/0000000001"
touch -d '2024-05-03 10:00:00 UTC' "$M/INBOX/0000000014"
run c backup mbox "$M"; is_rc "backup 2 after a delete, an arrival and a flag change" 0

# ---- indexing ----

run c search --unit mbox --subject statement
is_rc "first search indexes both restore points" 0
if grep -q "2 restore points added, 12 messages parsed" "$T/err"; then ok "12 distinct messages parsed once"
else not_ok "12 distinct messages parsed once" "$(grep 'mail index' "$T/err")"; fi
run c search --unit mbox --subject statement
if ! grep -q "restore points added" "$T/err"; then ok "a second search indexes nothing"
else not_ok "a second search indexes nothing" "$(grep 'mail index' "$T/err")"; fi
run c backup mbox "$M"
run c search --unit mbox --subject statement
if grep -q "1 restore points added, 0 messages parsed" "$T/err"; then ok "an unchanged restore point parses no message"
else not_ok "an unchanged restore point parses no message" "$(grep 'mail index' "$T/err")"; fi
[ "$(stat -c %a "$COFFER_CACHE"/*/mailindex.sqlite)" = 600 ] && ok "the index file is 0600" ||
	not_ok "the index file is 0600" "$(stat -c %a "$COFFER_CACHE"/*/mailindex.sqlite)"

# ---- filters ----

finds "from: a name" "Café crème" --from alice
finds "from: a whole address" "Café crème" --from alice@bank.example
finds "from: a domain" 'Grüße aus Zürich|Meeting "quoted" NEAR(x) *star) AND OR plan|Reports' --from corp.example --until 2024-04-01
finds "to: To header" "Re: statement" --to alice
finds "address: the whole address in From or To, any case" "Café crème|Re: statement" \
	--address ALICE@Bank.Example
finds "address: a part of it is no address of anyone" "" --address lice@bank.example
s --address alice
is_rc "address: a name alone is a bad query (exit 2)" 2
finds "to: Cc header" "Grüße aus Zürich" --to dave
finds "subject: RFC 2047 iso-8859-1, accents ignored" "Café crème" --subject "cafe creme"
finds "subject: RFC 2047 utf-8" "Grüße aus Zürich" --subject grüße
finds "subject: RFC 2047 koi8-r" "Привет мир" --subject привет
finds "body: koi8-r 8bit text" "Привет мир" --body булок
finds "body: base64 windows-1252 text" "Invoice euro" --body "naive résumé"
finds "body: HTML reduced to text" "Newsletter" --body "hello world café"
finds "body: HTML entity &lt; decoded" "Newsletter" --body tagged
finds "body: HTML script not indexed" "" --body secretword
finds "body: HTML style not indexed" "" --body color
finds "body: HTML comment not indexed" "" --body hiddencomment
finds "body: RFC 2231 attachment name" "Reports" --body décembre
finds "body: RFC 2231 continued attachment name" "Reports" --body figures
finds "has-attachment" "Reports" --has-attachment
finds "broken MIME: found by subject" "Broken multipart zebra" --subject zebra
s --subject zebra
[ "$(jq -r '.parseError // empty' "$T/out" | head -1)" != "" ] && ok "broken MIME: the parse error is reported" ||
	not_ok "broken MIME: the parse error is reported" "$(head -c 300 "$T/out")"
finds "date range" "Brand new arrival|Draft budget|Re: statement" --since 2024-05-01 --until 2024-05-03
finds "until is inclusive of its day" "Café crème" --until 2024-03-04
finds "since with a time" "Brand new arrival" --since 2024-05-03T09:59:59Z
finds "folder by IMAP name" "Re: statement" --folder Sent
finds "folder by decoded name" "Draft budget" --folder Entwürfe
finds "folder by modified UTF-7 name" "Draft budget" --folder 'Entw&APw-rfe'
finds "folder by name with delimiter" "Café crème" --folder Work.2024
finds "folder by tree path" "Café crème" --folder Work/2024
finds "restore point 1 has the deleted message" "Invoice euro" --rp 1 --body résumé
finds "restore point 2 lacks the deleted message" "" --rp 2 --body résumé
finds "restore point 1 lacks the new message" "" --rp 1 --subject arrival
finds "restore point 2 has the new message" "Brand new arrival" --rp 2 --subject arrival
finds "filters combine" "Reports" --from erin --has-attachment --folder INBOX --rp 2

# results say which restore points hold each message
s --subject arrival
[ "$(jq -c .restorePoints "$T/out")" = '["mbox@2","mbox@3"]' ] && ok "new message: held by points 2 and 3" ||
	not_ok "new message: held by points 2 and 3" "$(jq -c .restorePoints "$T/out")"
s --body résumé
[ "$(jq -c .restorePoints "$T/out")" = '["mbox@1"]' ] && ok "deleted message: held by point 1 only" ||
	not_ok "deleted message: held by point 1 only" "$(jq -c .restorePoints "$T/out")"
s --from alice
want='[["INBOX","\\Seen",[1]],["INBOX","\\Seen \\Flagged",[2,3]],["Work.2024","\\Seen",[1,2,3]]]'
got=$(jq -c '[.places[] | [.imapName, .flags, .restorePoints]] | sort' "$T/out")
[ "$(wc -l <"$T/out")" = 1 ] && [ "$got" = "$want" ] && ok "one message in two folders: one result, its places and flags per point" ||
	not_ok "one message in two folders: one result, its places and flags per point" "$(wc -l <"$T/out") lines, $got"
[ "$(jq -r '"\(.unit)@\(.restorePoint) \(.path)"' "$T/out")" = "mbox@3 INBOX/0000000001" ] && ok "result names the newest point and path" ||
	not_ok "result names the newest point and path" "$(jq -r '"\(.unit)@\(.restorePoint) \(.path)"' "$T/out")"

# paging, newest first
s --limit 3
[ "$(jq -r 'select(.subject) | .date' "$T/out" | paste -sd' ')" = "2024-05-03T10:00:00Z 2024-05-02T09:00:00Z 2024-05-01T08:00:00Z" ] &&
	[ "$(tail -1 "$T/out")" = '{"more":true,"nextPage":2}' ] && ok "newest first, paged" ||
	not_ok "newest first, paged" "$(head -c 400 "$T/out")"
s --limit 5 --page 3
[ "$(jq -r 'select(.subject) | .subject' "$T/out" | paste -sd'|')" = "Grüße aus Zürich|Café crème" ] && ok "last page" ||
	not_ok "last page" "$(jq -r '.subject' "$T/out" | paste -sd'|')"
s --all --limit 2
[ "$(jq -r 'select(.subject) | .subject' "$T/out" | wc -l)" = 12 ] && ok "--all returns every message" ||
	not_ok "--all returns every message" "$(wc -l <"$T/out")"

# ---- user input is words, never FTS5 syntax ----

finds 'double quotes are words' 'Meeting "quoted" NEAR(x) *star) AND OR plan' --subject '"quoted"'
finds 'NEAR( ) is a word' 'Meeting "quoted" NEAR(x) *star) AND OR plan' --subject 'NEAR(x)'
finds '* and ) are not syntax' 'Meeting "quoted" NEAR(x) *star) AND OR plan' --subject '*star)'
finds 'AND and OR are words' 'Meeting "quoted" NEAR(x) *star) AND OR plan' --subject 'AND OR'
finds 'OR does not widen a search' '' --from 'alice OR bob'
finds 'a quote does not end the string' '' --from 'alice" OR "bob'
finds 'a column filter in input is a word' '' --subject 'sender:alice'
s --subject ')'
is_rc "a filter with no words is a usage error" 2
grep -q 'no words to search for' "$T/err" && ok "and says so" || not_ok "and says so" "$(cat "$T/err")"
s --since 2024-13-45
is_rc "a bad date is a usage error" 2
s --rp 9
is_rc "a restore point that does not exist is a usage error" 2

# ---- export ----

# unmbox FILE DIR: splits an mboxrd file into DIR/1, DIR/2, ... (un-quoted)
# and prints the From_ lines.
unmbox() {
	python3 - "$1" "$2" <<'PY'
import os, re, sys
data = open(sys.argv[1], "rb").read()
os.makedirs(sys.argv[2], exist_ok=True)
lines = data.split(b"\n")
lines = [l + b"\n" for l in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
msgs, cur = [], None
for l in lines:
    if l.startswith(b"From "):
        cur = [l, []]; msgs.append(cur); continue
    cur[1].append(re.sub(rb"^>(>*From )", rb"\1", l))
for i, (fl, body) in enumerate(msgs, 1):
    b = b"".join(body)
    assert b.endswith(b"\n"), "message %d lacks the separator" % i
    open(os.path.join(sys.argv[2], str(i)), "wb").write(b[:-1])
    sys.stdout.write(fl.decode().rstrip("\n") + "\n")
PY
}

# same_set NAME DIR1 DIR2: the files of DIR1 and DIR2 have the same contents (as sets).
same_set() {
	local a b
	a=$(cd "$2" && find . -type f -exec sha256sum {} + | cut -d' ' -f1 | LC_ALL=C sort)
	b=$(cd "$3" && find . -type f -exec sha256sum {} + | cut -d' ' -f1 | LC_ALL=C sort)
	if [ -n "$a" ] && [ "$a" = "$b" ]; then ok "$1"; else not_ok "$1" "contents differ"; fi
}

run c export mbox@1 --mbox "$T/rp1.mbox"; is_rc "export a restore point as mbox" 0
unmbox "$T/rp1.mbox" "$T/unmbox1" >"$T/fromlines" 2>"$T/unmbox.err" || not_ok "mbox parses" "$(cat "$T/unmbox.err")"
same_set "mbox: exact bytes of every message after un-quoting" "$T/snap1/mailbox" "$T/unmbox1"
grep -q '^>From here on' "$T/rp1.mbox" && grep -q '^>>From the quoted line' "$T/rp1.mbox" &&
	grep -q '^>>>From deeper' "$T/rp1.mbox" && ok "mbox: From lines quoted the mboxrd way" ||
	not_ok "mbox: From lines quoted the mboxrd way" "$(grep -a 'From' "$T/rp1.mbox" | head -5 | tr '\n' ' ')"
grep -qx 'From alice@bank.example Wed Mar 20 12:00:00 2024' "$T/fromlines" &&
	ok "mbox: From_ line has the sender and the internal date in its zone" ||
	not_ok "mbox: From_ line has the sender and the internal date in its zone" "$(head -2 "$T/fromlines" | tr '\n' ' ')"
[ "$(stat -c %a "$T/rp1.mbox")" = 600 ] && ok "mbox file is 0600" || not_ok "mbox file is 0600" "$(stat -c %a "$T/rp1.mbox")"

cp "$T/rp1.mbox" "$T/rp1.copy"
run c export mbox@2 --mbox "$T/rp1.mbox"; is_rc "export refuses to overwrite an mbox file" 1
cmp -s "$T/rp1.mbox" "$T/rp1.copy" && ok "the existing file is untouched" || not_ok "the existing file is untouched" "changed"

run c export mbox@1 --eml "$T/eml1"; is_rc "export a restore point as .eml files" 0
bad=0
for f in $(cd "$T/snap1/mailbox" && find . -type f | sed 's|^\./||'); do
	cmp -s "$T/snap1/mailbox/$f" "$T/eml1/$f.eml" || { bad=1; echo "# differs: $f"; }
done
[ $bad = 0 ] && [ "$(find "$T/eml1" -type f | wc -l)" = 12 ] && ok "eml: one file per message, exact bytes, named folder/uid.eml" ||
	not_ok "eml: one file per message, exact bytes, named folder/uid.eml" "$(find "$T/eml1" -type f | head -3 | tr '\n' ' ')"
run c export mbox@1 --eml "$T/eml1"; is_rc "export refuses a non-empty folder" 1

run c export mbox@2 --folder Work.2024 --mbox "$T/work.mbox"; is_rc "export one folder" 0
unmbox "$T/work.mbox" "$T/unwork" >/dev/null
[ "$(ls "$T/unwork" | wc -l)" = 1 ] && cmp -s "$T/unwork/1" "$T/snap1/mailbox/Work/2024/0000000001" &&
	ok "folder export: exactly its message" || not_ok "folder export: exactly its message" "$(ls "$T/unwork")"
c --json export mbox@2 --folder Work.2024 --mbox - >"$T/stdout.mbox" 2>"$T/err"
cmp -s "$T/stdout.mbox" "$T/work.mbox" && grep -q '"messages":1' "$T/err" &&
	ok "export --mbox - with --json: the mbox alone on stdout, the summary on stderr" ||
	not_ok "export --mbox - with --json: the mbox alone on stdout" "$(tail -c 200 "$T/stdout.mbox")"
run c export mbox@2 --folder Work --mbox "$T/work2.mbox"; is_rc "export a folder with subfolders" 0
run c export mbox@2 --folder Nope --mbox "$T/nope.mbox"; is_rc "export of a missing folder fails" 1
grep -q 'has no folder "Nope"' "$T/err" && [ ! -e "$T/nope.mbox" ] && ok "and names it, leaving no file" ||
	not_ok "and names it, leaving no file" "$(cat "$T/err")"

run c export --search --unit mbox --body résumé --eml "$T/found"; is_rc "export a search result as .eml" 0
cmp -s "$T/found/mbox/INBOX/0000000004.eml" "$T/snap1/mailbox/INBOX/0000000004" &&
	[ "$(find "$T/found" -type f | wc -l)" = 1 ] && ok "search export: the found message, from the point holding it" ||
	not_ok "search export: the found message, from the point holding it" "$(find "$T/found" -type f | tr '\n' ' ')"
run c export --search --unit mbox --from corp.example --mbox "$T/corp.mbox"; is_rc "export a search result as mbox" 0
[ "$(unmbox "$T/corp.mbox" "$T/uncorp" | wc -l)" = 4 ] && ok "search export: every result" ||
	not_ok "search export: every result" "$(grep -c '^From ' "$T/corp.mbox")"

# ---- a forgotten restore point leaves the index ----

run c forget --deletion-key-file "$DKEY" mbox@1; is_rc "forget point 1" 0
run c search --unit mbox --body résumé
is_rc "search after the forget" 0
grep -q "1 restore points dropped" "$T/err" && ok "the forgotten point is dropped from the index" ||
	not_ok "the forgotten point is dropped from the index" "$(cat "$T/err")"
finds "mail only the forgotten point held is no longer found" "" --body résumé
s --subject arrival
[ "$(jq -c .restorePoints "$T/out")" = '["mbox@2","mbox@3"]' ] && ok "other results keep their points" ||
	not_ok "other results keep their points" "$(jq -c .restorePoints "$T/out")"
s --from alice
[ "$(jq -c '.restorePoints' "$T/out")" = '["mbox@2","mbox@3"]' ] &&
	[ "$(jq -c '[.places[].restorePoints[]] | sort' "$T/out")" = '[2,2,3,3]' ] &&
	ok "places no longer list the forgotten point" ||
	not_ok "places no longer list the forgotten point" "$(jq -c '.places' "$T/out")"

run c search --unit mbox --from alice
grep -q '^    mbox@3 INBOX uid 1  in mbox@2-3$' "$T/out" && grep -q 'Café crème' "$T/out" &&
	ok "text output: the place and the points holding it" ||
	not_ok "text output: the place and the points holding it" "$(head -3 "$T/out" | tr '\n' '|')"

# ---- mail text cannot drive the terminal ----

mkdir -p "$T/escbox/INBOX"
printf 'From: x@evil.example\r\nSubject: =?utf-8?q?bell_=1B]0;owned=07_ring?=\r\n\r\nbody\r\n' \
	>"$T/escbox/INBOX/0000000001"
setfattr -n user.imap.mailbox -v 1 "$T/escbox" && setfattr -n user.imap.name -v INBOX "$T/escbox/INBOX"
run c backup esc "$T/escbox"
run c search --unit esc --subject ring
is_rc "search a subject with an escape sequence" 0
grep -q 'bell ?]0;owned? ring' "$T/out" && ! grep -q $'\x1b' "$T/out" &&
	ok "text output: control characters of mail shown as ?" ||
	not_ok "text output: control characters of mail shown as ?" "$(cat -v "$T/out")"

# ---- what is not a mailbox ----

mkdir -p "$T/plain" && echo hi >"$T/plain/0000000001"
run c backup files "$T/plain"
run c search --unit files --subject hi
is_rc "a unit that is not a mailbox: warned, exit 3" 3
grep -q 'not a mailbox restore point' "$T/err" && ok "the warning says why" || not_ok "the warning says why" "$(cat "$T/err")"
run c export files@1 --mbox "$T/files.mbox"; is_rc "export of a non-mailbox point fails" 2

# ---- real-world mail: tests/mail-corpus (not the corpus anything was tuned on) ----
# Each message's subject is its label. Words a user would type: inside CJK
# text written without spaces, in meeting invites, vCards, text attachments,
# attachment names, a forwarded message; never a word that is not there.

python3 "$(dirname "$0")/../mail-corpus/make.py" "$T/corpus" ||
	{ not_ok "real-world corpus written" "python3 failed"; exit 1; }
while IFS=$'\t' read -r path name value; do
	setfattr -n "$name" -v "$value" "$path"
done <"$T/corpus.xattrs"
run c backup corpus "$T/corpus"; is_rc "backup of the real-world corpus" 0
UNIT=corpus
finds "cjk: a Chinese word inside a sentence (GB18030)" "gb18030 meeting" --body 会议
finds "cjk: a longer word is a phrase of bigrams, in order" "gb18030 meeting" --body 下午三点
finds "cjk: the characters apart or reversed do not match" "" --body 点三午下
finds "cjk: traditional Chinese (Big5)" "big5 meeting" --body 會議
finds "cjk: one character is found inside a run and alone" "chinese decoy|gb18030 meeting" --body 议
finds "cjk: a Japanese word in ISO-2022-JP text and in an invite" "google invite|出張の件" --body 東京
[ "$(jq -r 'select(.subject == "出張の件") | .from' "$T/out")" = "山田太郎 <yamada@example.jp>" ] &&
	ok "cjk: ISO-2022-JP body and RFC 2047 name" || not_ok "cjk: ISO-2022-JP body and RFC 2047 name" "$(head -c 300 "$T/out")"
finds "cjk: ISO-2022-JP subject word" "出張の件" --subject 出張
finds "cjk: a word inside Japanese text" "出張の件" --body 資料
finds "cjk: half-width katakana (Shift_JIS) found by the full-width word" "shift_jis kana" --body カタログ
finds "cjk: Korean (EUC-KR) word with a particle attached" "euc-kr meeting" --body 회의
s --body 会议
jq -r .snippet "$T/out" | grep -q '^明天的\[会议\]改到' && ok "cjk: the snippet marks the word, in its sentence" ||
	not_ok "cjk: the snippet marks the word" "$(jq -r .snippet "$T/out")"
finds "calendar: Outlook location, folded inside a word" "outlook invite" --body nebulaquartz
finds "calendar: summary" "outlook invite" --body "quarterly roadmap"
finds "calendar: description with escapes" "outlook invite" --body "hiring freeze exceptions"
finds "calendar: an attendee's name" "outlook invite" --body okafor
finds "calendar: the organizer's name in a quoted CN" "outlook invite" --body priya
finds "calendar: Google invite in Japanese" "google invite" --body 定例
finds "calendar: Google invite location" "google invite" --body 本社
finds "calendar: property names are not text" "" --body vevent
finds "vcard: organisation" "vcards" --body einkauf
finds "forwarded: the inner sender, and a vCard's e-mail" "forwarded contract|vcards" --body fabrikam
finds "vcard: note with an escaped comma" "vcards" --body "hannover trade fair"
finds "vcard: phone number" "vcards" --body 5550123
finds "vcard: 2.1 quoted-printable name from windows-1252" "vcards" --body francois
finds "vcard: 2.1 soft line break" "vcards" --body bourgogne
finds "csv attachment: text in windows-1252" "csv attachment" --body südostbayern
finds "csv attachment: name in RFC 2231" "csv attachment" --attachment "q3 umsatze"
finds "forwarded: a markdown attachment inside" "forwarded contract" --body ledgerbook
finds "forwarded: the inner subject" "forwarded contract" --body kaiserslautern
finds "forwarded: an encoded-word name inside" "forwarded contract" --attachment übersicht
finds "forwarded: a name in RFC 2231 from GB18030" "forwarded contract" --attachment 报告
finds "forwarded: the attached message's own name" "forwarded contract" --attachment fwd
finds "attachment names are plain text too" "forwarded contract" --body notes
finds "attachment: a vCard's encoded-word name" "vcards" --attachment "jörg müller"
finds "attachment: only names, not body text" "" --attachment fabrikam
finds "attachment: invite.ics" "google invite" --attachment invite
finds "a common word finds only where it is" "plain decoy" --body budget
s --attachment ')'
is_rc "attachment: a filter with no words is a usage error" 2
UNIT=mbox

exit $FAILED
