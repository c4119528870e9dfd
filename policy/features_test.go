package policy

import (
	"context"
	"slices"
	"testing"
)

func TestFilterFeatures(t *testing.T) {
	server := []string{" MDTM", " MODE Z", " mlst type*;size*;modify*;", " REST STREAM", " SIZE", " UTF8", " AUTH TLS"}
	tests := []struct {
		name   string
		remove []string
		add    []string
		want   []string
	}{
		{"nothing", nil, nil, server},
		{"mode z", []string{"MODE Z"}, nil,
			[]string{" MDTM", " mlst type*;size*;modify*;", " REST STREAM", " SIZE", " UTF8", " AUTH TLS"}},
		{"first word, any case", []string{"MLST", "utf8"}, nil,
			[]string{" MDTM", " MODE Z", " REST STREAM", " SIZE", " AUTH TLS"}},
		{"whole line only", []string{"REST", "AUTH SSL"}, nil,
			[]string{" MDTM", " MODE Z", " mlst type*;size*;modify*;", " SIZE", " UTF8", " AUTH TLS"}},
		{"add missing", nil, []string{"EPSV", "SIZE", "auth tls", "AUTH SSL"},
			append(slices.Clone(server), " EPSV", " AUTH SSL")},
		{"remove and add", []string{"MODE Z", "AUTH TLS"}, []string{"AUTH TLS"},
			[]string{" MDTM", " mlst type*;size*;modify*;", " REST STREAM", " SIZE", " UTF8", " AUTH TLS"}},
	}
	for _, tt := range tests {
		p := &Policy{Features: Features{Remove: tt.remove, Add: tt.add}}
		in := slices.Clone(server)
		got := p.NewSession(Info{}).FilterFeatures(in)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
		if !slices.Equal(in, server) {
			t.Errorf("%s: input modified", tt.name)
		}
	}
	if got := (&Policy{Features: Features{Add: []string{"EPSV"}}}).NewSession(Info{}).FilterFeatures(nil); !slices.Equal(got, []string{" EPSV"}) {
		t.Errorf("empty FEAT: %q", got)
	}
}

func TestOptsForRemovedFeature(t *testing.T) {
	ctx := context.Background()
	p := allowAll()
	p.Features.Remove = []string{"MODE Z", "UTF8"}
	tests := []struct {
		arg      string
		wantCode int
	}{
		{"MODE Z LEVEL 5", 501},
		{"mode z", 501},
		{"UTF8 ON", 501},
		{"utf8", 501},
		{"MODE S", 0},
		{"MLST type;size;", 0},
		{"UTF8X ON", 0},
		{"", 0},
	}
	for _, tt := range tests {
		v := p.NewSession(Info{}).Command(ctx, "OPTS", tt.arg)
		if tt.wantCode == 0 && v.Kind != Accept || tt.wantCode != 0 && (v.Kind != Reject || v.Code != tt.wantCode || v.Text != "Option not supported.") {
			t.Errorf("OPTS %q: %+v", tt.arg, v)
		}
	}
}
