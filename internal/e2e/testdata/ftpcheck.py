#!/usr/bin/env python3
"""Negative checks through ftpgate with Python's ftplib; prints one JSON object per step.

usage: ftpcheck.py SERVER USER PASS bounce
       ftpcheck.py SERVER USER PASS intruder OTHER_ADDR FILE
       ftpcheck.py SERVER USER PASS activetheft PORT|EPRT FILE   (waits for a line on stdin before RETR)
       ftpcheck.py SERVER USER PASS hold SECONDS
       ftpcheck.py SERVER USER PASS family
       ftpcheck.py SERVER USER PASS session SOURCE_ADDR COMMAND...
       ftpcheck.py SERVER USER PASS abort BIG SMALL
       ftpcheck.py SERVER USER PASS wrongway BIG
       ftpcheck.py SERVER USER PASS activesource FILE
       ftpcheck.py SERVER USER PASS misc FILE
       ftpcheck.py SERVER USER PASS restart FILE
"""
import ftplib
import json
import re
import socket
import sys
import time


def say(**kw):
    print(json.dumps(kw), flush=True)


def login(server, user, password):
    ftp = ftplib.FTP(timeout=10)
    ftp.connect(server, 21)
    ftp.login(user, password)
    return ftp


def cmd(ftp, line):
    try:
        return ftp.sendcmd(line)
    except ftplib.all_errors as e:
        return str(e)


def pasv_port(reply):
    m = re.search(r"(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)", reply)
    return int(m.group(5)) * 256 + int(m.group(6))


def receive_active(ftp, ls):
    """After an active-mode RETR: accept the server's data connection on ls, read it to the
    end, then the final reply. Returns (bytes, peer, final reply)."""
    conn, peer = ls.accept()
    n = 0
    while True:
        b = conn.recv(1 << 16)
        if not b:
            break
        n += len(b)
    conn.close()
    final = ftp.getresp()
    if final.startswith("1"):  # the 150 before it
        final = ftp.getresp()
    return n, peer, final


def session(server, user, password, source, commands):
    """Greeting, login and commands from a chosen source address; every reply is a step."""
    ftp = ftplib.FTP(timeout=10, source_address=(source, 0))
    try:
        say(step="greeting", reply=ftp.connect(server, 21))
    except ftplib.all_errors as e:
        say(step="greeting", reply=str(e))
        return
    try:
        say(step="login", reply=ftp.login(user, password))
    except ftplib.all_errors as e:
        say(step="login", reply=str(e))
    for i, c in enumerate(commands):
        say(step=str(i), command=c, reply=cmd(ftp, c))
    try:
        ftp.quit()
    except ftplib.all_errors:
        pass


