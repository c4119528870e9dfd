package datachan

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// sockmapRelay redirects with an sk_skb stream verdict program attached to a sockmap: the
// bytes arriving on a socket whose cookie is in peer go straight to the egress of the socket
// at the slot peer names, without entering userspace. Only a's cookie is entered, so the
// reverse direction still reaches userspace, where a one-way relay can watch for it.
type sockmapRelay struct {
	sockmap, peer *ebpf.Map
	prog          *ebpf.Program
}

// newSockmapRelay loads the maps and the program and attaches it to the sockmap.
func newSockmapRelay() (_ *sockmapRelay, err error) {
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("memlock: %w", err)
	}
	s := &sockmapRelay{}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.sockmap, err = ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.SockMap, KeySize: 4, ValueSize: 4, MaxEntries: 64}); err != nil {
		return nil, fmt.Errorf("sockmap: %w", err)
	}
	// cookie of a redirected socket -> sockmap slot of its peer
	if s.peer, err = ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Hash, KeySize: 8, ValueSize: 4, MaxEntries: 64}); err != nil {
		return nil, fmt.Errorf("peer map: %w", err)
	}
	insns := asm.Instructions{
		asm.Mov.Reg(asm.R6, asm.R1), // skb
		asm.FnGetSocketCookie.Call(),
		asm.StoreMem(asm.RFP, -8, asm.R0, asm.DWord),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -8),
		asm.LoadMapPtr(asm.R1, s.peer.FD()),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "pass"),
		asm.LoadMem(asm.R3, asm.R0, 0, asm.Word), // peer slot
		asm.Mov.Reg(asm.R1, asm.R6),
		asm.LoadMapPtr(asm.R2, s.sockmap.FD()),
		asm.Mov.Imm(asm.R4, 0), // egress
		asm.FnSkRedirectMap.Call(),
		asm.Return(),
		asm.Mov.Imm(asm.R0, 1).WithSymbol("pass"), // SK_PASS
		asm.Return(),
	}
	if s.prog, err = ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.SkSKB, AttachType: ebpf.AttachSkSKBStreamVerdict,
		License: "GPL", Instructions: insns}); err != nil {
		return nil, fmt.Errorf("program: %w", err)
	}
	if err = link.RawAttachProgram(link.RawAttachProgramOptions{Target: s.sockmap.FD(), Program: s.prog,
		Attach: ebpf.AttachSkSKBStreamVerdict}); err != nil {
		return nil, fmt.Errorf("attach: %w", err)
	}
	return s, nil
}

// Close releases the program and the maps; closing the sockmap also detaches the program.
func (s *sockmapRelay) Close() {
	if s.prog != nil {
		s.prog.Close()
	}
	for _, m := range []*ebpf.Map{s.peer, s.sockmap} {
		if m != nil {
			m.Close()
		}
	}
}

// relay is the relayPath of sockmapRelay: it enters a and b in the sockmap and a's cookie in
// peer, then waits in a blocking read of a for EOF, which the redirect does not carry. A
// read returning data would mean bytes bypassed the redirect (they could not be forwarded
// in order), an error. After EOF it waits until b has had acknowledged as many bytes as a
// received: the redirected bytes pass through the psock backlog queue, and shutting b's
// sending side down while some are still queued would drop them (EPIPE).
func (s *sockmapRelay) relay(a, b *net.TCPConn, ready func()) (int64, error) {
	fa, err := fdOf(a)
	if err != nil {
		return 0, err
	}
	fb, err := fdOf(b)
	if err != nil {
		return 0, err
	}
	cookie, err := unix.GetsockoptUint64(fa, unix.SOL_SOCKET, unix.SO_COOKIE)
	if err != nil {
		return 0, fmt.Errorf("SO_COOKIE: %w", err)
	}
	// TCP_INFO byte counters before the first byte: their SYN and FIN accounting differs
	// between active and passive sockets, so only differences are used.
	ia0, err := unix.GetsockoptTCPInfo(fa, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		return 0, fmt.Errorf("TCP_INFO: %w", err)
	}
	ib0, err := unix.GetsockoptTCPInfo(fb, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		return 0, fmt.Errorf("TCP_INFO: %w", err)
	}
	if err := s.sockmap.Update(uint32(0), uint32(fa), ebpf.UpdateAny); err != nil {
		return 0, fmt.Errorf("sockmap a: %w", err)
	}
	if err := s.sockmap.Update(uint32(1), uint32(fb), ebpf.UpdateAny); err != nil {
		return 0, fmt.Errorf("sockmap b: %w", err)
	}
	if err := s.peer.Update(cookie, uint32(1), ebpf.UpdateAny); err != nil {
		return 0, fmt.Errorf("peer map: %w", err)
	}
	defer s.peer.Delete(cookie) // the sockets leave the sockmap when they close
	ready()
	var buf [512]byte
	n, err := a.Read(buf[:])
	switch {
	case n > 0:
		return 0, fmt.Errorf("%d bytes reached userspace instead of being redirected", n)
	case !errors.Is(err, io.EOF):
		return 0, fmt.Errorf("waiting for EOF: %w", err)
	}
	ia, err := unix.GetsockoptTCPInfo(fa, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		return 0, fmt.Errorf("TCP_INFO: %w", err)
	}
	received := ia.Bytes_received - ia0.Bytes_received - 1 // the FIN counts as one
	if err := waitAcked(fb, ib0.Bytes_acked+received, 10*time.Second); err != nil {
		return 0, err
	}
	return int64(received), b.CloseWrite()
}

// waitAcked waits until socket fd's TCP_INFO bytes_acked reaches want.
func waitAcked(fd int, want uint64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			return fmt.Errorf("TCP_INFO: %w", err)
		}
		if info.Bytes_acked >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redirect stalled: %d of %d bytes acknowledged", info.Bytes_acked, want)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// fdOf returns c's file descriptor, for map updates and getsockopt while c stays open.
func fdOf(c *net.TCPConn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	fd := -1
	if err := rc.Control(func(f uintptr) { fd = int(f) }); err != nil {
		return 0, err
	}
	return fd, nil
}
