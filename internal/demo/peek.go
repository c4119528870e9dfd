package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
)

// peekTimeout bounds the whole peek session.
const peekTimeout = 15 * time.Second

// peek shows a data channel expectation while it exists: it opens an FTP control connection
// from the client namespace to the server's IPv4 address (intercepted by ftpgate), logs in,
// sends PASV and, before any data connection, prints the nft table with the element ftpgate
// added for it. Then it quits and waits until the session's end has removed the element.
func peek(ctx context.Context, p *printer, b *bed) error {
	ctx, cancel := context.WithTimeout(ctx, peekTimeout)
	defer cancel()
	server := netip.AddrPortFrom(b.tp.ServerV4, 21)
	conn, err := b.tp.DialContext(ctx, b.tp.Client, "tcp", server.String())
	if err != nil {
		return fmt.Errorf("peek: %w", err)
	}
	defer conn.Close()
	if d, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(d); err != nil {
			return fmt.Errorf("peek: %w", err)
		}
	}
	c := &ctrl{conn: conn, r: bufio.NewReader(conn)}
	if _, err := c.expect("", 220); err != nil {
		return err
	}
	if _, err := c.expect("USER "+b.srv.User, 331); err != nil {
		return err
	}
	if _, err := c.expect("PASS "+b.srv.Pass, 230); err != nil {
		return err
	}
	reply, err := c.expect("PASV", 227)
	if err != nil {
		return err
	}
	port, err := pasvPort(reply)
	if err != nil {
		return err
	}
	want := fmt.Sprintf("%s . %s . %d", b.tp.ClientV4, b.tp.ServerV4, port)
	p.step("expectation: a client logged in and sent PASV; the server answered %q", reply)
	text, err := scenario.NftTable(ctx, b.tp, table)
	if err != nil {
		return fmt.Errorf("peek: %w", err)
	}
	p.detail("ftpgate added the set element %s (one data connection, then it is deleted):", want)
	p.detail("# ip netns exec %s nft list table inet %s", b.tp.GW, table)
	p.block(text)
	if !strings.Contains(text, want) {
		return fmt.Errorf("peek: the table lacks the element %s", want)
	}
	if _, err := c.expect("QUIT", 221); err != nil {
		return err
	}
	left, err := waitNoElements(ctx, b)
	if err != nil {
		return fmt.Errorf("peek: %w", err)
	}
	if len(left) > 0 {
		return fmt.Errorf("peek: elements left after QUIT: %v", left)
	}
	p.step("expectation: after QUIT the session ended and its element is gone")
	return nil
}

// waitNoElements polls the expectation sets until they are empty or ctx ends, and returns
// the elements seen last.
func waitNoElements(ctx context.Context, b *bed) ([]string, error) {
	for {
		els, err := scenario.Elements(ctx, b.tp, table)
		if err != nil || len(els) == 0 {
			return els, err
		}
		select {
		case <-ctx.Done():
			return els, nil
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ctrl is a minimal FTP control connection.
type ctrl struct {
	conn net.Conn
	r    *bufio.Reader
}

// maxReplyLines bounds a multi-line reply.
const maxReplyLines = 100

// expect sends cmd (none when "") and reads the reply, which must have code want. It returns
// the reply's last line.
func (c *ctrl) expect(cmd string, want int) (string, error) {
	if cmd != "" {
		if _, err := c.conn.Write([]byte(cmd + "\r\n")); err != nil {
			return "", fmt.Errorf("ftp control: send %s: %w", strings.Fields(cmd)[0], err)
		}
	}
	line, err := c.reply()
	if err != nil {
		return "", fmt.Errorf("ftp control: reply to %q: %w", cmd, err)
	}
	if !strings.HasPrefix(line, strconv.Itoa(want)+" ") {
		return line, fmt.Errorf("ftp control: reply to %q: %q, want %d", cmd, line, want)
	}
	return line, nil
}

// reply reads one reply, multi-line ones included, and returns its last line.
func (c *ctrl) reply() (string, error) {
	var code string
	for i := 0; i < maxReplyLines; i++ {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return "", err
		}
		line = strings.TrimRight(line, "\r\n")
		if i == 0 {
			if len(line) < 4 {
				return line, fmt.Errorf("malformed reply %q", line)
			}
			code = line[:3]
		}
		if strings.HasPrefix(line, code+" ") {
			return line, nil
		}
	}
	return "", fmt.Errorf("reply longer than %d lines", maxReplyLines)
}

// pasvPort extracts the port from a 227 reply "227 Entering Passive Mode (h1,h2,h3,h4,p1,p2).".
func pasvPort(reply string) (int, error) {
	i, j := strings.IndexByte(reply, '('), strings.IndexByte(reply, ')')
	if i < 0 || j < i {
		return 0, fmt.Errorf("peek: malformed 227 reply %q", reply)
	}
	f := strings.Split(reply[i+1:j], ",")
	if len(f) != 6 {
		return 0, fmt.Errorf("peek: malformed 227 reply %q", reply)
	}
	p1, err1 := strconv.Atoi(strings.TrimSpace(f[4]))
	p2, err2 := strconv.Atoi(strings.TrimSpace(f[5]))
	if err1 != nil || err2 != nil || p1 < 0 || p1 > 255 || p2 < 0 || p2 > 255 {
		return 0, fmt.Errorf("peek: malformed 227 reply %q", reply)
	}
	return p1<<8 | p2, nil
}
