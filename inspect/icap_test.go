package inspect

import (
	"bytes"
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestICAPRequests: a small download goes as a RESPMOD whose preview is the whole object
// (ieof); a large one's rest follows 100 Continue; an upload is a REQMOD; the offsets,
// the HTTP headers and the body are exact.
func TestICAPRequests(t *testing.T) {
	s := newFakeICAP(t, nil)
	h := newTestICAP(t, s, 5*time.Second)
	for _, tc := range []struct {
		name   string
		upload bool
		size   int
		ieof   bool
	}{{"small download", false, 100, true}, {"large download", false, 200_000, false}, {"empty", false, 0, true},
		{"small upload", true, 1024, true}, {"large upload", true, 300_001, false}} {
		data := pattern(tc.size)
		v, err := h.Inspect(context.Background(), testObject(tc.upload), spoolOf(t, data, 1<<16))
		if err != nil || !v.Allow || v.Hook != "av" {
			t.Fatalf("%s: %+v %v", tc.name, v, err)
		}
		_, _, reqs := s.stats()
		r := reqs[len(reqs)-1]
		if !bytes.Equal(r.Body, data) || r.IEOF != tc.ieof {
			t.Errorf("%s: server got %d bytes (ieof %v), want %d (ieof %v)", tc.name, len(r.Body), r.IEOF, tc.size, tc.ieof)
		}
		if want := strconv.Itoa(min(tc.size, 1024)); r.Header.Get("Preview") != want {
			t.Errorf("%s: Preview %q, want %s", tc.name, r.Header.Get("Preview"), want)
		}
		user, _ := base64.StdEncoding.DecodeString(r.Header.Get("X-Authenticated-User"))
		if r.Header.Get("Allow") != "204" || r.Header.Get("X-Client-Ip") != "198.51.100.2" || string(user) != "Local://alice" {
			t.Errorf("%s: headers %v", tc.name, r.Header)
		}
		const u = "ftp://203.0.113.2/pub/a%20file%3F%23%25.bin HTTP/1.1\r\nHost: 203.0.113.2\r\n"
		if tc.upload {
			if r.Line != "REQMOD "+s.url()+" ICAP/1.0" || len(r.HTTP) != 1 ||
				r.HTTP["req-hdr"] != "PUT "+u+"Content-Type: application/octet-stream\r\nContent-Length: "+strconv.Itoa(tc.size)+"\r\n\r\n" {
				t.Errorf("%s: %q %q", tc.name, r.Line, r.HTTP)
			}
			continue
		}
		if r.Line != "RESPMOD "+s.url()+" ICAP/1.0" || len(r.HTTP) != 2 || r.HTTP["req-hdr"] != "GET "+u+"\r\n" ||
			r.HTTP["res-hdr"] != "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: "+strconv.Itoa(tc.size)+"\r\n\r\n" {
			t.Errorf("%s: %q %q", tc.name, r.Line, r.HTTP)
		}
	}
	if accepts, options, _ := s.stats(); accepts != 1 || options != 1 {
		t.Errorf("%d connections and %d OPTIONS for 5 requests, want 1 and 1", accepts, options)
	}
}

// TestICAPVerdicts: what each answer makes of an object.
func TestICAPVerdicts(t *testing.T) {
	data := pattern(5000)
	echo := func(r *fakeReq) string { return answer200("", "HTTP/1.1 200 OK", r.Body) }
	for _, tc := range []struct {
		name           string
		preview, final func(r *fakeReq) string
		allow          bool
		reason         string
	}{
		{"echo", nil, echo, true, ""},
		{"204 after preview", func(*fakeReq) string { return "ICAP/1.0 204 No Content\r\n\r\n" }, nil, true, ""},
		{"infection", nil, func(*fakeReq) string {
			return answer200("X-Infection-Found: Type=0; Resolution=2; Threat=Eicar-Test-Signature-NDB.UNOFFICIAL;\r\nX-Violations-Found: 1\r\n\tf\r\n\tOther\r\n\t0\r\n\t0\r\n",
				"HTTP/1.1 403 Forbidden", []byte("<html>VIRUS FOUND</html>"))
		}, false, "Eicar-Test-Signature-NDB.UNOFFICIAL"},
		{"infection after preview", func(*fakeReq) string {
			return answer200("X-Virus-ID: Win.Test.EICAR_HDB-1\r\n", "HTTP/1.1 403 Forbidden", nil)
		}, nil, false, "Win.Test.EICAR_HDB-1"},
		{"violations", nil, func(*fakeReq) string {
			return answer200("X-Violations-Found: 1\r\n\tfile.bin\r\n\tEicar-Test-Signature\r\n\t2\r\n\t0\r\n", "HTTP/1.1 200 OK", data)
		}, false, "Eicar-Test-Signature"},
		{"HTTP 403", nil, func(*fakeReq) string { return answer200("", "HTTP/1.1 403 Forbidden", []byte("no")) }, false, "ICAP server answered HTTP 403 Forbidden"},
		{"short body", nil, func(r *fakeReq) string { return answer200("", "HTTP/1.1 200 OK", r.Body[:150]) }, false, "ICAP server returned 150 of 5000 bytes"},
	} {
		s := newFakeICAP(t, func(s *fakeICAP) { s.preview, s.final = tc.preview, tc.final })
		h := newTestICAP(t, s, 5*time.Second)
		for range 2 { // the second on the same connection
			v, err := h.Inspect(context.Background(), testObject(false), spoolOf(t, data, 1<<20))
			if err != nil || v.Allow != tc.allow || v.Reason != tc.reason || v.Hook != "av" {
				t.Errorf("%s: %+v %v, want allow %v, reason %q", tc.name, v, err, tc.allow, tc.reason)
			}
		}
		if accepts, _, _ := s.stats(); accepts != 1 {
			t.Errorf("%s: %d connections, want 1", tc.name, accepts)
		}
	}
}

// TestICAPFailures: answers that are no verdict are errors naming the hook and the server,
// and the OPTIONS are learnt again after one.
func TestICAPFailures(t *testing.T) {
	data := pattern(3000)
	for _, tc := range []struct {
		name, options string
		final         func(r *fakeReq) string
		upload, close bool
		want          string
	}{
		{"500", "", func(*fakeReq) string { return "ICAP/1.0 500 Server Error\r\n\r\n" }, false, false, "ICAP server answered 500 Server Error"},
		{"garbage", "", func(*fakeReq) string { return "HTTP/1.1 200 OK\r\n\r\n" }, false, false, "malformed status line"},
		{"cut body", "", func(*fakeReq) string { return answer200("", "HTTP/1.1 200 OK", data)[:300] }, false, true, "unexpected EOF"},
		{"no REQMOD", "ICAP/1.0 200 OK\r\nMethods: RESPMOD\r\nEncapsulated: null-body=0\r\n\r\n", nil, true, false, "does not offer REQMOD"},
		{"OPTIONS 404", "ICAP/1.0 404 Service Not Found\r\n\r\n", nil, false, false, "OPTIONS answered 404 Service Not Found"},
	} {
		s := newFakeICAP(t, func(s *fakeICAP) { s.optionsAnswer, s.final, s.closeAfter = tc.options, tc.final, tc.close })
		h := newTestICAP(t, s, 5*time.Second)
		for range 2 {
			_, err := h.Inspect(context.Background(), testObject(tc.upload), spoolOf(t, data, 1<<20))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "av: ICAP server "+s.ln.Addr().String()+": ") {
				t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
			}
		}
		if _, options, _ := s.stats(); options != 2 {
			t.Errorf("%s: %d OPTIONS, want 2 (learnt again after the failure)", tc.name, options)
		}
	}
}

