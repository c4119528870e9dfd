package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ftpgate/ftpgate/pktfilter"
)

func TestPacketMetrics(t *testing.T) {
	m := New()
	p := m.Packets()
	if m.Packets() != p {
		t.Fatal("Packets registered twice")
	}
	p.Judged(pktfilter.Accept, 1000, time.Millisecond)
	p.Judged(pktfilter.Accept, 500, 2*time.Millisecond)
	p.Judged(pktfilter.Stop, 100, 50*time.Millisecond)
	p.Unknown(true)
	want := `
# HELP ftpgate_packet_filter_packets_total Packets of kernel path data channels the packet filter judged, by verdict (accept, drop, rewrite, stop).
# TYPE ftpgate_packet_filter_packets_total counter
ftpgate_packet_filter_packets_total{verdict="accept"} 2
ftpgate_packet_filter_packets_total{verdict="drop"} 0
ftpgate_packet_filter_packets_total{verdict="rewrite"} 0
ftpgate_packet_filter_packets_total{verdict="stop"} 1
# HELP ftpgate_packet_filter_bytes_total TCP payload bytes of the packets the packet filter judged (retransmissions counted again).
# TYPE ftpgate_packet_filter_bytes_total counter
ftpgate_packet_filter_bytes_total 1600
# HELP ftpgate_packet_filter_unknown_total Queued packets of no connection ftpgate knows (an earlier run's, say), by queue (bypass: passed; closed: dropped).
# TYPE ftpgate_packet_filter_unknown_total counter
ftpgate_packet_filter_unknown_total{queue="bypass"} 1
ftpgate_packet_filter_unknown_total{queue="closed"} 0
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"ftpgate_packet_filter_packets_total", "ftpgate_packet_filter_bytes_total", "ftpgate_packet_filter_unknown_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.Registry(), "ftpgate_packet_filter_hold_seconds"); n != 1 {
		t.Errorf("hold histogram: %d series", n)
	}
	var none *Metrics
	none.Packets().Judged(pktfilter.Drop, 1, 0) // a nil *Metrics records nothing
}
