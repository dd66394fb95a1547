#!/usr/bin/env python3
"""An HTTP proxy in front of radosgw for tests/e2e/s3.sh: it passes every
request through unchanged (Host kept, so SigV4 signatures still verify) but
answers 503 SlowDown to every PUT of one pack: the Nth distinct pack name
PUT through it. That is one upload failing among many in flight, which
radosgw itself cannot be made to do.

usage: s3_proxy.py LISTEN_PORT UPSTREAM_PORT N FAILED_NAME_FILE
The name of the pack it refuses is written to FAILED_NAME_FILE."""
import http.client
import http.server
import sys
import threading

listen, upstream, nth, name_file = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
lock = threading.Lock()
seen = []
failing = None
HOP = {"connection", "keep-alive", "expect", "transfer-encoding", "proxy-connection"}


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def refuse(self):
        body = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
                b'<Message>injected by s3_proxy.py</Message></Error>')
        self.send_response(503)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def relay(self):
        global failing
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        path = self.path.split("?")[0]
        if self.command == "PUT" and "/packs/" in path:
            with lock:
                if path not in seen:
                    seen.append(path)
                    if len(seen) == nth:
                        failing = path
                        with open(name_file, "w") as f:
                            f.write(path.rsplit("/", 1)[1] + "\n")
                refuse = path == failing
            if refuse:
                self.refuse()
                return
        conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        self.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in HOP and (k.lower() != "content-length" or self.command == "HEAD"):
                self.send_header(k, v)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = relay


http.server.ThreadingHTTPServer(("127.0.0.1", listen), Proxy).serve_forever()