// TestICAPTimeout: a server that never answers fails the hook within its timeout.
func TestICAPTimeout(t *testing.T) {
	s := newFakeICAP(t, func(s *fakeICAP) { s.silent = true })
	h := newTestICAP(t, s, 300*time.Millisecond)
	start := time.Now()
	_, err := h.Inspect(context.Background(), testObject(false), spoolOf(t, pattern(10), 100))
	if err == nil || !strings.Contains(err.Error(), "no verdict within 300ms") {
		t.Errorf("silent server: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("silent server: failed after %s", took)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	h = newTestICAP(t, s, time.Minute)
	if _, err := h.Inspect(ctx, testObject(false), spoolOf(t, pattern(10), 100)); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("cancelled: %v", err)
	}
}

// TestICAPStale: an idle connection the server closed is retried once on a new one.
func TestICAPStale(t *testing.T) {
	s := newFakeICAP(t, func(s *fakeICAP) { s.closeAfter = true })
	h := newTestICAP(t, s, 5*time.Second)
	for i := range 3 {
		v, err := h.Inspect(context.Background(), testObject(i == 1), spoolOf(t, pattern(50_000), 1<<20))
		if err != nil || !v.Allow {
			t.Fatalf("request %d: %+v %v", i, v, err)
		}
		time.Sleep(20 * time.Millisecond) // the close reaches the client
	}
	if accepts, options, _ := s.stats(); accepts != 4 || options != 1 {
		t.Errorf("%d connections, %d OPTIONS; want 4 and 1", accepts, options)
	}
}

// TestICAPConcurrent: many sessions share one hook; at most MaxIdle connections stay.
func TestICAPConcurrent(t *testing.T) {
	s := newFakeICAP(t, func(s *fakeICAP) {
		s.final = func(r *fakeReq) string { return answer200("", "HTTP/1.1 200 OK", r.Body) }
	})
	h := newTestICAP(t, s, 5*time.Second)
	h.MaxIdle = 2
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sp := NewSpool("", 1<<20, 0)
			defer sp.Close()
			sp.Write(pattern(2000 * (i + 1)))
			if v, err := h.Inspect(context.Background(), testObject(i%2 == 0), sp); err != nil || !v.Allow {
				t.Errorf("session %d: %+v %v", i, v, err)
			}
		}()
	}
	wg.Wait()
	h.mu.Lock()
	idle := len(h.idle)
	h.mu.Unlock()
	if idle > 2 {
		t.Errorf("%d idle connections, MaxIdle 2", idle)
	}
}

