package intercept

import (
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCheckPrivilegesMatchesCapget(t *testing.T) {
	has, err := hasEffectiveCap(unix.CAP_NET_ADMIN)
	if err != nil {
		t.Fatalf("hasEffectiveCap: %v", err)
	}
	err = CheckPrivileges()
	switch {
	case has && err != nil:
		t.Fatalf("CheckPrivileges with CAP_NET_ADMIN = %v, want nil", err)
	case !has && !errors.Is(err, ErrNoNetAdmin):
		t.Fatalf("CheckPrivileges without CAP_NET_ADMIN = %v, want ErrNoNetAdmin", err)
	}
}

func TestCheckPrivilegesAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root")
	}
	if err := CheckPrivileges(); err != nil {
		t.Fatalf("CheckPrivileges as root = %v, want nil", err)
	}
	if err := CheckTProxy(); err != nil {
		t.Fatalf("CheckTProxy as root = %v, want nil", err)
	}
}

func TestHasEffectiveCapOutOfRange(t *testing.T) {
	if _, err := hasEffectiveCap(64); err == nil {
		t.Fatal("hasEffectiveCap(64): want error")
	}
}
