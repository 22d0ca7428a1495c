#!/usr/bin/env python3
"""kaconns.py: hold N keep-alive connections that all stream at once (the RSS row of bench.py).

    kaconns.py HOST PORT N LISTFILE SECONDS

Opens N connections, each asking for a whole object of LISTFILE (lines "PATH SIZE", the large
objects) and reading it slowly: one recv of at most 16 KiB per connection per pass, so every
response stays in flight and the server holds N sending connections. A finished response is
followed by the next GET on the same connection (keep-alive). Prints "READY" once every
connection has its response headers, streams for SECONDS more, then prints one line
"DONE conns=.. responses=.. bytes=.. errors=.." and exits (0 when no connection failed).
Standard library only.
"""
import resource
import selectors
import socket
import sys
import time

RECV_BYTES = 16 * 1024


class Conn:
    def __init__(self, sock, path):
        self.sock = sock
        self.path = path
        self.head = b""
        self.left = None  # body bytes still to read; None while reading the head
        self.got_head = False

    def request(self, host):
        self.sock.sendall(
            f"GET {self.path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: kaconns\r\n\r\n".encode())
        self.head = b""
        self.left = None


def main():
    host, port, n, listfile, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
        sys.argv[4], float(sys.argv[5])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    paths = [line.split()[0] for line in open(listfile) if line.strip()]
    sel = selectors.DefaultSelector()
    conns = []
    hosthdr = f"{host}:{port}"
    for i in range(n):
        s = socket.create_connection((host, port), timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        c = Conn(s, paths[i % len(paths)])
        c.request(hosthdr)
        s.setblocking(False)
        conns.append(c)
        sel.register(s, selectors.EVENT_READ, c)

    responses = 0
    nbytes = 0
    errors = 0
    with_head = 0
    ready_at = None
    deadline_ready = time.monotonic() + 60
    while True:
        now = time.monotonic()
        if ready_at is None and (with_head == n or now > deadline_ready):
            ready_at = now
            print("READY", flush=True)
        if ready_at is not None and now - ready_at >= seconds:
            break
        for key, _ in sel.select(timeout=1.0):
            c = key.data
            try:
                data = c.sock.recv(RECV_BYTES)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                errors += 1
                sel.unregister(c.sock)
                c.sock.close()
                continue
            nbytes += len(data)
            if c.left is None:
                c.head += data
                end = c.head.find(b"\r\n\r\n")
                if end < 0:
                    continue
                status = c.head.split(b" ", 2)[1]
                length = 0
                for line in c.head[:end].split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        length = int(v.strip())
                if status not in (b"200", b"206"):
                    errors += 1
                if not c.got_head:
                    c.got_head = True
                    with_head += 1
                c.left = length - (len(c.head) - end - 4)
            else:
                c.left -= len(data)
            if c.left is not None and c.left <= 0:
                responses += 1
                c.sock.setblocking(True)
                c.request(hosthdr)
                c.sock.setblocking(False)
    for c in conns:
        c.sock.close()
    print(f"DONE conns={n} with_head={with_head} responses={responses} bytes={nbytes} "
          f"errors={errors}", flush=True)
    return 0 if errors == 0 and with_head == n else 1


if __name__ == "__main__":
    sys.exit(main())
