package ftptest

import (
	"bufio"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// Handler answers one command line (without CRLF) on c.
type Handler func(c *Conn, line string)

// Conn is the server side of one control connection.
type Conn struct {
	net.Conn
	mu sync.Mutex
}

// Reply writes each line followed by CRLF.
func (c *Conn) Reply(lines ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range lines {
		io.WriteString(c.Conn, l+"\r\n")
	}
}

// Server is a scripted FTP server: it greets with 220 and passes every command line to its
// handler. QUIT is answered 221 and closes the connection unless the handler is set to see it.
type Server struct {
	Addr netip.AddrPort

	ln      net.Listener
	handler Handler
	mu      sync.Mutex
	lines   []string
	wg      sync.WaitGroup
}

// NewServer starts a scripted server on 127.0.0.1; it stops when the test ends.
func NewServer(t testing.TB, h Handler) *Server {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("ftptest: listen: %v", err)
	}
	s := &Server{Addr: ln.Addr().(*net.TCPAddr).AddrPort(), ln: ln, handler: h}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

// Received returns the command lines received so far, in order.
func (s *Server) Received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go s.serve(&Conn{Conn: nc})
	}
}

func (s *Server) serve(c *Conn) {
	defer s.wg.Done()
	defer c.Close()
	c.Reply("220 ftptest ready")
	r := bufio.NewReader(c)
	for {
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		s.mu.Lock()
		s.lines = append(s.lines, line)
		s.mu.Unlock()
		if strings.EqualFold(line, "QUIT") {
			c.Reply("221 Goodbye.")
			return
		}
		s.handler(c, line)
	}
}
