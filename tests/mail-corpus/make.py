#!/usr/bin/env python3
"""Writes a mailbox tree (docs/mail.md section 1) of real-world shaped mail
for tests/e2e/search.sh: meeting invites as Outlook and Google send them,
vCards (3.0 and Outlook's 2.1 quoted-printable), Japanese ISO-2022-JP and
Shift_JIS, Chinese GB18030, GBK and Big5, Korean EUC-KR, a CSV attachment,
a forwarded message/rfc822 carrying attachments, file names in RFC 2231 and
in encoded words. Written independently of bench/gen-mailbox.py and of the
code it tests, so searching it is not tuned to it.

Usage: make.py DIR   (DIR.xattrs: "path<TAB>name<TAB>value" lines to apply)
Each message's Subject is its label; tests/e2e/search.sh asserts labels."""
import base64, os, sys
from email.header import Header
from urllib.parse import quote

root = sys.argv[1]
CRLF = "\r\n"
msgs = []


def b64(data):
    return base64.encodebytes(data).decode().replace("\n", CRLF)


def enc_word(s, cs):
    return Header(s, cs).encode()


def message(subject, date, headers, body, ctype):
    """bytes of a message: header lines (str), then body (bytes)."""
    h = ["From: %s" % headers.get("from", "Sender <sender@corpus.example>"),
         "To: %s" % headers.get("to", "Reader <reader@corpus.example>"),
         "Subject: %s" % subject, "Date: %s" % date,
         "Message-ID: <%s@corpus.example>" % subject.encode("ascii", "replace").decode().replace(" ", "."),
         "MIME-Version: 1.0", "Content-Type: %s" % ctype] + headers.get("extra", [])
    return (CRLF.join(h) + CRLF + CRLF).encode() + body


def part(ctype, data, extra=()):
    """a MIME part as bytes, base64 unless the data is 7-bit text."""
    lines = ["Content-Type: " + ctype] + list(extra)
    if all(b < 0x80 for b in data) and b"\x1b" not in data:
        return (CRLF.join(lines) + CRLF + CRLF).encode() + data
    lines.append("Content-Transfer-Encoding: base64")
    return (CRLF.join(lines) + CRLF + CRLF + b64(data)).encode()


def multipart(sub, boundary, parts):
    out = b""
    for p in parts:
        out += ("--%s" % boundary + CRLF).encode() + p + CRLF.encode()
    return out + ("--%s--" % boundary + CRLF).encode()


def fold(line):
    """RFC 5545 folding at 60 octets, inside words too."""
    raw = line.encode()
    out = [raw[:60]]
    raw = raw[60:]
    while raw:
        out.append(b" " + raw[:50])
        raw = raw[50:]
    return b"\r\n".join(out)


def ics(lines):
    return b"\r\n".join(fold(l) for l in lines) + b"\r\n"


# ---- 1. Outlook meeting request: the words are only in the calendar ----
cal1 = ics(["BEGIN:VCALENDAR", "METHOD:REQUEST", "PRODID:Microsoft Exchange Server 2010",
            "VERSION:2.0", "BEGIN:VTIMEZONE", "TZID:W. Europe Standard Time",
            "END:VTIMEZONE", "BEGIN:VEVENT",
            'ORGANIZER;CN="Raman, Priya":mailto:priya.raman@contoso.example',
            'ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CN=Olumide Okafor:mailto:o.okafor@contoso.example',
            "DESCRIPTION;LANGUAGE=en-US:Agenda:\\n1. Roadmap\\, milestones\\n2. Hiring freeze\\; exceptions\\n",
            "SUMMARY;LANGUAGE=en-US:Quarterly roadmap review",
            "DTSTART;TZID=W. Europe Standard Time:20250312T100000",
            "LOCATION;LANGUAGE=en-US:Conference Room Nebulaquartz (Building 4\\, floor 2)",
            "UID:040000008200E00074C5B7101A82E0080000000010B3", "END:VEVENT", "END:VCALENDAR"])
msgs.append(("INBOX", message(
    "outlook invite", "Mon, 10 Mar 2025 09:00:00 +0100", {},
    multipart("alternative", "o1", [
        part("text/plain; charset=utf-8", b"When: see the invitation.\r\n"),
        part("text/html; charset=utf-8", b"<html><body><p>When: see the invitation.</p></body></html>\r\n"),
        part('text/calendar; charset="utf-8"; method=REQUEST', cal1)]),
    'multipart/alternative; boundary="o1"')))

