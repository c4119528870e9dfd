package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ftpgate/ftpgate/internal/scenario"
)

// tlsCallbackScript refuses SIZE unless the client's control connection is protected.
const tlsCallbackScript = `
def need_tls(command, param, session):
    if not session.tls:
        return reject(534, "SIZE needs a protected control connection.")
    return ACCEPT
`

// testCallbackSeesTLS: a Starlark callback learns of the client's AUTH TLS through
// session.tls. Through the running gateway, SIZE is refused on a plain session and allowed
// on the same policy once the client negotiated TLS. The configuration is restored after.
func testCallbackSeesTLS(t *testing.T, fb *ftpsBed) {
	b := fb.bed
	dir := filepath.Dir(fb.cfg)
	if err := os.WriteFile(filepath.Join(dir, "tls.star"), []byte(tlsCallbackScript), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := "version: 1\nscript: tls.star\nservices:\n  - name: all\n    server_ports: [21, 990]\n    policy: p\n" +
		"policies:\n  p:\n    base: readwrite\n    commands:\n      SIZE: {action: policy, callback: need_tls}\n    tls:\n" +
		fb.staticTLS("")
	if err := os.WriteFile(fb.cfg, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if msg, err := b.gw.Reload(); err != nil || msg != "configuration reloaded" {
		t.Fatalf("reload: %q, %v\n%s", msg, err, tail(b.gw.LogText(), 5))
	}
	defer fb.tlsPolicy(t, fb.staticTLS(""))

	st := b.steps(t, b.tp.ServerV4.String(), b.srv.User, b.srv.Pass, "session", b.tp.ClientV4.String(), "SIZE small.bin")
	if got := fmt.Sprint(st["0"]["reply"]); got != "534 SIZE needs a protected control connection." {
		t.Errorf("SIZE on a plain session: %q, want the callback's 534", got)
	}
	res, err := scenario.PyTLS(b.ctx(t), b.tp, b.srv, b.tp.ServerV4, scenario.EPSV,
		scenario.PyTLSOptions{CAFile: fb.gwPKI.CACert}, "cmd:SIZE small.bin")
	if err != nil {
		t.Fatalf("FTPS session: %v\n%s", err, tail(res.Transcript+res.Stdout, 20))
	}
	if want := fmt.Sprintf("CMD SIZE small.bin => 213 %d", small); !strings.Contains(res.Stdout, want) {
		t.Errorf("SIZE after AUTH TLS: want %q in\n%s", want, tail(res.Transcript+res.Stdout, 20))
	}
}
