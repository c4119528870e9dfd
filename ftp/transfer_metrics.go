package ftp

import (
	"time"

	"github.com/ftpgate/ftpgate/datachan"
	"github.com/ftpgate/ftpgate/metrics"
	"github.com/ftpgate/ftpgate/wire"
)

// countTransfer counts transfer x in the metrics, as its record tells it: code is the
// server's final reply (0: none came), clientCode the client's, res what its channel carried.
func (s *Session) countTransfer(x *transfer, code, clientCode int, res datachan.Result) {
	m := s.cfg.Metrics
	if m == nil {
		return
	}
	m.TransferDone(metrics.Transfer{Direction: x.dir.String(), Path: res.Path, Result: transferResult(x, code, clientCode, res),
		ToClient: res.ToClient, ToServer: res.ToServer, Duration: time.Since(x.start)})
	for _, v := range res.Verdicts {
		m.HookVerdict(v.Hook, hookOutcome(v.Allow, v.Failed))
	}
}

// transferResult is the result label of a transfer: complete (a positive reply and a clean
// channel), refused (ftpgate refused its data: TLS or the hooks), aborted (426, or the
// session ended before the final reply) or failed (anything else).
func transferResult(x *transfer, code, clientCode int, res datachan.Result) string {
	_, refused := dataRefusal(x)
	switch {
	case refused || res.Refused:
		return metrics.ResultRefused
	case wire.Positive(clientCode) && res.Err == nil:
		return metrics.ResultComplete
	case code == 0 || code == wire.CodeTransferAborted || clientCode == wire.CodeTransferAborted:
		return metrics.ResultAborted
	}
	return metrics.ResultFailed
}

// hookOutcome is the outcome label of a hook's verdict: failed (the hook could not judge,
// whatever the failure policy made of it), allow or refuse.
func hookOutcome(allow, failed bool) string {
	switch {
	case failed:
		return metrics.HookFailed
	case allow:
		return metrics.HookAllow
	}
	return metrics.HookRefuse
}