# ---- 2. Google invite: text/calendar inline and invite.ics attached ----
cal2 = ics(["BEGIN:VCALENDAR", "PRODID:-//Google Inc//Google Calendar 70.9054//EN",
            "VERSION:2.0", "METHOD:REQUEST", "BEGIN:VEVENT",
            "SUMMARY:週次定例ミーティング", "LOCATION:東京本社 5F 会議室",
            "DESCRIPTION:議題は来期の採用計画です。",
            "ORGANIZER;CN=Sato Haruki:mailto:haruki@example.jp",
            "ATTENDEE;CUTYPE=INDIVIDUAL;CN=Ito Mei;X-NUM-GUESTS=0:mailto:mei@example.jp",
            "END:VEVENT", "END:VCALENDAR"])
msgs.append(("INBOX", message(
    "google invite", "Tue, 11 Mar 2025 10:00:00 +0900", {},
    multipart("mixed", "g1", [
        ('Content-Type: multipart/alternative; boundary="g2"' + CRLF + CRLF).encode()
        + multipart("alternative", "g2", [
            part("text/plain; charset=UTF-8", b"Invitation from Google Calendar\r\n"),
            part("text/calendar; charset=UTF-8; method=REQUEST", cal2)]),
        part('application/ics; name="invite.ics"', cal2,
             ['Content-Disposition: attachment; filename="invite.ics"'])]),
    'multipart/mixed; boundary="g1"')))

# ---- 3. vCard 3.0 attached, and Outlook's vCard 2.1 quoted-printable ----
vcf3 = ("BEGIN:VCARD\r\nVERSION:3.0\r\nN:Müller;Jörg;;;\r\nFN:Jörg Müller\r\n"
        "ORG:Fabrikam GmbH;Einkauf\r\nitem1.EMAIL;TYPE=INTERNET:joerg.mueller@fabrikam.example\r\n"
        "TEL;TYPE=CELL:+49 170 5550123\r\nNOTE:Met at the Hannover trade fair\\, booth 7\r\n"
        "END:VCARD\r\n").encode()
vcf21 = (b"BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=Windows-1252;ENCODING=QUOTED-PRINTABLE:Lef=E8vre;Fran=E7ois\r\n"
         b"FN;ENCODING=QUOTED-PRINTABLE:Fran=C3=A7ois Lef=C3=A8vre\r\n"
         b"NOTE;ENCODING=QUOTED-PRINTABLE:Responsable des achats, r=C3=A9gion=\r\n"
         b" Bourgogne-Franche-Comt=C3=A9\r\nEND:VCARD\r\n")
msgs.append(("INBOX", message(
    "vcards", "Wed, 12 Mar 2025 11:00:00 +0100", {},
    multipart("mixed", "v1", [
        part("text/plain; charset=utf-8", b"Two contacts.\r\n"),
        part('text/x-vcard; charset=utf-8; name="%s"' % enc_word("Jörg Müller.vcf", "utf-8"), vcf3,
             ['Content-Disposition: attachment']),
        part("text/vcard", vcf21, ['Content-Disposition: attachment; filename="contact.vcf"'])]),
    'multipart/mixed; boundary="v1"')))

# ---- 4. Japanese: ISO-2022-JP (7-bit with escapes), Shift_JIS half-width kana ----
ja = "来週東京へ行きます。会議の資料を送ります。"
msgs.append(("INBOX", (CRLF.join([
    "From: " + enc_word("山田太郎", "iso-2022-jp") + " <yamada@example.jp>",
    "To: reader@corpus.example", "Subject: " + enc_word("出張の件", "iso-2022-jp"),
    "Date: Thu, 13 Mar 2025 12:00:00 +0900", "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=ISO-2022-JP", "Content-Transfer-Encoding: 7bit"])
    + CRLF + CRLF).encode() + ja.encode("iso-2022-jp") + CRLF.encode()))
msgs.append(("INBOX", message(
    "shift_jis kana", "Fri, 14 Mar 2025 13:00:00 +0900", {},
    "新しいｶﾀﾛｸﾞを送付します".encode("shift_jis") + CRLF.encode(),
    "text/plain; charset=Shift_JIS") .replace(b"MIME-Version: 1.0",
                                               b"MIME-Version: 1.0\r\nContent-Transfer-Encoding: 8bit")))

# ---- 5. Chinese: GB18030 and Big5; a decoy with the characters apart ----
msgs.append(("INBOX", message(
    "gb18030 meeting", "Sat, 15 Mar 2025 14:00:00 +0800", {},
    b64("明天的会议改到下午三点，请准时参加。".encode("gb18030")).encode(),
    "text/plain; charset=GB18030").replace(b"MIME-Version: 1.0",
                                           b"MIME-Version: 1.0\r\nContent-Transfer-Encoding: base64")))
