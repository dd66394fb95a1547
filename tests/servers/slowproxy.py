#!/usr/bin/env python3
"""A TCP proxy that makes a network path slow, for tests.

    slowproxy.py LISTEN_PORT TARGET_HOST:TARGET_PORT DELAY_FILE [FAIL_FILE [CUT_FILE]]

Forwards every connection on 127.0.0.1:LISTEN_PORT to the target. Before
passing on each chunk (at most 16 KiB) in either direction it sleeps the
number of milliseconds written in DELAY_FILE (read again for every chunk,
so a test slows the path down or heals it while connections are open; a
missing or unreadable file means no delay). Prints "ready" once listening.

With FAIL_FILE holding a number N > 0, the next N connections get no
target: the proxy reads the first chunk of the request, answers
"503 Service Unavailable" (Connection: close) and writes N - 1 back, so a
test makes a server fail transiently (a client that retries gets through
once N reaches 0).

With CUT_FILE holding a number N > 0 (read as each connection opens), the
server's side of that connection is cut after N bytes: the client gets
the first N bytes of what the server sent on it, then the connection
closes (a body truncated by a broken path or a dying server).
"""
import os
import socket
import sys
import threading
import time

CHUNK = 16 * 1024


def delay_ms(path):
    try:
        with open(path) as f:
            return max(0, int(f.read().strip() or "0"))
    except (OSError, ValueError):
        return 0


def pump(src, dst, delay_file, cut=0):
    sent = 0
    try:
        while True:
            data = src.recv(CHUNK)
            if not data:
                break
            ms = delay_ms(delay_file)
            if ms:
                time.sleep(ms / 1000.0)
            if cut and sent + len(data) >= cut:
                dst.sendall(data[:cut - sent])
                break
            dst.sendall(data)
            sent += len(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


FAIL_LOCK = threading.Lock()
UNAVAILABLE = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
               b"Content-Length: 24\r\nConnection: close\r\n\r\nslowproxy: try it later\n")


def take_failure(fail_file):
    """1 if this connection is to be answered 503 (the count goes down)."""
    if not fail_file:
        return False
    with FAIL_LOCK:
        n = delay_ms(fail_file)
        if n <= 0:
            return False
        with open(fail_file, "w") as f:
            f.write(str(n - 1))
        return True


def serve(conn, target, delay_file, fail_file=None, cut_file=None):
    if take_failure(fail_file):
        try:
            conn.recv(CHUNK)
            conn.sendall(UNAVAILABLE)
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        conn.close()
        return
    host, port = target.rsplit(":", 1)
    try:
        up = socket.create_connection((host, int(port)))
    except OSError:
        conn.close()
        return
    a = threading.Thread(target=pump, args=(conn, up, delay_file), daemon=True)
    cut = delay_ms(cut_file) if cut_file else 0
    b = threading.Thread(target=pump, args=(up, conn, delay_file, cut), daemon=True)
    a.start()
    b.start()
    a.join()
    b.join()
    conn.close()
    up.close()


def main():
    if len(sys.argv) not in (4, 5, 6):
        sys.exit(__doc__)
    port, target, delay_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    fail_file = sys.argv[4] if len(sys.argv) >= 5 and sys.argv[4] else None
    cut_file = sys.argv[5] if len(sys.argv) == 6 else None
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(64)
    print("ready", flush=True)
    while True:
        conn, _ = ls.accept()
        threading.Thread(target=serve, args=(conn, target, delay_file, fail_file, cut_file),
                         daemon=True).start()


if __name__ == "__main__":
    main()
