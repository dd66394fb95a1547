#!/usr/bin/env python3
"""Look at and change a mailbox of the test Dovecot with imaplib, a client
independent of coffer's (tests/e2e/mail.sh, tests/e2e/mailsvc.sh).

  imapcheck.py PORT USER CMD [ARGS...]

USER logs in on 127.0.0.1:PORT, clear text, password "secret"
(tests/servers/dovecot.sh). A message is known by its UID, the sha256 of
its bytes, its flags (sorted, without \\Recent) and its internal date; a
folder's state is the sorted [sha256, flags, date] of its messages.

  state FILE                  save every folder's state (JSON)
  folders                     the selectable folders, one a line
  count FOLDER                how many messages the folder holds
  total                       messages in every folder (STATUS)
  from ADDR [PREFIX]          messages whose From holds ADDR (SEARCH FROM),
                              in the folders starting with PREFIX (all without)
  uid FOLDER INDEX            the UID of the INDEX-th message (from 0)
  uidvalidity FOLDER          the folder's UIDVALIDITY
  expunge FOLDER N [STEP]     expunge N messages, every STEP-th (default 1)
                              from the first; prints how many
  expunge_biggest FOLDER      expunge the largest message
  flags FOLDER N OP LIST [STEP [FIRST]]
                              UID STORE OP.SILENT LIST (e.g. -FLAGS "(\\Seen)")
                              on N messages, every STEP-th (default 3) from
                              the FIRST-th (default 0)
  move FROM TO N              move N messages, every 2nd; prints how many
  delete FOLDER               delete the folder
  compare WANT.json [PREFIX] [--subset] [--counts]
                              the live folders (each saved folder F as
                              PREFIX + F) hold exactly the saved messages
                              (--subset: at least them); else says what
                              differs, at most 4 folders, and exits 1: the
                              first message a folder lacks and how many it
                              has too many, or with --counts how many it has,
                              how many it should have and how many of those
                              it lacks
  extra WANT.json FOLDER      live messages of FOLDER beyond the saved ones
"""
import hashlib, imaplib, json, re, sys

port, user, cmd, args = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]


