#!/usr/bin/env python3
"""FTPS client for ftpgate's tests, built on ftplib.FTP_TLS.

Unlike plain ftplib it can resume the control connection's TLS session on
data connections (--reuse, needed by vsftpd's require_ssl_reuse=YES), force
any of PASV, EPSV, PORT and EPRT on either address family, and speak implicit
FTPS. The FTP dialogue goes to stderr ("---> CMD", "<--- reply"); results go
to stdout, one line each:

  CONTROL version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384
  CERT subject=... issuer=...        (only with --cafile: verified peers)
  DATA cmd=RETR file reused=True version=TLSv1.3
  GET remote local bytes=N
  PUT local remote bytes=N
  LIST n=N

Operations: get:REMOTE:LOCAL, put:LOCAL:REMOTE, list[:PATH], cmd:COMMAND.
Exit status 0 on success, 1 with "ERROR ..." on stderr otherwise.
"""
import argparse
import ftplib
import socket
import ssl
import sys


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Client(ftplib.FTP_TLS):
    """FTP_TLS with a chosen data mode, optional session reuse and implicit TLS."""

    def __init__(self, mode, reuse, implicit, **kw):
        super().__init__(**kw)
        self.mode, self.reuse, self.implicit = mode, reuse, implicit

    def connect(self, host, port, timeout):
        if not self.implicit:
            return super().connect(host, port, timeout)
        self.host, self.port, self.timeout = host, port, timeout
        raw = socket.create_connection((host, port), timeout)
        self.af = raw.family
        self.sock = self.context.wrap_socket(raw, server_hostname=host)
        self.file = self.sock.makefile('r', encoding=self.encoding)
        self.welcome = self.getresp()
        return self.welcome

    def putcmd(self, line):
        shown = 'PASS ****' if line.upper().startswith('PASS ') else line
        log('---> ' + shown)
        super().putcmd(line)

    def getresp(self):
        try:
            resp = super().getresp()
        except ftplib.Error as e:
            log('<--- ' + str(e).replace('\n', ' | '))
            raise
        log('<--- ' + resp.replace('\n', ' | '))
        return resp

    def makepasv(self):
        peer = self.sock.getpeername()
        if self.mode == 'PASV':
            _, port = ftplib.parse227(self.sendcmd('PASV'))
            return peer[0], port
        return ftplib.parse229(self.sendcmd('EPSV'), peer)

    def makeport(self):
        sock = socket.create_server(('', 0), family=self.af, backlog=1)
        port = sock.getsockname()[1]
        host = self.sock.getsockname()[0]
        if self.mode == 'PORT':
            self.sendport(host, port)
        else:
            self.sendeprt(host, port)
        sock.settimeout(self.timeout)
        return sock

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            kw = {'session': self.sock.session} if self.reuse else {}
            conn = self.context.wrap_socket(conn, server_hostname=self.host, **kw)
            print('DATA cmd=%s reused=%s version=%s' % (cmd, conn.session_reused, conn.version()), flush=True)
        return conn, size


def context(args):
    if args.cafile:
        ctx = ssl.create_default_context(cafile=args.cafile)
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if args.tls_max:
        ctx.maximum_version = {'1.2': ssl.TLSVersion.TLSv1_2, '1.3': ssl.TLSVersion.TLSv1_3}[args.tls_max]
    return ctx


def name(rdns):
    return ','.join('%s=%s' % kv for rdn in rdns for kv in rdn)


def run(args):
    c = Client(args.mode, args.reuse, args.implicit, context=context(args), timeout=args.timeout)
    c.passiveserver = args.mode in ('PASV', 'EPSV')
    c.connect(args.host, args.port, args.timeout)
    c.login(args.user, args.password)
    print('CONTROL version=%s cipher=%s' % (c.sock.version(), c.sock.cipher()[0]), flush=True)
    if args.cafile:
        cert = c.sock.getpeercert()
        print('CERT subject=%s issuer=%s' % (name(cert['subject']), name(cert['issuer'])), flush=True)
    if args.prot == 'P':
        c.prot_p()
    else:
        c.prot_c()
    for op in args.ops:
        kind, _, rest = op.partition(':')
        if kind == 'get':
            remote, local = rest.split(':', 1)
            with open(local, 'wb') as f:
                c.retrbinary('RETR ' + remote, f.write)
                print('GET %s %s bytes=%d' % (remote, local, f.tell()), flush=True)
        elif kind == 'put':
            local, remote = rest.split(':', 1)
            with open(local, 'rb') as f:
                c.storbinary('STOR ' + remote, f)
                print('PUT %s %s bytes=%d' % (local, remote, f.tell()), flush=True)
        elif kind == 'list':
            lines = []
            c.retrlines('LIST ' + rest if rest else 'LIST', lines.append)
            print('LIST n=%d' % len(lines), flush=True)
        elif kind == 'cmd':
            print('CMD %s => %s' % (rest, c.sendcmd(rest)), flush=True)
        else:
            raise ValueError('unknown operation ' + op)
    c.quit()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--host', required=True)
    p.add_argument('--port', type=int, default=21)
    p.add_argument('--user', required=True)
    p.add_argument('--password', required=True)
    p.add_argument('--mode', choices=['PASV', 'EPSV', 'PORT', 'EPRT'], default='EPSV')
    p.add_argument('--reuse', action='store_true', help='resume the control TLS session on data connections')
    p.add_argument('--implicit', action='store_true', help='TLS from the first byte (port 990)')
    p.add_argument('--cafile', help='verify the server against this CA (default: no verification)')
    p.add_argument('--tls-max', choices=['1.2', '1.3'])
    p.add_argument('--prot', choices=['P', 'C'], default='P')
    p.add_argument('--timeout', type=float, default=20)
    p.add_argument('ops', nargs='*')
    args = p.parse_args()
    try:
        run(args)
    except Exception as e:  # report every failure the same way
        log('ERROR %s: %s' % (type(e).__name__, e))
        sys.exit(1)


if __name__ == '__main__':
    main()
