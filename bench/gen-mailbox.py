#!/usr/bin/env python3
"""Writes a mailbox restore-point tree (docs/mail.md section 1) of N generated
messages for bench/search.sh: folders, files named by UID, user.imap.* xattrs.
Deterministic (fixed seed). Usage: gen-mailbox.py DIR N"""
import base64, os, random, sys

root, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(20261121)
common = ("the of and to in is for on that with as at by from this be are was it an or "
          "meeting report invoice budget project review update please thanks regards team "
          "customer order shipment contract payment account statement schedule release plan "
          "server backup restore network security incident ticket support question answer "
          "draft final agenda minutes quarter revenue forecast hiring onboarding travel").split()
syll = "ka lo mi ne ru sa te vo zi pa do fe gu hi ja ko lu ma".split()
rare = ["".join(rnd.choice(syll) for _ in range(rnd.randint(2, 4))) for _ in range(20000)]
people = ["%s.%s@%s.example" % (rnd.choice(rare), rnd.choice(rare), rnd.choice(rare[:300]))
          for _ in range(2000)]
folders = ["INBOX", "Sent", "Archive/2023", "Archive/2024", "Projects/Alpha", "Projects/Beta",
           "Lists/dev", "Lists/announce", "Receipts", "Travel"]
weights = [40, 10, 15, 15, 4, 4, 5, 3, 2, 2]

def words(k):
    return " ".join(rnd.choice(common) if rnd.random() < 0.7 else rnd.choice(rare)
                    for _ in range(k))

os.makedirs(root, exist_ok=True)
os.setxattr(root, "user.imap.mailbox", b"1")
os.setxattr(root, "user.imap.delimiter", b"/")
for f in folders:
    d = os.path.join(root, f)
    os.makedirs(d, exist_ok=True)
    os.setxattr(d, "user.imap.name", f.encode())
    os.setxattr(d, "user.imap.uidvalidity", b"1700000000")
for top in {f.split("/")[0] for f in folders if "/" in f}:
    os.setxattr(os.path.join(root, top), "user.imap.name", top.encode())
uids = {f: 0 for f in folders}
t0 = 1609459200  # 2021-01-01
for i in range(n):
    f = rnd.choices(folders, weights)[0]
    uids[f] += 1
    date = t0 + rnd.randint(0, 3 * 365 * 86400)
    sender, to = rnd.choice(people), rnd.choice(people)
    hdr = ["From: %s <%s>" % (sender.split("@")[0].replace(".", " ").title(), sender),
           "To: %s" % to, "Subject: %s" % words(rnd.randint(3, 8)),
           "Date: %s" % __import__("email.utils").utils.formatdate(date),
           "Message-ID: <%d.%d@bench.example>" % (i, date), "MIME-Version: 1.0"]
    body = "\r\n".join(words(rnd.randint(8, 16)) for _ in range(rnd.randint(5, 40)))
    r = rnd.random()
    if r < 0.1:
        att = base64.encodebytes(os.urandom(rnd.randint(500, 3000))).decode().replace("\n", "\r\n")
        hdr.append('Content-Type: multipart/mixed; boundary="b%d"' % i)
        text = ("--b%d\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n--b%d\r\n"
                "Content-Type: application/pdf\r\nContent-Disposition: attachment; "
                "filename=\"%s.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n%s--b%d--\r\n"
                % (i, body, i, rnd.choice(rare), att, i))
    elif r < 0.3:
        hdr.append("Content-Type: text/html; charset=utf-8")
        text = "<html><body><p>%s</p></body></html>\r\n" % body.replace("\r\n", "</p><p>")
    else:
        hdr.append("Content-Type: text/plain; charset=utf-8")
        text = body + "\r\n"
    data = ("\r\n".join(hdr) + "\r\n\r\n" + text).encode()
    p = os.path.join(root, f, "%010d" % uids[f])
    with open(p, "wb") as fh:
        fh.write(data)
    os.setxattr(p, "user.imap.flags", b"\\Seen" if rnd.random() < 0.8 else b"")
    os.setxattr(p, "user.imap.tz", b"+0000")
    os.utime(p, (date + 60, date + 60))
