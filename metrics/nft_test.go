package metrics

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/ftpgate/ftpgate/nft"
)

func TestInstallerCountsErrors(t *testing.T) {
	ctx := context.Background()
	f := nft.NewFake(nft.Config{})
	var none *Metrics
	if none.Installer(f) != nft.Installer(f) {
		t.Error("a nil *Metrics wraps the installer")
	}
	m := New()
	inst := m.Installer(f)
	if err := inst.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	e := nft.Element{Src: loopback4, Dst: loopback4, Port: 40000}
	boom := errors.New("netlink: boom")
	f.FailNext(boom)
	if err := inst.Add(ctx, e); !errors.Is(err, boom) {
		t.Fatalf("Add: %v", err)
	}
	if err := inst.Add(ctx, e); err != nil {
		t.Fatal(err)
	}
	f.FailNext(boom)
	if err := inst.Delete(ctx, e); !errors.Is(err, boom) {
		t.Fatalf("Delete: %v", err)
	}
	if err := inst.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := inst.Add(ctx, e); err == nil {
		t.Fatal("Add after Teardown")
	}
	for op, want := range map[string]float64{"add": 2, "delete": 1} {
		if got := value(t, m, "ftpgate_nft_errors_total", `op="`+op+`"`); got != want {
			t.Errorf("ftpgate_nft_errors_total{op=%q} = %v, want %v", op, got, want)
		}
	}
}

var loopback4 = netip.MustParseAddr("127.0.0.1")