msgs.append(("INBOX", message(
    "big5 meeting", "Sun, 16 Mar 2025 15:00:00 +0800", {},
    b64("明天的會議取消了，報告請下週寄出。".encode("big5")).encode(),
    "text/plain; charset=big5").replace(b"MIME-Version: 1.0",
                                        b"MIME-Version: 1.0\r\nContent-Transfer-Encoding: base64")))
msgs.append(("INBOX", message(
    "chinese decoy", "Mon, 17 Mar 2025 16:00:00 +0800", {},
    b64("会 今天不开，议 题下次再定，三点 下午见".encode("gbk")).encode(),
    "text/plain; charset=gbk").replace(b"MIME-Version: 1.0",
                                       b"MIME-Version: 1.0\r\nContent-Transfer-Encoding: base64")))

# ---- 6. Korean EUC-KR ----
msgs.append(("INBOX", message(
    "euc-kr meeting", "Tue, 18 Mar 2025 17:00:00 +0900", {},
    "내일회의는 오후 세시에 시작합니다.".encode("euc-kr") + CRLF.encode(),
    "text/plain; charset=EUC-KR").replace(b"MIME-Version: 1.0",
                                          b"MIME-Version: 1.0\r\nContent-Transfer-Encoding: 8bit")))

# ---- 7. a CSV attachment (windows-1252), its name in RFC 2231 ----
csv = "Region;Umsatz\r\nNordwestkueste;1200\r\nSüdostbayern;900\r\n".encode("cp1252")
msgs.append(("Sent", message(
    "csv attachment", "Wed, 19 Mar 2025 18:00:00 +0100", {},
    multipart("mixed", "c1", [
        part("text/plain; charset=utf-8", b"Figures attached.\r\n"),
        part("text/csv; charset=windows-1252", csv,
             ["Content-Disposition: attachment; filename*=utf-8''" + quote("Q3 Umsätze.csv")])]),
    'multipart/mixed; boundary="c1"')))

# ---- 8. a forwarded message (message/rfc822) carrying attachments ----
inner = message(
    "Vertragsentwurf Kaiserslautern", "Thu, 20 Mar 2025 08:00:00 +0100",
    {"from": "Legal Team <legal@fabrikam.example>"},
    multipart("mixed", "i1", [
        part("text/plain; charset=utf-8", b"Draft attached.\r\n"),
        part("text/markdown; charset=utf-8", "# Kickoff\n\nAction items: migrate the ledgerbook.\n".encode(),
             ['Content-Disposition: attachment; filename="notes.md"']),
        part('application/pdf; name="%s"' % enc_word("Übersicht 2025.pdf", "utf-8"), b"%PDF-1.4 fake\x00\xff",
             ["Content-Disposition: attachment"]),
        part("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             b"PK\x03\x04", ["Content-Disposition: attachment; filename*=gb18030''"
                             + quote("报告.docx".encode("gb18030"))])]),
    'multipart/mixed; boundary="i1"')
msgs.append(("INBOX", message(
    "forwarded contract", "Fri, 21 Mar 2025 09:00:00 +0100", {},
    multipart("mixed", "f1", [
        part("text/plain; charset=utf-8", b"See below.\r\n"),
        ('Content-Type: message/rfc822' + CRLF + 'Content-Disposition: attachment; filename="Fwd.eml"'
         + CRLF + CRLF).encode() + inner]),
    'multipart/mixed; boundary="f1"')))

# ---- 9. plain English mail that mentions none of the above ----
msgs.append(("INBOX", message(
    "plain decoy", "Sat, 22 Mar 2025 10:00:00 +0000", {},
    b"Lunch on Friday? The room is booked, the budget is fine.\r\n",
    "text/plain; charset=us-ascii")))

os.makedirs(root, exist_ok=True)
with open(root + ".xattrs", "w") as man:
    man.write("%s\tuser.imap.mailbox\t1\n%s\tuser.imap.delimiter\t/\n" % (root, root))
    uids = {}
    for folder, data in msgs:
        d = os.path.join(root, folder)
        if folder not in uids:
            os.makedirs(d, exist_ok=True)
            man.write("%s\tuser.imap.name\t%s\n" % (d, folder))
            uids[folder] = 0
        uids[folder] += 1
        p = os.path.join(d, "%010d" % uids[folder])
        with open(p, "wb") as f:
            f.write(data)
        man.write("%s\tuser.imap.flags\t\\Seen\n" % p)
