#!/usr/bin/env python3
"""A small scripted explicit-FTPS server for ftpgate's TLS guard tests (stdlib only).

usage: ftpsserver.py MODE USER PASS SIZE CERT_A KEY_A CERT_B KEY_B ADDR...

It listens on port 21 of every ADDR (one thread each, one thread per session) and serves
one in-memory file, small.bin, of SIZE bytes: bytes(i % 251 for i in range(SIZE)).
Passive mode only (PASV, EPSV); the data port is an ephemeral port of the control
connection's local address. MODE is one of:

  normal    AUTH TLS with certificate A; PBSZ/PROT; data connections use certificate A too
  swapcert  like normal, but protected data connections present certificate B (a context
            of its own, so a session of A is never resumed there)
  noauth    AUTH TLS/SSL answered "504 AUTH not supported here."; plain FTP only

Every command received goes to stderr as "<- LINE" (PASS masked), every reply as
"-> LINE"; "ready" once all listeners are bound. Every socket has a timeout.
"""
import socket
import ssl
import sys
import threading

MODE, USER, PASS = sys.argv[1:4]
SIZE = int(sys.argv[4])
CERT_A, KEY_A, CERT_B, KEY_B = sys.argv[5:9]
ADDRS = sys.argv[9:]
DATA = bytes(i % 251 for i in range(SIZE))
NAME = "small.bin"
CONTROL_TIMEOUT = 60
DATA_TIMEOUT = 10


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


CTX_A = context(CERT_A, KEY_A)
CTX_B = context(CERT_B, KEY_B) if MODE == "swapcert" else CTX_A