def main():
    server, user, password, what = sys.argv[1:5]
    v6 = ":" in server
    if what == "session":
        session(server, user, password, sys.argv[5], sys.argv[6:])
        return
    ftp = login(server, user, password)
    if what == "bounce":
        third = "2001:db8:2::9" if v6 else "203.0.113.9"
        if not v6:
            say(step="PORT", reply=cmd(ftp, "PORT 203,0,113,9,39,16"))
        say(step="EPRT", reply=cmd(ftp, "EPRT |%d|%s|10000|" % (2 if v6 else 1, third)))
        say(step="NOOP", reply=cmd(ftp, "NOOP"))
    elif what == "intruder":
        other, name = sys.argv[5], sys.argv[6]
        ftp.voidcmd("TYPE I")
        reply = cmd(ftp, "EPSV") if v6 else cmd(ftp, "PASV")
        port = int(re.search(r"\|\|\|(\d+)\|", reply).group(1)) if v6 else pasv_port(reply)
        say(step="passive", reply=reply, port=port)
        fam = socket.AF_INET6 if v6 else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.bind((other, 0))
        s.settimeout(1.5)
        try:
            s.connect((server, port))
            s.sendall(b"intruder")
            say(step="intruder", connected=True)
        except OSError as e:
            say(step="intruder", connected=False, error=str(e))
        finally:
            s.close()
        d = socket.create_connection((server, port), timeout=10)
        ftp.sendcmd("RETR " + name)
        n = 0
        while True:
            b = d.recv(1 << 16)
            if not b:
                break
            n += len(b)
        d.close()
        say(step="client", bytes=n, reply=ftp.voidresp())
        # The pinhole was for one connection: the client's second connection to the same
        # port must be dropped at the box (a timeout), not reach the server (which refuses
        # it, its listener being closed).
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(1.5)
        try:
            s.connect((server, port))
            say(step="again", connected=True)
        except socket.timeout as e:
            say(step="again", connected=False, dropped=True, error=str(e))
        except OSError as e:
            say(step="again", connected=False, dropped=False, error=str(e))
        finally:
            s.close()
    elif what == "activetheft":
        # Active mode by hand; between the PORT/EPRT and the RETR the test lets a host on the
        # server side try the port the server was told. The real transfer must still work.
        mode, name = sys.argv[5], sys.argv[6]
        ftp.voidcmd("TYPE I")
        local = ftp.sock.getsockname()[0]
        ls = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_STREAM)
        ls.bind((local, 0))
        ls.listen(4)
        ls.settimeout(10)
        port = ls.getsockname()[1]
        if mode == "EPRT":
            line = "EPRT |%d|%s|%d|" % (2 if v6 else 1, local, port)
        else:
            line = "PORT %s,%d,%d" % (local.replace(".", ","), port >> 8, port & 255)
        say(step="active", reply=cmd(ftp, line))
        sys.stdin.readline()
        ftp.putcmd("RETR " + name)
        n, peer, final = receive_active(ftp, ls)
        conns = 1
        ls.settimeout(0.2)
        try:
            ls.accept()
            conns += 1
        except OSError:
            pass
        say(step="client", reply=final, bytes=n, connections=conns, peer=peer[0])
    elif what == "family":
        for c in ["PASV", "PORT 198,51,100,2,100,100", "EPSV 1", "EPRT |1|198.51.100.2|30000|"]:
            say(step=c.split()[0] + ("" if c.startswith(("PASV", "PORT")) else "-other"), reply=cmd(ftp, c))
        say(step="NOOP", reply=cmd(ftp, "NOOP"))
    elif what == "abort":
        big, small = sys.argv[5], sys.argv[6]
        ftp.voidcmd("TYPE I")
        conn = ftp.transfercmd("RETR " + big)
        got = 0
        while got < (4 << 20):
            b = conn.recv(1 << 16)
            if not b:
                break
            got += len(b)
        say(step="partial", bytes=got)
        try:
            first = ftp.abort()  # IAC IP, IAC DM and ABOR, urgent
            say(step="abort", reply=first)
            if first.startswith("426"):  # the RETR's reply; ABOR's own follows
                say(step="abort2", reply=ftp.getresp())
        except ftplib.all_errors as e:
            say(step="abort", reply=str(e))
        conn.close()
        say(step="NOOP", reply=cmd(ftp, "NOOP"))
        data = []
        ftp.retrbinary("RETR " + small, data.append)
        say(step="after", bytes=sum(len(d) for d in data))
    elif what == "wrongway":
        ftp.voidcmd("TYPE I")
        conn = ftp.transfercmd("RETR " + sys.argv[5])
        conn.sendall(b"bytes the wrong way")
        got = 0
        conn.settimeout(10)
        try:
            while True:
                b = conn.recv(1 << 16)
                if not b:
                    break
                got += len(b)
        except OSError as e:
            say(step="recv", error=str(e))
        conn.close()
        try:
            say(step="final", reply=ftp.voidresp())
        except ftplib.all_errors as e:
            say(step="final", reply=str(e))
        say(step="data", bytes=got)
        say(step="NOOP", reply=cmd(ftp, "NOOP"))
    elif what == "activesource":
        # Active mode by hand, to see where the data connection comes from.
        ftp.voidcmd("TYPE I")
        ls = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_STREAM)
        ls.bind((ftp.sock.getsockname()[0], 0))
        ls.listen(1)
        ls.settimeout(10)
        port = ls.getsockname()[1]
        if v6:
            say(step="EPRT", reply=cmd(ftp, "EPRT |2|%s|%d|" % (ftp.sock.getsockname()[0], port)))
        else:
            host = ftp.sock.getsockname()[0].replace(".", ",")
            say(step="PORT", reply=cmd(ftp, "PORT %s,%d,%d" % (host, port >> 8, port & 255)))
        ftp.putcmd("RETR " + sys.argv[5])
        n, peer, final = receive_active(ftp, ls)
        say(step="peer", addr=peer[0], port=peer[1])
        say(step="final", reply=final, bytes=n)
    elif what == "misc":
        name = sys.argv[5]
        import io
        say(step="SIZE", reply=cmd(ftp, "SIZE " + name))
        say(step="MDTM", reply=cmd(ftp, "MDTM " + name))
        say(step="MLST", reply=cmd(ftp, "MLST " + name))
        try:
            say(step="MLSD", names=sorted(n for n, _ in ftp.mlsd()))
        except ftplib.all_errors as e:
            say(step="MLSD", error=str(e))
        try:
            say(step="STOU", reply=ftp.storbinary("STOU", io.BytesIO(b"unique" * 1000)))
        except ftplib.all_errors as e:
            say(step="STOU", reply=str(e))
    elif what == "restart":
        # RETR with REST 10, then the whole file again on the same session: under
        # inspect mode the first is refused and the server must not keep the offset.
        import hashlib
        name = sys.argv[5]
        ftp.voidcmd("TYPE I")
        for step, rest in (("rest", 10), ("whole", None)):
            h = hashlib.sha256()
            try:
                final = ftp.retrbinary("RETR " + name, h.update, rest=rest)
                say(step=step, reply=final, sha256=h.hexdigest())
            except ftplib.all_errors as e:
                say(step=step, reply=str(e))
    elif what == "hold":
        reply = cmd(ftp, "EPSV") if v6 else cmd(ftp, "PASV")
        say(step="passive", reply=reply)
        time.sleep(float(sys.argv[5]))
        say(step="NOOP", reply=cmd(ftp, "NOOP"))
    ftp.quit()


if __name__ == "__main__":
    main()
