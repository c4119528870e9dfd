package nft

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// sampleElements returns two IPv4 and one IPv6 element, deliberately unsorted.
func sampleElements() []Element {
	return []Element{
		{Src: netip.MustParseAddr("198.51.100.2"), Dst: netip.MustParseAddr("203.0.113.2"), Port: 40001},
		{Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2"), Port: 50000, Timeout: 5 * time.Second},
		{Src: netip.MustParseAddr("192.0.2.7"), Dst: netip.MustParseAddr("203.0.113.2"), Port: 1024, Timeout: 2 * time.Minute},
	}
}

func mustSetup(t testing.TB, in Installer) {
	t.Helper()
	if err := in.Setup(context.Background()); err != nil {
		t.Fatalf("setup: %v", err)
	}
}

func mustAdd(t *testing.T, in Installer, e Element) {
	t.Helper()
	if err := in.Add(context.Background(), e); err != nil {
		t.Fatalf("add %v: %v", e, err)
	}
}

func mustDelete(t *testing.T, in Installer, e Element) {
	t.Helper()
	if err := in.Delete(context.Background(), e); err != nil {
		t.Fatalf("delete %v: %v", e, err)
	}
}

func TestFakeLifecycle(t *testing.T) {
	ctx := context.Background()
	f := NewFake(Config{})
	if got := f.Text(); got != "" {
		t.Fatalf("Text before Setup = %q, want empty", got)
	}
	e := sampleElements()[0]
	if err := f.Add(ctx, e); !errors.Is(err, ErrNoTable) {
		t.Fatalf("Add before Setup: err = %v, want ErrNoTable", err)
	}
	mustSetup(t, f)
	if got := f.Text(); got != goldenDefault {
		t.Fatalf("Text after Setup:\n%s\nwant:\n%s", got, goldenDefault)
	}
	mustAdd(t, f, e)
	line := "elements = { 198.51.100.2 . 203.0.113.2 . 40001 timeout 30s }"
	if got := f.Text(); !strings.Contains(got, line) {
		t.Fatalf("Text after Add lacks %q:\n%s", line, got)
	}
	mustDelete(t, f, e)
	if got := f.Text(); got != goldenDefault {
		t.Fatalf("Text after Delete:\n%s\nwant:\n%s", got, goldenDefault)
	}
	mustDelete(t, f, e) // already gone: no error
	if err := f.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.Text(); got != "" {
		t.Fatalf("Text after Teardown = %q, want empty", got)
	}
	if err := f.Teardown(ctx); err != nil {
		t.Fatalf("second Teardown: %v", err)
	}
	if _, err := f.Elements(ctx); !errors.Is(err, ErrNoTable) {
		t.Fatalf("Elements after Teardown: err = %v, want ErrNoTable", err)
	}
}

func TestFakeTextAllElements(t *testing.T) {
	f := NewFake(Config{})
	mustSetup(t, f)
	for _, e := range sampleElements() {
		mustAdd(t, f, e)
	}
	// Re-adding keeps the first timeout, as the kernel does.
	again := sampleElements()[0]
	again.Timeout = time.Hour
	mustAdd(t, f, again)
	want := strings.Replace(goldenDefault, "\t\ttimeout 30s\n\t}\n\n\tset data6",
		"\t\ttimeout 30s\n"+
			"\t\telements = { 192.0.2.7 . 203.0.113.2 . 1024 timeout 2m,\n"+
			"\t\t\t     198.51.100.2 . 203.0.113.2 . 40001 timeout 30s }\n"+
			"\t}\n\n\tset data6", 1)
	want = strings.Replace(want, "\t\ttimeout 30s\n\t}\n\n\tchain",
		"\t\ttimeout 30s\n"+
			"\t\telements = { 2001:db8::1 . 2001:db8::2 . 50000 timeout 5s }\n"+
			"\t}\n\n\tchain", 1)
	if got := f.Text(); got != want {
		t.Fatalf("Text:\n%s\nwant:\n%s", got, want)
	}
	got, err := f.Elements(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var strs []string
	for _, e := range got {
		strs = append(strs, e.String())
	}
	wantStrs := "192.0.2.7 . 203.0.113.2 . 1024 timeout 2m|198.51.100.2 . 203.0.113.2 . 40001 timeout 30s|" +
		"2001:db8::1 . 2001:db8::2 . 50000 timeout 5s"
	if s := strings.Join(strs, "|"); s != wantStrs {
		t.Fatalf("Elements = %s, want %s", s, wantStrs)
	}
	// Setup replaces the table: elements are gone.
	mustSetup(t, f)
	if got, _ := f.Elements(context.Background()); len(got) != 0 {
		t.Fatalf("Elements after second Setup = %v, want none", got)
	}
}

func TestFakeFailNext(t *testing.T) {
	ctx := context.Background()
	f := NewFake(Config{})
	boom1, boom2 := errors.New("boom1"), errors.New("boom2")
	f.FailNext(boom1)
	f.FailNext(boom2)
	if err := f.Setup(ctx); !errors.Is(err, boom1) {
		t.Fatalf("first Setup: err = %v, want boom1", err)
	}
	if f.Text() != "" {
		t.Fatal("failed Setup left a table")
	}
	if err := f.Setup(ctx); !errors.Is(err, boom2) {
		t.Fatalf("second Setup: err = %v, want boom2", err)
	}
	mustSetup(t, f) // queue is empty now
	e := sampleElements()[0]
	f.FailNext(unix.ENOBUFS)
	if err := f.Add(ctx, e); !errors.Is(err, unix.ENOBUFS) {
		t.Fatalf("Add: err = %v, want ENOBUFS", err)
	}
	if got, _ := f.Elements(ctx); len(got) != 0 {
		t.Fatalf("failed Add stored %v", got)
	}
	mustAdd(t, f, e)
	f.FailNext(unix.EIO)
	if err := f.Delete(ctx, e); !errors.Is(err, unix.EIO) {
		t.Fatalf("Delete: err = %v, want EIO", err)
	}
	if got, _ := f.Elements(ctx); len(got) != 1 {
		t.Fatalf("failed Delete removed the element: %v", got)
	}
	f.FailNext(unix.EIO)
	if _, err := f.Elements(ctx); !errors.Is(err, unix.EIO) {
		t.Fatalf("Elements: err = %v, want EIO", err)
	}
	f.FailNext(unix.EIO)
	if err := f.Teardown(ctx); !errors.Is(err, unix.EIO) {
		t.Fatalf("Teardown: err = %v, want EIO", err)
	}
	if f.Text() == "" {
		t.Fatal("failed Teardown removed the table")
	}
}

func TestFakeValidates(t *testing.T) {
	f := NewFake(Config{})
	mustSetup(t, f)
	mixed := Element{Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("2001:db8::1"), Port: 2000}
	if err := f.Add(context.Background(), mixed); err == nil {
		t.Fatal("Add of a mixed-family element succeeded")
	}
}

func TestFakeConcurrent(t *testing.T) {
	ctx := context.Background()
	f := NewFake(Config{})
	mustSetup(t, f)
	const workers, perWorker = 8, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				e := Element{
					Src:  netip.AddrFrom4([4]byte{192, 0, 2, byte(w + 1)}),
					Dst:  netip.MustParseAddr("203.0.113.2"),
					Port: uint16(10000 + i),
				}
				if err := f.Add(ctx, e); err != nil {
					t.Error(err)
					return
				}
				if i%2 == 0 {
					if err := f.Delete(ctx, e); err != nil {
						t.Error(err)
						return
					}
				}
				_ = f.Text()
			}
		}()
	}
	wg.Wait()
	got, err := f.Elements(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Odd ports stay: perWorker/2 per worker.
	if want := workers * (perWorker / 2); len(got) != want {
		t.Fatalf("%d elements left, want %d", len(got), want)
	}
}
