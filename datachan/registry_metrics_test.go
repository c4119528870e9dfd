package datachan

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ftpgate/ftpgate/metrics"
	"github.com/ftpgate/ftpgate/nft"
)

func TestRegistryMetrics(t *testing.T) {
	ctx := context.Background()
	f, r := newFakeRegistry(t, time.Second)
	m := metrics.New()
	r.SetMetrics(m)
	r.SetLimit(2)
	h := func(*net.TCPConn) {}
	used := nft.Element{Src: client, Dst: server, Port: 40001}
	expired := nft.Element{Src: client, Dst: server, Port: 40002}
	for i, k := range []nft.Element{used, expired} {
		if err := r.Expect(ctx, uint64(i+1), k, h); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Expect(ctx, 3, used, h); !errors.Is(err, ErrInUse) {
		t.Fatalf("another owner's element: %v", err)
	}
	if err := r.Expect(ctx, 3, nft.Element{Src: client, Dst: server, Port: 40003}, h); !errors.Is(err, ErrFull) {
		t.Fatalf("over the limit: %v", err)
	}
	f.FailNext(errors.New("netlink: boom"))
	r.SetLimit(0)
	if err := r.Expect(ctx, 3, nft.Element{Src: client, Dst: server, Port: 40003}, h); err == nil {
		t.Fatal("a failed install")
	}
	if _, _, ok := r.Claim(ctx, netip.AddrPortFrom(client, 5000), netip.AddrPortFrom(server, 40001)); !ok {
		t.Fatal("claim")
	}
	deadline := time.Now().Add(5 * time.Second)
	for r.Len() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	want := `
# HELP ftpgate_expectations_created_total Data connection expectations installed.
# TYPE ftpgate_expectations_created_total counter
ftpgate_expectations_created_total 2
# HELP ftpgate_expectations_expired_total Data connection expectations that expired unused.
# TYPE ftpgate_expectations_expired_total counter
ftpgate_expectations_expired_total 1
# HELP ftpgate_expectations_open Data connection expectations installed now.
# TYPE ftpgate_expectations_open gauge
ftpgate_expectations_open 0
# HELP ftpgate_expectations_refused_total Data connection expectations refused, by reason (in_use, full, install).
# TYPE ftpgate_expectations_refused_total counter
ftpgate_expectations_refused_total{reason="full"} 1
ftpgate_expectations_refused_total{reason="in_use"} 1
ftpgate_expectations_refused_total{reason="install"} 1
# HELP ftpgate_expectations_used_total Data connection expectations claimed by their connection.
# TYPE ftpgate_expectations_used_total counter
ftpgate_expectations_used_total 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"ftpgate_expectations_created_total", "ftpgate_expectations_expired_total", "ftpgate_expectations_open",
		"ftpgate_expectations_refused_total", "ftpgate_expectations_used_total"); err != nil {
		t.Error(err)
	}
}
