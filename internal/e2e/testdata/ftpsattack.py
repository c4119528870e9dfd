#!/usr/bin/env python3
"""FTPS downgrade and data-theft attempts through ftpgate; prints one JSON object per step.

usage: ftpsattack.py SERVER USER PASS CAFILE ACTION FILE

CAFILE verifies the gateway's certificate ("-": none). Actions:

  authrefused     plain ftplib: AUTH TLS (step AUTH), login (login), RETR in the clear (RETR), NOOP
  bridge          AUTH TLS (AUTH), FEAT (FEAT: reply, last line), PROT P, resuming RETR, NOOP
  protc           TLS login, PROT P, PROT C, RETR under the protection in force (prot), NOOP
  protnone        TLS login, PBSZ 0, PROT C, then RETR without PROT P, NOOP
  stockftplib     stock ftplib.FTP_TLS (no session resumption on data connections): RETR, NOOP
  resumingftplib  FTP_TLS that resumes the control session on data connections: RETR, NOOP
  natthief        TLS login, PROT P, PASV (EPSV on IPv6); a second socket from the client's own
                  address connects to the data port first and does a fresh TLS handshake
                  (thief); then the client sends RETR without connecting and waits up to
                  20 s for the final reply (client: reply, waited seconds), NOOP
  swapcert        resuming RETR (RETR), then NOOP
  silentdata      TLS login, PROT P, PASV (EPSV on IPv6), connect the data port, RETR, and never
                  start the data TLS handshake: the final reply (client: reply, waited), NOOP

A RETR step has: reply (the final reply, or the error), bytes, sha256, data_error and, for a
protected data connection, resumed. Every socket has a timeout; no step waits over 20 s.
"""
import ftplib
import hashlib
import json
import re
import socket
import ssl
import sys
import threading
import time

TIMEOUT = 10


def say(**kw):
    print(json.dumps(kw), flush=True)


def text(e):
    return str(e).replace("\r", "").strip()


def cmd(ftp, line):
    try:
        return ftp.sendcmd(line)
    except (ftplib.all_errors) as e:
        return text(e)


class Resuming(ftplib.FTP_TLS):
    """FTP_TLS whose data connections resume the control connection's TLS session."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size


def make_context(cafile):
    if cafile == "-":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    return ssl.create_default_context(cafile=cafile)


def final_reply(ftp):
    """The final reply after a 1xx, or the error's text."""
    try:
        r = ftp.getresp()
        if r.startswith("1"):
            r = ftp.getresp()
        return r
    except (ftplib.all_errors) as e:
        return text(e)


def retr(ftp, name):
    """RETR by hand, so that a failed data connection still reads the final reply."""
    out = {"bytes": 0, "data_error": None}
    h = hashlib.sha256()
    try:
        ftp.voidcmd("TYPE I")
        conn = ftp.transfercmd("RETR " + name)
    except ftplib.Error as e:  # the command's own (final) reply
        out["reply"] = text(e)
        return out
    except OSError as e:  # after the 1xx: connecting or the TLS handshake failed
        out["data_error"] = text(e)
        out["reply"] = final_reply(ftp)
        return out
    if isinstance(conn, ssl.SSLSocket):
        out["resumed"] = conn.session_reused
    try:
        conn.settimeout(TIMEOUT)
        while True:
            b = conn.recv(1 << 16)
            if not b:
                break
            out["bytes"] += len(b)
            h.update(b)
    except OSError as e:
        out["data_error"] = text(e)
    try:
        conn.close()
    except OSError:
        pass
    out["sha256"] = h.hexdigest()
    try:
        out["reply"] = ftp.voidresp()
    except (ftplib.all_errors) as e:
        out["reply"] = text(e)
    return out


def passive(ftp, v6):
    reply = ftp.sendcmd("EPSV" if v6 else "PASV")
    if v6:
        return reply, int(re.search(r"\|\|\|(\d+)\|", reply).group(1))
    m = re.search(r"(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)", reply)
    return reply, int(m.group(5)) * 256 + int(m.group(6))


