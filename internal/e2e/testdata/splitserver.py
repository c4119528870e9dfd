#!/usr/bin/env python3
"""A scripted plain FTP server whose downloads arrive in two packets (stdlib only).

usage: splitserver.py USER PASS PORT FIRST SECOND ADDR...

It listens on PORT of every ADDR and serves one file, split.bin: the bytes of the file
FIRST, then those of SECOND. Each part goes in one send() on a data socket with
TCP_NODELAY, with a pause between them, so the two parts cross the network in separate
packets: a pattern that begins at the end of FIRST and ends at the start of SECOND is
split between two packets. Passive mode only (PASV, EPSV). Every command received goes to
stderr as "<- LINE"; "ready" once all listeners are bound.
"""
import socket
import sys
import threading
import time

USER, PASS, PORT = sys.argv[1], sys.argv[2], int(sys.argv[3])
FIRST = open(sys.argv[4], "rb").read()
SECOND = open(sys.argv[5], "rb").read()
ADDRS = sys.argv[6:]
NAME = "split.bin"
PAUSE = 0.3


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Session:
    def __init__(self, sock):
        self.sock, self.buf, self.logged, self.user, self.pasv = sock, b"", False, None, None
        self.local = sock.getsockname()[0]
        self.v6 = sock.family == socket.AF_INET6

    def send(self, line):
        self.sock.sendall(line.encode() + b"\r\n")

    def readline(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk or len(self.buf) > 8192:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("latin-1")

    def run(self):
        self.send("220 ftpgate scripted split server")
        while True:
            line = self.readline()
            if line is None:
                return
            log("<- " + ("PASS ****" if line.upper().startswith("PASS ") else line))
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if verb == "QUIT":
                self.send("221 Goodbye.")
                return
            h = getattr(self, "do_" + verb, None)
            if h is None:
                self.send("502 Command not implemented.")
            elif not self.logged and verb not in ("USER", "PASS", "FEAT", "SYST", "NOOP"):
                self.send("530 Please login with USER and PASS.")
            else:
                h(arg.strip())

    def do_USER(self, arg):
        self.user = arg
        self.send("331 Please specify the password.")

    def do_PASS(self, arg):
        self.logged = self.user == USER and arg == PASS
        self.send("230 Login successful." if self.logged else "530 Login incorrect.")

    def do_FEAT(self, arg):
        for line in ("211-Features:", " EPSV", " PASV", " SIZE", "211 End"):
            self.send(line)

    def do_SYST(self, arg):
        self.send("215 UNIX Type: L8")

    def do_NOOP(self, arg):
        self.send("200 NOOP ok.")

    def do_PWD(self, arg):
        self.send('257 "/" is the current directory')

    def do_CWD(self, arg):
        self.send("250 Directory successfully changed.")

    def do_TYPE(self, arg):
        self.send("200 Type set.")

    def do_SIZE(self, arg):
        if arg.lstrip("/") == NAME:
            self.send("213 %d" % (len(FIRST) + len(SECOND)))
        else:
            self.send("550 Could not get file size.")

    def listen(self):
        if self.pasv is not None:
            self.pasv.close()
        self.pasv = socket.socket(socket.AF_INET6 if self.v6 else socket.AF_INET, socket.SOCK_STREAM)
        self.pasv.bind((self.local, 0))
        self.pasv.listen(1)
        self.pasv.settimeout(10)
        return self.pasv.getsockname()[1]

    def do_PASV(self, arg):
        if self.v6:
            self.send("522 Use EPSV.")
            return
        port = self.listen()
        h = self.local.replace(".", ",")
        self.send("227 Entering Passive Mode (%s,%d,%d)." % (h, port >> 8, port & 255))

    def do_EPSV(self, arg):
        self.send("229 Entering Extended Passive Mode (|||%d|)" % self.listen())

    def do_RETR(self, arg):
        if arg.lstrip("/") != NAME or self.pasv is None:
            self.send("550 Failed to open file.")
            return
        try:
            conn, _ = self.pasv.accept()
        except OSError:
            self.send("425 No data connection.")
            return
        self.send("150 Opening BINARY mode data connection for %s." % NAME)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.settimeout(10)
        try:
            conn.sendall(FIRST)
            time.sleep(PAUSE)
            conn.sendall(SECOND)
            conn.shutdown(socket.SHUT_WR)
            conn.recv(1)
            self.send("226 Transfer complete.")
        except OSError as e:
            self.send("426 Connection closed; transfer aborted (%s)." % e)
        finally:
            conn.close()


def serve(ls):
    while True:
        c, _ = ls.accept()
        c.settimeout(60)
        threading.Thread(target=lambda: Session(c).run(), daemon=True).start()


for a in ADDRS:
    fam = socket.AF_INET6 if ":" in a else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a, PORT))
    ls.listen(8)
    threading.Thread(target=serve, args=(ls,), daemon=True).start()
log("ready")
while True:
    time.sleep(3600)