def q(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def folders(m):
    out = []
    for line in m.list()[1]:
        mm = re.match(rb'\((.*?)\) (?:"(?:\\.|.)"|NIL) (.*)$', line)
        attrs, name = mm.group(1), mm.group(2)
        if name.startswith(b'"'):
            name = name[1:-1].replace(b'\\"', b'"').replace(b'\\\\', b'\\')
        if b"\\Noselect" in attrs or b"\\NonExistent" in attrs:
            continue
        out.append(name.decode())
    return sorted(out)


def messages(m, folder):
    """(uid, sha256 of the bytes, flags, internal date) of every message."""
    typ, _ = m.select(q(folder), readonly=True)
    assert typ == "OK", folder
    typ, data = m.uid("FETCH", "1:*", "(FLAGS INTERNALDATE BODY.PEEK[])")
    out = []
    for item in data:
        if not isinstance(item, tuple):
            continue
        meta = item[0]
        uid = int(re.search(rb"UID (\d+)", meta).group(1))
        flags = re.search(rb"FLAGS \(([^)]*)\)", meta).group(1).decode().split()
        flags = " ".join(sorted(f for f in flags if f != "\\Recent"))
        date = re.search(rb'INTERNALDATE "([^"]+)"', meta).group(1).decode()
        out.append((uid, hashlib.sha256(item[1]).hexdigest(), flags, date))
    return out


def state(m):
    return {f: sorted([x[1], x[2], x[3]] for x in messages(m, f)) for f in folders(m)}


def uids(m, folder, n, step=1, first=0):
    """n UIDs of the folder, every step-th from the first-th."""
    return [str(x[0]) for x in messages(m, folder)][first::step][:n]


def compare(m, want, prefix, subset, counts):
    """What differs between the live folders and the saved state: a list."""
    live = state(m)
    bad = []
    for f, msgs in sorted(want.items()):
        name = prefix + f
        got = live.get(name)
        if got is None:
            bad.append(f"{name}: missing")
        elif counts:
            if got != msgs:
                bad.append(f"{name}: {len(got)} messages, want {len(msgs)} "
                           f"({sum(1 for x in msgs if x not in got)} lacking or different)")
        else:
            extra = list(got)
            for x in msgs:
                if x in extra:
                    extra.remove(x)
                else:
                    bad.append(f"{name}: lacks {x[0][:12]} {x[1]!r} {x[2]}")
                    break
            if extra and not subset:
                bad.append(f"{name}: {len(extra)} messages too many")
    return bad


m = imaplib.IMAP4("127.0.0.1", port)
m.login(user, "secret")
if cmd == "state":
    json.dump(state(m), open(args[0], "w"), indent=0, sort_keys=True)
elif cmd == "folders":
    print("\n".join(folders(m)))
elif cmd == "count":
    print(len(messages(m, args[0])))
elif cmd == "from":
    # from ADDR [PREFIX]: messages whose From holds ADDR, in the folders
    # whose name starts with PREFIX (all without).
    n = 0
    for f in folders(m):
        if len(args) > 1 and not f.startswith(args[1]):
            continue
        m.select(q(f), readonly=True)
        n += len(m.uid("SEARCH", "FROM", q(args[0]))[1][0].split())
    print(n)
elif cmd == "total":
    print(sum(int(re.search(rb"MESSAGES (\d+)", m.status(q(f), "(MESSAGES)")[1][0]).group(1))
              for f in folders(m)))
elif cmd == "uid":
    print(messages(m, args[0])[int(args[1])][0])
elif cmd == "uidvalidity":
    typ, data = m.status(q(args[0]), "(UIDVALIDITY)")
    print(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1).decode())
elif cmd == "expunge":
    s = uids(m, args[0], int(args[1]), int(args[2]) if len(args) > 2 else 1)
    m.select(q(args[0]))
    m.uid("STORE", ",".join(s), "+FLAGS.SILENT", "(\\Deleted)")
    m.expunge()
    print(len(s))
elif cmd == "expunge_biggest":
    m.select(q(args[0]))
    typ, data = m.uid("FETCH", "1:*", "(RFC822.SIZE)")
    sizes = [(int(re.search(rb"RFC822.SIZE (\d+)", d).group(1)),
              re.search(rb"UID (\d+)", d).group(1).decode()) for d in data if d]
    m.uid("STORE", max(sizes)[1], "+FLAGS.SILENT", "(\\Deleted)")
    m.expunge()
elif cmd == "flags":
    s = uids(m, args[0], int(args[1]), int(args[4]) if len(args) > 4 else 3,
             int(args[5]) if len(args) > 5 else 0)
    m.select(q(args[0]))
    m.uid("STORE", ",".join(s), args[2] + ".SILENT", args[3])
elif cmd == "move":
    s = uids(m, args[0], int(args[2]), 2)
    m.select(q(args[0]))
    typ, data = m.uid("MOVE", ",".join(s), q(args[1]))
    assert typ == "OK", data
    print(len(s))
elif cmd == "delete":
    typ, data = m.delete(q(args[0]))
    assert typ == "OK", data
elif cmd == "compare":
    words = [a for a in args[1:] if not a.startswith("--")]
    bad = compare(m, json.load(open(args[0])), words[0] if words else "",
                  "--subset" in args, "--counts" in args)
    if bad:
        print("; ".join(bad[:4]))
        sys.exit(1)
elif cmd == "extra":
    want = json.load(open(args[0]))
    got = state(m).get(args[1], [])
    print(len(got) - len(want.get(args[1], [])))
else:
    sys.exit(f"imapcheck.py: unknown command {cmd!r}")
m.logout()
