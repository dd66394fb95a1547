#!/usr/bin/env python3
"""Deterministic test mail for coffer's IMAP tests, written as Maildir files.

  gen_mail.py maildir N DIR [--start I] [--seed S] [--big-mb M]
      N messages numbered I.. (default 1) into one Maildir folder DIR
      ({cur,new,tmp}; files in cur/ with their flags in the name).
  gen_mail.py corpus N ROOT [--seed S] [--big-mb M] [--manifest FILE]
      N messages spread over a nested Maildir++ tree under ROOT (the
      user's ~/Maildir: INBOX is ROOT itself, folder A.B is ROOT/.A.B),
      plus one message of about M MiB (default 20; 0: none) in INBOX.
  gen_mail.py mbox N FILE [--start I] [--seed S]
      the same messages as one mbox file.

Same arguments, same bytes: every message comes from its own generator
seeded with (seed, number). What the messages hold, by number i:
  - a text body in one of utf-8, iso-8859-1, windows-1252, koi8-r,
    shift_jis (8bit or quoted-printable), words in that script;
  - every 3rd: an RFC 2047 encoded Subject (B or Q), every 4th an encoded
    From display name;
  - every 10th: a base64 attachment (every 20th with an RFC 2231 file name);
  - every 11th: HTML only; every 13th: multipart/alternative text + HTML;
  - i % 97 == 5: the closing MIME boundary is missing; == 6: bad base64 in
    the attachment; == 7: no Content-Type at all;
  - flags: every 7th unseen, every 5th \\Flagged, every 9th \\Answered,
    every 17th the keyword $Important, every 19th the keyword project-x;
  - INTERNALDATE (the file's mtime) = 1700000000 + 60 * i, Date header
    the same time in a zone that varies.
Maildir stores LF line endings; the server sends CRLF, so a message's bytes
over IMAP are the file's bytes with every LF turned into CRLF.
"""
import argparse
import base64
import datetime
import email.utils
import json
import os
import quopri
import random
import sys
import time

BASE_T = 1700000000

# Sample text per charset, as Unicode; encoded into the charset.
SCRIPTS = {
    "utf-8": "Grüße aus Zürich — résumé, naïve café; Ελληνικά; 日本語のテキスト; 😀",
    "iso-8859-1": "Déjà vu: façade, garçon, crème brûlée, señor, Ångström",
    "windows-1252": "“Smart quotes” – en dash — em dash … ellipsis € euro ‰",
    "koi8-r": "Резервное копирование почтового ящика и восстановление",
    "shift_jis": "バックアップと復元のテストメッセージです",
}
CHARSETS = list(SCRIPTS)
WORDS = ("alpha beta gamma delta backup restore mailbox imap webdav quota "
         "index folder message archive sync token invoice bank report").split()

# Nested Maildir++ folders (mUTF-7 names, "." delimiter) and their weights.
# "Lists.coffer-dev" has no "Lists" parent folder on purpose: the server
# shows Lists as \NonExistent/\Noselect with children.
FOLDERS = [
    ("INBOX", 30), ("Archive", 5), ("Archive.2022", 6), ("Archive.2023", 6),
    ("Archive.2023.Q1", 8), ("Archive.2023.Q2", 8), ("Sent", 8), ("Drafts", 2),
    ("Trash", 3), ("Junk", 2), ("Work", 4), ("Work.Projects", 4),
    ("Work.Projects.Coffer", 6), ("R&AOk-sum&AOk-", 2),          # "Résumé"
    ("Old Mail", 3), ("Lists.coffer-dev", 3),
]
EMPTY_FOLDERS = ["Empty"]
KEYWORDS = ["$Important", "project-x"]  # Maildir letters a, b (dovecot-keywords)


def encoded_word(text, charset, rnd):
    data = text.encode(charset)
    if rnd.random() < 0.5:
        return f"=?{charset}?B?{base64.b64encode(data).decode()}?="
    q = "".join(chr(b) if (48 <= b <= 57 or 65 <= b <= 90 or 97 <= b <= 122) else
                ("_" if b == 32 else f"={b:02X}") for b in data)
    return f"=?{charset}?Q?{q}?="


def text_body(rnd, charset, lines):
    sample = SCRIPTS[charset]
    out = []
    for _ in range(lines):
        words = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(4, 10)))
        out.append(f"{words} {sample}" if rnd.random() < 0.3 else words)
    raw = "\n".join(out).encode(charset) + b"\n"
    if rnd.random() < 0.5:
        return "8bit", raw
    return "quoted-printable", quopri.encodestring(raw)


