package ftp

import (
	"github.com/ftpgate/ftpgate/datachan"
	"github.com/ftpgate/ftpgate/kpath"
	"github.com/ftpgate/ftpgate/policy"
)

// kernelPath reports whether a data channel may take the kernel path: the policy lets it
// (data_path auto or kernel), the gateway has one, and the channel needs nothing of
// ftpgate: no TLS on either leg, the server leg from the client's own address, and the
// server's side set up as the client asked (data_mode keep). The caller checks what is
// particular to the channel (no rewritten 227, no chosen source port).
func (s *Session) kernelPath() bool {
	if s.cfg.Kernel == nil || s.cfg.DataPath == policy.PathProxy || !s.cfg.Spoof || s.cfg.DataMode != policy.DataKeep {
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
