#!/usr/bin/env python3
"""A tiny fake IMAP server for the ONE thing a real Dovecot cannot do:
send malformed or hostile replies (tests/e2e/imap.sh). Everything else in
the IMAP tests runs against a real Dovecot.

  imap_fake.py PORT MODE    serves connections one after another until killed

It greets, accepts any AUTHENTICATE PLAIN / LOGIN, answers CAPABILITY, and
answers LIST according to MODE:
  unterminated  a LIST reply whose list never closes
  badtag        a tagged reply with a tag that was never sent
  literal       a LIST reply announcing a literal of 99999999999 bytes
  nested        a LIST reply nested 100 lists deep
  silent        no reply at all (the client must time out)
  bye           "* BYE" and the connection closed
  cont          a "+" continuation nobody asked for
"""
import socket
import sys

port, mode = int(sys.argv[1]), sys.argv[2]
CAPS = b"IMAP4rev1 AUTH=PLAIN SASL-IR LITERAL+"


def serve(conn):
    f = conn.makefile("rb")
    conn.sendall(b"* OK [CAPABILITY " + CAPS + b"] fake server ready\r\n")
    while True:
        line = f.readline()
        if not line:
            return
        parts = line.rstrip(b"\r\n").split(b" ")
        tag, cmd = parts[0], (parts[1].upper() if len(parts) > 1 else b"")
        if cmd in (b"AUTHENTICATE", b"LOGIN"):
            conn.sendall(tag + b" OK [CAPABILITY " + CAPS + b"] logged in\r\n")
        elif cmd == b"CAPABILITY":
            conn.sendall(b"* CAPABILITY " + CAPS + b"\r\n" + tag + b" OK done\r\n")
        elif cmd == b"LOGOUT":
            conn.sendall(b"* BYE bye\r\n" + tag + b" OK done\r\n")
            return
        elif cmd == b"LIST":
            if mode == "unterminated":
                conn.sendall(b'* LIST (\\HasNoChildren "." INBOX\r\n' + tag + b" OK done\r\n")
            elif mode == "badtag":
                conn.sendall(b"X999 OK not yours\r\n")
            elif mode == "literal":
                conn.sendall(b'* LIST () "." {99999999999}\r\n')
            elif mode == "nested":
                conn.sendall(b"* LIST " + b"(" * 100 + b")" * 100 + b' "." INBOX\r\n' +
                             tag + b" OK done\r\n")
            elif mode == "silent":
                pass
            elif mode == "bye":
                conn.sendall(b"* BYE fake server shutting down\r\n")
                return
            elif mode == "cont":
                conn.sendall(b"+ surprise\r\n")
        else:
            conn.sendall(tag + b" BAD unknown\r\n")


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(4)
while True:
    c, _ = s.accept()
    try:
        serve(c)
    except OSError:
        pass
    finally:
        c.close()