// TestICAPOptions: without a preview the body goes whole at once; an Options-TTL that ran
// out has the OPTIONS learnt again.
func TestICAPOptions(t *testing.T) {
	s := newFakeICAP(t, func(s *fakeICAP) {
		s.optionsAnswer = "ICAP/1.0 200 OK\r\nMethods: REQMOD, RESPMOD\r\nOptions-TTL: 0\r\nEncapsulated: null-body=0\r\n\r\n"
		s.final = func(r *fakeReq) string { return answer200("", "HTTP/1.1 200 OK", r.Body) }
	})
	h := newTestICAP(t, s, 5*time.Second)
	for i, size := range []int{0, 70_000, 1_000_000} {
		data := pattern(size)
		v, err := h.Inspect(context.Background(), testObject(i == 1), spoolOf(t, data, 1<<16))
		if err != nil || !v.Allow {
			t.Fatalf("%d bytes: %+v %v", size, v, err)
		}
		_, _, reqs := s.stats()
		if r := reqs[len(reqs)-1]; !bytes.Equal(r.Body, data) || r.IEOF || r.Header.Get("Preview") != "" {
			t.Errorf("%d bytes: server got %d bytes, ieof %v, Preview %q", size, len(r.Body), r.IEOF, r.Header.Get("Preview"))
		}
	}
	if accepts, options, _ := s.stats(); accepts != 1 || options != 3 {
		t.Errorf("%d connections, %d OPTIONS; want 1 and 3", accepts, options)
	}
}
