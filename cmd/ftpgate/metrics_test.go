package main

import (
	"net"
	"strings"
	"testing"
)

func TestMetricsAddrFlag(t *testing.T) {
	for _, bad := range []string{"9121", "localhost", "[::1"} {
		code, _, stderr := runCmd("rules", "-metrics-addr", bad)
		if code != exitUsage || !strings.Contains(stderr, "-metrics-addr") {
			t.Errorf("-metrics-addr %q: exit %d, %q", bad, code, stderr)
		}
	}
	o, err := parseOptions("run", []string{"-metrics-addr", "127.0.0.1:9121"}, new(strings.Builder))
	if err != nil || o.metricsAddr != "127.0.0.1:9121" {
		t.Errorf("parse: %v, %q", err, o.metricsAddr)
	}
}

func TestOpenMetrics(t *testing.T) {
	var off options
	if err := openMetrics(t.Context(), &off); err != nil || off.ftp.Metrics != nil || off.metricsLn != nil {
		t.Errorf("no -metrics-addr: %v, %v, %v", err, off.ftp.Metrics, off.metricsLn)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	o := options{metricsAddr: busy.Addr().String()}
	err = openMetrics(t.Context(), &o)
	if err == nil || !strings.Contains(err.Error(), "-metrics-addr") || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("an address in use: %v", err)
	}
	o = options{metricsAddr: "127.0.0.1:0"}
	if err := openMetrics(t.Context(), &o); err != nil || o.ftp.Metrics == nil || o.metricsLn == nil {
		t.Fatalf("open: %v", err)
	}
	closeMetrics(&o)
}
