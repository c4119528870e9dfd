package testbed

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestMakeFile(t *testing.T) {
	dir := t.TempDir()
	small, large := filepath.Join(dir, "small"), filepath.Join(dir, "large")
	for _, n := range []int64{0, 1, 4096, 3<<20 + 17} {
		sum, err := MakeFile(large, n)
		if err != nil {
			t.Fatal(err)
		}
		got, err := SHA256File(large)
		if err != nil {
			t.Fatal(err)
		}
		if got != sum {
			t.Errorf("n=%d: MakeFile sum %s, SHA256File %s", n, sum, got)
		}
		if fi, err := os.Stat(large); err != nil || fi.Size() != n {
			t.Errorf("n=%d: stat %v, %v", n, fi, err)
		}
	}
	// Deterministic, and a shorter file is a prefix of a longer one.
	if _, err := MakeFile(small, 1000); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(small)
	b, _ := os.ReadFile(large)
	if !bytes.HasPrefix(b, a) || len(a) != 1000 {
		t.Error("small file is not a prefix of the large one")
	}
	again := filepath.Join(dir, "again")
	s1, _ := SHA256File(small)
	s2, err := MakeFile(again, 1000)
	if err != nil || s1 != s2 {
		t.Errorf("not deterministic: %s vs %s (%v)", s1, s2, err)
	}
	if _, err := MakeFile(small, -1); err == nil {
		t.Error("negative size accepted")
	}
	if _, err := SHA256File(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file hashed")
	}
}

func TestFreeID(t *testing.T) {
	passwd := "root:x:0:0::/root:/bin/sh\nfoo:x:2121:100::/:/bin/sh\nftpuser:x:2123:2123::/:/bin/sh\n"
	group := "root:x:0:\nbar:x:2122:\n"
	if got := freeID(passwd, group); got != 2123 {
		t.Errorf("freeID = %d, want 2123", got)
	}
}
