#!/usr/bin/env python3
"""A read-only WebDAV server that lists a folder the way ownCloud and
Nextcloud do, for tests of what only they offer (no Debian package runs
either here):

    ocdav.py PORT ROOT LOG

Serves ROOT at http://127.0.0.1:PORT/remote.php/dav/files/alice/ with
Basic auth alice:secret. PROPFIND (Depth 0 or 1; any body: it answers the
same properties) gives each resource getetag, getlastmodified,
getcontentlength (files), resourcetype and oc:fileid (the inode), and
gives collections an ETag that changes whenever anything below them
changes (ownCloud's ETag propagation: a hash of every descendant's name,
size and mtime). GET serves files with their ETag. Every request is
appended to LOG as "METHOD PATH STATUS". Prints "ready" once listening.
"""
import base64
import email.utils
import hashlib
import http.server
import os
import sys
import urllib.parse
from xml.sax.saxutils import escape

PREFIX = "/remote.php/dav/files/alice/"
AUTH = "Basic " + base64.b64encode(b"alice:secret").decode()


def file_etag(st):
    return '"%x-%x"' % (st.st_size, st.st_mtime_ns)


def tree_etag(path):
    """Changes with any descendant: ownCloud propagates ETags upwards."""
    h = hashlib.sha1()
    for d, dirs, files in sorted(os.walk(path)):
        dirs.sort()
        for name in sorted(dirs + files):
            st = os.stat(os.path.join(d, name))
            h.update(("%s/%s %d %d\n" % (os.path.relpath(d, path), name, st.st_size,
                                         st.st_mtime_ns)).encode())
    return '"%s"' % h.hexdigest()[:20]


def response(href, path):
    st = os.stat(path)
    props = ["<d:getlastmodified>%s</d:getlastmodified>" %
             email.utils.formatdate(st.st_mtime, usegmt=True),
             "<oc:fileid>%d</oc:fileid>" % st.st_ino]
    if os.path.isdir(path):
        props += ["<d:resourcetype><d:collection/></d:resourcetype>",
                  "<d:getetag>%s</d:getetag>" % tree_etag(path)]
    else:
        props += ["<d:resourcetype/>", "<d:getetag>%s</d:getetag>" % file_etag(st),
                  "<d:getcontentlength>%d</d:getcontentlength>" % st.st_size]
    return ("<d:response><d:href>%s</d:href><d:propstat><d:prop>%s</d:prop>"
            "<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>" %
            (escape(urllib.parse.quote(href)), "".join(props)))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", headers=()):
        with open(self.server.log, "a") as f:
            f.write("%s %s %d\n" % (self.command, self.path, status))
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def local(self):
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        if not path.startswith(PREFIX.rstrip("/")):
            return None
        rel = path[len(PREFIX):].strip("/")
        if ".." in rel.split("/"):
            return None
        return os.path.join(self.server.root, rel) if rel else self.server.root

    def begin(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        if self.headers.get("Authorization") != AUTH:
            self.answer(401, b"", [("WWW-Authenticate", 'Basic realm="oc"')])
            return None
        path = self.local()
        if path is None or not os.path.exists(path):
            self.answer(404)
            return None
        return path

    def do_PROPFIND(self):
        path = self.begin()
        if path is None:
            return
        href = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        parts = [response(href, path)]
        if os.path.isdir(path) and self.headers.get("Depth", "1") != "0":
            base = href if href.endswith("/") else href + "/"
            for name in sorted(os.listdir(path)):
                sub = os.path.join(path, name)
                parts.append(response(base + name + ("/" if os.path.isdir(sub) else ""), sub))
        body = ('<?xml version="1.0"?><d:multistatus xmlns:d="DAV:" '
                'xmlns:oc="http://owncloud.org/ns">%s</d:multistatus>' % "".join(parts))
        self.answer(207, body.encode(), [("Content-Type", "application/xml; charset=utf-8")])

    def do_GET(self):
        path = self.begin()
        if path is None:
            return
        if os.path.isdir(path):
            self.answer(405)
            return
        with open(path, "rb") as f:
            data = f.read()
        self.answer(200, data, [("ETag", file_etag(os.stat(path)))])


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    srv.root, srv.log = os.path.abspath(sys.argv[2]), sys.argv[3]
    print("ready", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
