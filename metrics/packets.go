package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ftpgate/ftpgate/pktfilter"
)

// Packets counts the packet filter's work; it is the queue's pktfilter.Observer. A nil
// *Packets records nothing.
type Packets struct {
	verdicts [4]prometheus.Counter // by pktfilter.Action
	bytes    prometheus.Counter
	hold     prometheus.Histogram
	unknown  [2]prometheus.Counter // closed, bypass
}

var _ pktfilter.Observer = (*Packets)(nil)

// actionNames are the verdict labels, indexed by pktfilter.Action.
var actionNames = [4]string{"accept", "drop", "rewrite", "stop"}

// Packets returns the packet filter's metrics, registered on first use (nil for a nil
// *Metrics).
func (m *Metrics) Packets() *Packets {
	if m == nil {
		return nil
	}
	m.packetsOnce.Do(func() {
		verdicts := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ftpgate_packet_filter_packets_total",
			Help: "Packets of kernel path data channels the packet filter judged, by verdict (accept, drop, rewrite, stop)."},
			[]string{"verdict"})
		unknown := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ftpgate_packet_filter_unknown_total",
			Help: "Queued packets of no connection ftpgate knows (an earlier run's, say), by queue (bypass: passed; closed: dropped)."},
			[]string{"queue"})
		p := &Packets{
			bytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "ftpgate_packet_filter_bytes_total",
				Help: "TCP payload bytes of the packets the packet filter judged (retransmissions counted again)."}),
			hold: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ftpgate_packet_filter_hold_seconds",
				Help:    "Time a packet waited in ftpgate for its verdict (the rate cap's delay included).",
				Buckets: prometheus.ExponentialBuckets(0.00001, 4, 9)}),
		}
		for i, name := range actionNames {
			p.verdicts[i] = verdicts.WithLabelValues(name)
		}
		p.unknown[0], p.unknown[1] = unknown.WithLabelValues("closed"), unknown.WithLabelValues("bypass")
		m.reg.MustRegister(verdicts, unknown, p.bytes, p.hold)
		m.packets = p
	})
	return m.packets
}

// Judged counts one judged packet.
func (p *Packets) Judged(a pktfilter.Action, payload int, hold time.Duration) {
	if p == nil {
		return
	}
	if int(a) >= 0 && int(a) < len(p.verdicts) {
		p.verdicts[a].Inc()
	}
	p.bytes.Add(float64(payload))
	p.hold.Observe(hold.Seconds())
}

// Unknown counts a queued packet of no known connection.
func (p *Packets) Unknown(bypass bool) {
	if p == nil {
		return
	}
	i := 0
	if bypass {
		i = 1
	}
	p.unknown[i].Inc()
}