class Session:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.tls = False
        self.prot = "C"
        self.user = None
        self.logged = False
        self.pasv = None
        self.rest = 0
        self.local = sock.getsockname()[0]
        self.v6 = sock.family == socket.AF_INET6

    def send(self, line):
        log("-> " + line)
        self.sock.sendall(line.encode() + b"\r\n")

    def readline(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                return None
            self.buf += chunk
            if len(self.buf) > 8192:
                return None
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("latin-1")

    def run(self):
        self.send("220 ftpgate scripted FTPS server (%s)" % MODE)
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
            handler = getattr(self, "do_" + verb, None)
            if handler is None:
                self.send("502 Command not implemented.")
            elif not self.logged and verb not in ("AUTH", "PBSZ", "PROT", "USER", "PASS", "FEAT", "SYST", "NOOP", "OPTS"):
                self.send("530 Please login with USER and PASS.")
            else:
                handler(arg.strip())

    # --- security (RFC 4217) ---
    def do_AUTH(self, arg):
        if MODE == "noauth":
            self.send("504 AUTH not supported here.")
            return
        if arg.upper() not in ("TLS", "SSL", "TLS-C"):
            self.send("504 Unknown AUTH type.")
            return
        if self.tls:
            self.send("503 Already using TLS.")
            return
        if self.buf:
            self.send("503 Data after AUTH.")
            return
        self.send("234 Proceed with negotiation.")
        self.sock = CTX_A.wrap_socket(self.sock, server_side=True)
        self.tls = True

    def do_PBSZ(self, arg):
        if MODE == "noauth":
            self.send("502 Command not implemented.")
        elif not self.tls:
            self.send("503 PBSZ needs a secure connection.")
        else:
            self.send("200 PBSZ set to 0.")

    def do_PROT(self, arg):
        if MODE == "noauth":
            self.send("502 Command not implemented.")
        elif not self.tls:
            self.send("503 PROT needs a secure connection.")
        elif arg.upper() in ("C", "P"):
            self.prot = arg.upper()
            self.send("200 PROT now %s." % ("Private" if self.prot == "P" else "Clear"))
        else:
            self.send("536 PROT level not supported.")

    # --- login and small talk ---
    def do_USER(self, arg):
        self.user, self.logged = arg, False
        self.send("331 Please specify the password.")

    def do_PASS(self, arg):
        if self.user == USER and arg == PASS:
            self.logged = True
            self.send("230 Login successful.")
        else:
            self.send("530 Login incorrect.")

    def do_FEAT(self, arg):
        feats = [] if MODE == "noauth" else [" AUTH TLS", " PBSZ", " PROT"]
        feats += [" EPSV", " PASV", " REST STREAM", " SIZE", " UTF8"]
        for line in ["211-Features:"] + feats + ["211 End"]:
            self.send(line)

    def do_SYST(self, arg):
        self.send("215 UNIX Type: L8")

    def do_NOOP(self, arg):
        self.send("200 NOOP ok.")

    def do_OPTS(self, arg):
        self.send("200 Always in UTF8 mode." if arg.upper().startswith("UTF8") else "501 Option not understood.")

    def do_TYPE(self, arg):
        self.send("200 Type set to %s." % arg.upper()[:1] if arg.upper()[:1] in ("A", "I") else "504 Bad TYPE.")

    def do_MODE(self, arg):
        self.send("200 Mode set to S." if arg.upper() == "S" else "504 Bad MODE.")

    def do_STRU(self, arg):
        self.send("200 Structure set to F." if arg.upper() == "F" else "504 Bad STRU.")

    def do_PWD(self, arg):
        self.send('257 "/" is the current directory')

    def do_CWD(self, arg):
        self.send("250 Directory successfully changed.")

    def do_SIZE(self, arg):
        self.send("213 %d" % SIZE if arg.lstrip("/") == NAME else "550 Could not get file size.")

    def do_MDTM(self, arg):
        self.send("213 20240101000000" if arg.lstrip("/") == NAME else "550 Could not get file modification time.")

    def do_REST(self, arg):
        try:
            self.rest = max(0, int(arg))
            self.send("350 Restart position accepted (%d)." % self.rest)
        except ValueError:
            self.send("501 Bad REST.")

    def do_ABOR(self, arg):
        self.send("225 No transfer to abort.")

    # --- passive mode ---
    def listen(self):
        if self.pasv is not None:
            self.pasv.close()
        self.pasv = socket.socket(socket.AF_INET6 if self.v6 else socket.AF_INET, socket.SOCK_STREAM)
        self.pasv.bind((self.local, 0))
        self.pasv.listen(1)
        self.pasv.settimeout(DATA_TIMEOUT)
        return self.pasv.getsockname()[1]

    def do_PASV(self, arg):
        if self.v6:
            self.send("522 PASV on IPv6: use EPSV.")
            return
        port = self.listen()
        self.send("227 Entering Passive Mode (%s,%d,%d)." % (self.local.replace(".", ","), port >> 8, port & 255))

    def do_EPSV(self, arg):
        if arg.upper() == "ALL":
            self.send("200 EPSV ALL ok.")
            return
        self.send("229 Entering Extended Passive Mode (|||%d|)." % self.listen())

    def do_PORT(self, arg):
        self.send("502 Active mode not supported here.")

    do_EPRT = do_PORT

    # --- transfers ---
    def transfer(self, payload, what):
        if self.pasv is None:
            self.send("425 Use PASV or EPSV first.")
            return
        listener, self.pasv = self.pasv, None
        self.send("150 Opening BINARY mode data connection for %s (%d bytes)." % (what, len(payload)))
        try:
            conn, peer = listener.accept()
        except OSError as e:
            self.send("425 Failed to establish connection: %s." % e)
            return
        finally:
            listener.close()
        conn.settimeout(DATA_TIMEOUT)
        log("data connection from %s (PROT %s)" % (peer[0], self.prot))
        try:
            if self.prot == "P":
                conn = CTX_B.wrap_socket(conn, server_side=True)
                log("data TLS %s resumed=%s" % (conn.version(), conn.session_reused))
            conn.sendall(payload)
            if self.prot == "P":
                try:
                    conn = conn.unwrap()
                except OSError:
                    pass
        except OSError as e:
            log("data connection failed: %s" % e)
            conn.close()
            self.send("426 Data connection failed: %s." % str(e).replace("\r", " ").replace("\n", " ")[:120])
            return
        conn.close()
        self.send("226 Transfer complete.")

    def do_RETR(self, arg):
        if arg.lstrip("/") != NAME:
            self.send("550 Failed to open file.")
            return
        rest, self.rest = self.rest, 0
        self.transfer(DATA[rest:], NAME)

    def do_LIST(self, arg):
        self.transfer(("-rw-r--r--    1 ftp      ftp      %8d Jan 01  2024 %s\r\n" % (SIZE, NAME)).encode(), "directory listing")

    def do_NLST(self, arg):
        self.transfer((NAME + "\r\n").encode(), "name list")

    def do_MLSD(self, arg):
        self.transfer(("type=file;size=%d;modify=20240101000000; %s\r\n" % (SIZE, NAME)).encode(), "MLSD")

    def do_STOR(self, arg):
        self.send("553 Uploads are not supported here.")

    do_APPE = do_STOU = do_STOR


def serve(conn):
    conn.settimeout(CONTROL_TIMEOUT)
    try:
        Session(conn).run()
    except OSError as e:
        log("session ended: %s" % e)
    finally:
        conn.close()


def accept_loop(listener):
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


def main():
    listeners = []
    for addr in ADDRS:
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, 21))
        s.listen(16)
        listeners.append(s)
    for s in listeners[1:]:
        threading.Thread(target=accept_loop, args=(s,), daemon=True).start()
    log("ready")
    accept_loop(listeners[0])


if __name__ == "__main__":
    main()