def b64lines(data):
    return base64.encodebytes(data)


def html_of(rnd, charset):
    rows = "".join(f"<p>{rnd.choice(WORDS)} <b>{rnd.choice(WORDS)}</b> "
                   f"{SCRIPTS[charset]}</p>\n" for _ in range(rnd.randint(2, 20)))
    return (f"<html><head><meta charset=\"{charset}\"><style>p{{color:red}}</style>"
            f"</head>\n<body>\n{rows}</body></html>\n").encode(charset)


def tz_of(i):
    return [0, 60, 120, -300, 330, -480, 540][i % 7]


def message(seed, i, big_mb=0):
    """(internaldate, flags, bytes with LF endings) of message number i."""
    rnd = random.Random(f"{seed}:{i}")
    t = BASE_T + 60 * i
    tz = tz_of(i)
    charset = CHARSETS[i % len(CHARSETS)]
    date = email.utils.format_datetime(datetime.datetime.fromtimestamp(
        t, datetime.timezone(datetime.timedelta(minutes=tz))))
    subj = f"Test message {i} {rnd.choice(WORDS)}"
    if i % 3 == 0:
        subj = f"{encoded_word(SCRIPTS[charset][:20] + ' ' + str(i), charset, rnd)} {rnd.choice(WORDS)}"
    name = f"Sender {i % 97}"
    if i % 4 == 0:
        name = encoded_word(f"Zoë Ärger {i % 97}", "utf-8", rnd)
    h = [f"Return-Path: <sender{i % 97}@example.org>",
         f"From: {name} <sender{i % 97}@example.org>",
         "To: Alice <alice@example.com>"]
    if i % 6 == 0:
        h.append("Cc: bob@example.com, Carol <carol@example.com>")
    h += [f"Subject: {subj}", f"Date: {date}", f"Message-ID: <gen-{seed}-{i}@example.org>"]
    broken = i % 97
    lines = rnd.randint(5, 150)
    parts = []
    if big_mb:
        cte, body = text_body(rnd, "utf-8", 20)
        att = b64lines(rnd.randbytes(big_mb * 1024 * 1024 * 3 // 4))
        parts = ["MIME-Version: 1.0", 'Content-Type: multipart/mixed; boundary="big-b"', "",
                 "--big-b", "Content-Type: text/plain; charset=utf-8",
                 f"Content-Transfer-Encoding: {cte}", ""]
        head = "\n".join(h + parts).encode() + b"\n"
        tail = (b"--big-b\nContent-Type: application/octet-stream; name=\"big.bin\"\n"
                b"Content-Disposition: attachment; filename=\"big.bin\"\n"
                b"Content-Transfer-Encoding: base64\n\n" + att + b"--big-b--\n")
        return t, tz, "S", head + body + b"\n" + tail
    if broken == 7:
        # No Content-Type (nor MIME-Version): readers must assume text/plain.
        cte, body = text_body(rnd, "utf-8", lines)
        data = "\n".join(h).encode() + b"\n\n" + body
    elif i % 10 == 0 or broken in (5, 6):
        cte, body = text_body(rnd, charset, lines)
        att = rnd.randbytes(rnd.randint(1000, 30000))
        enc = b64lines(att)
        if broken == 6:
            enc = enc[:40] + b"!!not*base64$$\n" + enc[40:-5] + b"=\n"
        fname = 'filename="report-%d.bin"' % i
        if i % 20 == 0:
            fname = "filename*=utf-8''r%C3%A9sum%C3%A9-" + str(i) + ".pdf"
        end = b"" if broken == 5 else b"--b1--\n"
        data = ("\n".join(h + ["MIME-Version: 1.0",
                               'Content-Type: multipart/mixed; boundary="b1"', "",
                               "This is a multi-part message in MIME format.",
                               "--b1", f"Content-Type: text/plain; charset={charset}",
                               f"Content-Transfer-Encoding: {cte}", ""]).encode() + b"\n" +
                body + b"\n--b1\nContent-Type: application/octet-stream\n" +
                f"Content-Disposition: attachment; {fname}\n".encode() +
                b"Content-Transfer-Encoding: base64\n\n" + enc + end)
    elif i % 11 == 0:
        data = ("\n".join(h + ["MIME-Version: 1.0",
                               f"Content-Type: text/html; charset={charset}",
                               "Content-Transfer-Encoding: 8bit", ""]).encode() + b"\n" +
                html_of(rnd, charset))
    elif i % 13 == 0:
        cte, body = text_body(rnd, charset, lines)
        data = ("\n".join(h + ["MIME-Version: 1.0",
                               'Content-Type: multipart/alternative; boundary="alt-1"', "",
                               "--alt-1", f"Content-Type: text/plain; charset={charset}",
                               f"Content-Transfer-Encoding: {cte}", ""]).encode() + b"\n" +
                body + b"\n--alt-1\n" +
                f"Content-Type: text/html; charset={charset}\n".encode() +
                b"Content-Transfer-Encoding: 8bit\n\n" + html_of(rnd, charset) +
                b"--alt-1--\n")
    else:
        cte, body = text_body(rnd, charset, lines)
        data = ("\n".join(h + ["MIME-Version: 1.0",
                               f"Content-Type: text/plain; charset={charset}",
                               f"Content-Transfer-Encoding: {cte}", ""]).encode() + b"\n" + body)
    flags = ""
    if i % 9 == 0:
        flags += "R"
    if i % 7 != 0:
        flags += "S"
    if i % 5 == 0:
        flags = "F" + flags
    flags = "".join(sorted(flags))
    if i % 17 == 0:
        flags += "a"
    if i % 19 == 0:
        flags += "b"
    return t, tz, flags, data


def write_maildir(md, items, manifest, folder):
    for s in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(md, s), exist_ok=True)
    with open(os.path.join(md, "dovecot-keywords"), "w") as f:
        for k, kw in enumerate(KEYWORDS):
            f.write(f"{k} {kw}\n")
    for i, (t, tz, flags, data) in items:
        name = f"{t}.M{i}P1.coffer-gen,S={len(data)}:2,{flags}"
        p = os.path.join(md, "cur", name)
        with open(p, "wb") as f:
            f.write(data)
        os.utime(p, (t, t))  # mtime = INTERNALDATE
        if manifest is not None:
            manifest.write(json.dumps({"n": i, "folder": folder, "file": p, "flags": flags,
                                       "internaldate": t, "size_crlf": len(data) + data.count(b"\n")}) + "\n")


def folder_dir(root, folder):
    return root if folder == "INBOX" else os.path.join(root, "." + folder)


def main():
    ap = argparse.ArgumentParser(description="deterministic test mail")
    ap.add_argument("mode", choices=["maildir", "corpus", "mbox"])
    ap.add_argument("n", type=int)
    ap.add_argument("dest")
    ap.add_argument("--start", type=int, default=1)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--big-mb", type=int, default=None)
    ap.add_argument("--manifest")
    a = ap.parse_args()
    man = open(a.manifest, "w") if a.manifest else None
    if a.mode == "maildir":
        items = [(i, message(a.seed, i)) for i in range(a.start, a.start + a.n)]
        if a.big_mb:
            j = a.start + a.n
            items.append((j, message(a.seed, j, a.big_mb)))
        write_maildir(a.dest, items, man, os.path.basename(a.dest))
    elif a.mode == "corpus":
        pick = random.Random(f"{a.seed}:folders")
        names = [f for f, _ in FOLDERS]
        weights = [w for _, w in FOLDERS]
        by_folder = {f: [] for f in names}
        for i in range(a.start, a.start + a.n):
            by_folder[pick.choices(names, weights)[0]].append((i, message(a.seed, i)))
        big = 20 if a.big_mb is None else a.big_mb
        if big:
            j = a.start + a.n
            by_folder["INBOX"].append((j, message(a.seed, j, big)))
        for f in names:
            md = folder_dir(a.dest, f)
            write_maildir(md, by_folder[f], man, f)
            if f != "INBOX":
                open(os.path.join(md, "maildirfolder"), "w").close()
        for f in EMPTY_FOLDERS:
            write_maildir(folder_dir(a.dest, f), [], man, f)
            open(os.path.join(folder_dir(a.dest, f), "maildirfolder"), "w").close()
        # Dovecot lists only subscribed folders by default for LSUB, not for
        # LIST; nothing else to do.
    else:
        with open(a.dest, "wb") as f:
            for i in range(a.start, a.start + a.n):
                t, _, _, data = message(a.seed, i)
                lines = [(b">" + ln if ln.startswith(b"From ") else ln) for ln in data.split(b"\n")]
                f.write(b"From sender@example.org " + time.asctime(time.gmtime(t)).encode() + b"\n")
                f.write(b"\n".join(lines) + b"\n")
    if man:
        man.close()


if __name__ == "__main__":
    sys.exit(main())
