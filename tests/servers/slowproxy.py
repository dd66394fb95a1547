#!/usr/bin/env python3
"""A TCP proxy that makes a network path slow, for tests.

    slowproxy.py LISTEN_PORT TARGET_HOST:TARGET_PORT DELAY_FILE

Forwards every connection on 127.0.0.1:LISTEN_PORT to the target. Before
passing on each chunk (at most 16 KiB) in either direction it sleeps the
number of milliseconds written in DELAY_FILE (read again for every chunk,
so a test slows the path down or heals it while connections are open; a
missing or unreadable file means no delay). Prints "ready" once listening.
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


def pump(src, dst, delay_file):
    try:
        while True:
            data = src.recv(CHUNK)
            if not data:
                break
            ms = delay_ms(delay_file)
            if ms:
                time.sleep(ms / 1000.0)
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(conn, target, delay_file):
    host, port = target.rsplit(":", 1)
    try:
        up = socket.create_connection((host, int(port)))
    except OSError:
        conn.close()
        return
    a = threading.Thread(target=pump, args=(conn, up, delay_file), daemon=True)
    b = threading.Thread(target=pump, args=(up, conn, delay_file), daemon=True)
    a.start()
    b.start()
    a.join()
    b.join()
    conn.close()
    up.close()


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    port, target, delay_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(64)
    print("ready", flush=True)
    while True:
        conn, _ = ls.accept()
        threading.Thread(target=serve, args=(conn, target, delay_file), daemon=True).start()


if __name__ == "__main__":
    main()
