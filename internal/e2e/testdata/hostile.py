#!/usr/bin/env python3
"""Hostile input through ftpgate over raw sockets; prints one JSON object per step.

usage: hostile.py SERVER USER PASS

Each step opens its own control connection, logs in where the step needs it, sends its
input (possibly in several segments, possibly slowly) and reports what came back within
10 s: the reply lines, "closed" when the connection was closed, or "timeout" (a stall).
"""
import json
import socket
import sys
import time

SERVER, USER, PASS = sys.argv[1:4]


def say(**kw):
    print(json.dumps(kw), flush=True)


def read_reply(f):
    """One FTP reply (multi-line aware) as its last line, or 'closed'."""
    first = f.readline()
    if not first:
        return "closed"
    line = first
    if len(first) > 3 and first[3:4] == b"-":
        code = first[:3]
        while True:
            line = f.readline()
            if not line:
                return "closed"
            if line[:3] == code and line[3:4] == b" ":
                break
    return line.decode("latin-1").strip()


def connect(login):
    s = socket.create_connection((SERVER, 21), timeout=10)
    f = s.makefile("rb")
    read_reply(f)  # greeting
    if login:
        for c in ("USER " + USER, "PASS " + PASS):
            s.sendall(c.encode() + b"\r\n")
            read_reply(f)
    return s, f


def step(name, segments, login=True, pause=0.0, replies=1):
    """Send segments (bytes), pause seconds apart, then read replies."""
    try:
        s, f = connect(login)
    except OSError as e:
        say(step=name, result="connect failed: %s" % e)
        return
    out = []
    try:
        for seg in segments:
            s.sendall(seg)
            if pause:
                time.sleep(pause)
        for _ in range(replies):
            r = read_reply(f)
            out.append(r)
            if r == "closed":
                break
        say(step=name, result=out)
    except socket.timeout:
        say(step=name, result=out + ["timeout"])
    except OSError as e:
        say(step=name, result=out + ["closed"])
    finally:
        s.close()


def main():
    # Bounce targets and malformed, overflowing addresses.
    step("port-bounce", [b"PORT 203,0,113,2,0,25\r\n"])
    step("port-overflow", [b"PORT 198,51,100,2,4,999\r\n"])
    step("port-fields", [b"PORT 198,51,100,2,4,1,7\r\n"])
    step("port-huge", [b"PORT 198,51,100,2,99999999999999999999,1\r\n"])
    step("eprt-bounce", [b"EPRT |1|203.0.113.2|25|\r\n"])
    step("eprt-garbage", [b"EPRT |1|198.51.100.2|70000|\r\n"])
    step("eprt-proto", [b"EPRT |9|198.51.100.2|2000|\r\n"])
    step("epsv-proto", [b"EPSV 9\r\n"])
    # Framing.
    step("overlong", [b"NOOP " + b"A" * 20000 + b"\r\n"])
    step("nul", [b"NO\x00OP\r\n"])
    step("bare-cr", [b"NO\rOP\r\n"])
    step("bare-lf", [b"NOOP\n"])
    step("iac-split", [b"\xff", b"\xf4\xff", b"\xf2NOOP\r\n"], pause=0.2)
    step("slow", [bytes([c]) for c in b"NOOP\r\n"], pause=0.3)
    # State.
    step("before-login", [b"LIST\r\n"], login=False)
    step("rnto-alone", [b"RNTO x\r\n"])
    step("rest-negative", [b"REST -1\r\n"])
    step("type-e", [b"TYPE E\r\n"])
    step("mode-z", [b"MODE Z\r\n"])
    step("stru-r", [b"STRU R\r\n"])
    step("empty", [b"\r\n"])
    step("unknown", [b"XYZZY plugh\r\n"])
    # A flood: 5000 pipelined commands, far beyond the 256 ftpgate lets wait for replies.
    # ftpgate reads no further while 256 are owed, so every one is answered, in order.
    step("flood", [b"NOOP\r\n" * 5000 + b"QUIT\r\n"], replies=5001)


main()
