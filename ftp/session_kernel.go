package ftp

import (
	"context"
	"errors"

	"github.com/ftpgate/ftpgate/datachan"
	"github.com/ftpgate/ftpgate/kpath"
	"github.com/ftpgate/ftpgate/policy"
)

// kernelPath reports whether a data channel may take the kernel path: the policy lets it
// (data_path auto or kernel) and has no hooks at work (inspect:), the gateway has one, and
// the channel needs nothing of ftpgate: no TLS on either leg, the server leg from the client's own address, and the
// server's side set up as the client asked (data_mode keep). The caller checks what is
// particular to the channel (no rewritten 227, no chosen source port).
func (s *Session) kernelPath() bool {
	if s.cfg.Kernel == nil || s.cfg.DataPath == policy.PathProxy || !s.cfg.Spoof || s.cfg.DataMode != policy.DataKeep || s.cfg.Inspect.Active() {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.tls.clientProt && !s.tls.serverProt
}

// kernelSpec is the kernel path channel for the connection p; srcIsClient says whether p's
// source is the client (passive mode) or the server (active mode).
func kernelSpec(p kpath.Pinhole, srcIsClient bool) datachan.Spec {
	return datachan.Spec{Kernel: &datachan.KernelSpec{Pinhole: p, SrcIsClient: srcIsClient}}
}

// openPath opens the channel sp; a kernel path channel the kernel refuses (another
// expectation holds the same addresses and port, the box's own FTP helper's for example)
// goes through ftpgate as proxy instead when the policy says data_path auto. With
// data_path kernel the refusal stands.
func (s *Session) openPath(ctx context.Context, sp, proxy datachan.Spec) (*datachan.Channel, error) {
	ch, err := s.openChannel(ctx, sp)
	if err == nil || sp.Kernel == nil || s.cfg.DataPath != policy.PathAuto || errors.Is(err, datachan.ErrNoPacketQueue) {
		return ch, err
	}
	s.log.Warn("the kernel refused a pinhole; this channel goes through ftpgate", "pinhole", sp.Kernel.Pinhole.String(), "err", err.Error())
	return s.openChannel(ctx, proxy)
}