def thief(server, source, port, result):
    """Connect from the client's own address to the data port and do a fresh TLS handshake."""
    fam = socket.AF_INET6 if ":" in server else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    n = 0
    try:
        s.bind((source, 0))
        s.connect((server, port))
        result["connected"] = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ts = ctx.wrap_socket(s, server_hostname=server)
        result["handshake"] = ts.version()
        result["resumed"] = ts.session_reused
        while True:
            b = ts.recv(1 << 16)
            if not b:
                break
            n += len(b)
    except OSError as e:
        result["error"] = text(e)
    finally:
        result["bytes"] = n
        s.close()


def main():
    server, user, password, cafile, what, name = sys.argv[1:7]
    v6 = ":" in server
    if what == "authrefused":
        ftp = ftplib.FTP(timeout=TIMEOUT)
        say(step="greeting", reply=ftp.connect(server, 21))
        say(step="AUTH", reply=cmd(ftp, "AUTH TLS"))
        try:
            say(step="login", reply=ftp.login(user, password))
        except ftplib.all_errors as e:
            say(step="login", reply=text(e))
            return
        say(step="RETR", **retr(ftp, name))
        say(step="NOOP", reply=cmd(ftp, "NOOP"))
        ftp.quit()
        return

    cls = ftplib.FTP_TLS if what == "stockftplib" else Resuming
    ftp = cls(context=make_context(cafile), timeout=TIMEOUT)
    say(step="greeting", reply=ftp.connect(server, 21))
    if what == "bridge":
        try:
            say(step="AUTH", reply=ftp.auth())
        except ftplib.all_errors as e:
            say(step="AUTH", reply=text(e))
            return
        feat = cmd(ftp, "FEAT")
        say(step="FEAT", reply=feat, last=feat.strip().split("\n")[-1].strip())
    say(step="login", reply=ftp.login(user, password))

    if what == "protnone":
        say(step="PBSZ", reply=cmd(ftp, "PBSZ 0"))
        say(step="PROT C", reply=cmd(ftp, "PROT C"))
        ftp._prot_p = False
        say(step="RETR", **retr(ftp, name))
    elif what == "silentdata":
        say(step="PROT P", reply=ftp.prot_p())
        ftp.voidcmd("TYPE I")
        reply, port = passive(ftp, v6)
        data = socket.create_connection((server, port), timeout=TIMEOUT)
        ftp.sock.settimeout(20)
        t0 = time.monotonic()
        ftp.putcmd("RETR " + name)
        final = final_reply(ftp)
        say(step="client", reply=final, waited=round(time.monotonic() - t0, 1))
        data.close()
        ftp.sock.settimeout(TIMEOUT)
    elif what == "natthief":
        say(step="PROT P", reply=ftp.prot_p())
        ftp.voidcmd("TYPE I")
        reply, port = passive(ftp, v6)
        say(step="passive", reply=reply, port=port)
        result = {}
        th = threading.Thread(target=thief, args=(server, ftp.sock.getsockname()[0], port, result), daemon=True)
        th.start()
        time.sleep(1)  # the thief is first on the data port
        ftp.sock.settimeout(20)
        t0 = time.monotonic()
        ftp.putcmd("RETR " + name)
        final = final_reply(ftp)
        waited = round(time.monotonic() - t0, 1)
        th.join(20)
        say(step="thief", **result)
        say(step="client", reply=final, waited=waited)
        ftp.sock.settimeout(TIMEOUT)
    else:
        say(step="PROT P", reply=ftp.prot_p())
        if what == "protc":
            r = cmd(ftp, "PROT C")
            say(step="PROT C", reply=r)
            if r.startswith("2"):
                ftp._prot_p = False
        say(step="RETR", prot="P" if ftp._prot_p else "C", **retr(ftp, name))
    say(step="NOOP", reply=cmd(ftp, "NOOP"))
    try:
        ftp.quit()
    except ftplib.all_errors:
        pass


if __name__ == "__main__":
    main()
