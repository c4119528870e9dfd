package nft

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/xt"
	"golang.org/x/sys/unix"
)

// ChainQueue sends the packets of kernel path connections under a packet filter to an
// NFQUEUE queue (hooked at forward, after cut, before the filter priority). Which packets go
// is in the connection's mark (kpath sets it): the queue flags below, inside the kernel path's
// mark 0x46xxxxxx.
const ChainQueue = "pktqueue"

// The queue flags of a kernel path connection's mark (under QueueFlagsMask): which of its
// directions go to a queue, and whether the kernel lets them pass when no one reads the
// queue (bypass: queue Config.Queue) or drops them (queue Config.Queue+1).
const (
	QueueOriginal  uint32 = 0x00100000
	QueueReply     uint32 = 0x00200000
	QueueBypass    uint32 = 0x00400000
	QueueFlagsMask uint32 = 0x00f00000
)

// DefaultQueue is the first of the packet filter's two queues when Config.Queue is left 0 by
// the caller that wants one (ftpgate run -queue).
const DefaultQueue = 2122

// QueueStmt is how the queue chain's rules hand packets to a queue.
type QueueStmt string

// The queue statements.
const (
	// QueueNative is nft's own `queue` statement (CONFIG_NFT_QUEUE).
	QueueNative QueueStmt = "nft queue"
	// QueueXT is the xtables NFQUEUE target through nft_compat (CONFIG_NFT_COMPAT and
	// CONFIG_NETFILTER_XT_TARGET_NFQUEUE): nft lists it as `queue` too, but nft cannot
	// load it from text.
	QueueXT QueueStmt = "xt NFQUEUE"
	// QueueNone: no queue chain (no Queue configured, or the kernel has neither
	// statement); no packet filter works.
	QueueNone QueueStmt = "none"
	// QueueOperator: the operator's rule set has the queue chain (-manage-table=false).
	QueueOperator QueueStmt = "operator's rule set"
)

// queueRule is one rule of the queue chain: connections whose mark has want under mask,
// packets of direction dir, to queue num.
type queueRule struct {
	mask, want uint32
	dir        byte // IP_CT_DIR_ORIGINAL 0, IP_CT_DIR_REPLY 1
	num        uint16
	bypass     bool
}

// queueRules are the four rules of the queue chain for queues q (bypass) and q+1.
func queueRules(q uint16) []queueRule {
	var out []queueRule
	for _, bypass := range []bool{false, true} {
		num, b := q+1, uint32(0)
		if bypass {
			num, b = q, QueueBypass
		}
		out = append(out,
			queueRule{mask: KernelMarkMask | QueueBypass | QueueOriginal, want: KernelMark | b | QueueOriginal, dir: 0, num: num, bypass: bypass},
			queueRule{mask: KernelMarkMask | QueueBypass | QueueReply, want: KernelMark | b | QueueReply, dir: 1, num: num, bypass: bypass})
	}
	return out
}

// text is the rule as nft writes it, e.g.
//
//	ct mark & 0xff500000 == 0x46100000 ct direction original queue num 2123
func (r queueRule) text() string {
	dir := "original"
	if r.dir == 1 {
		dir = "reply"
	}
	s := fmt.Sprintf("ct mark & 0x%08x == 0x%08x ct direction %s queue num %d", r.mask, r.want, dir, r.num)
	if r.bypass {
		s += " bypass"
	}
	return s
}

// exprs builds the rule with the statement stmt (QueueNative or QueueXT).
func (r queueRule) exprs(stmt QueueStmt) []expr.Any {
	e := []expr.Any{
		// ct mark & MASK == WANT
		&expr.Ct{Register: regScratch, Key: expr.CtKeyMARK},
		&expr.Bitwise{SourceRegister: regScratch, DestRegister: regScratch, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(r.mask), Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpEq, Register: regScratch, Data: binaryutil.NativeEndian.PutUint32(r.want)},
		// ct direction original|reply
		&expr.Ct{Register: regScratch, Key: expr.CtKeyDIRECTION},
		&expr.Cmp{Op: expr.CmpOpEq, Register: regScratch, Data: []byte{r.dir}},
	}
	if stmt == QueueNative {
		// queue num N [bypass]
		q := &expr.Queue{Num: r.num}
		if r.bypass {
			q.Flag = expr.QueueFlagBypass
		}
		return append(e, q)
	}
	// The xt_NFQUEUE_info_v3 of `-j NFQUEUE --queue-num N [--queue-bypass]`, in host order:
	// queuenum u16, queues_total u16, flags u16 (NFQ_FLAG_BYPASS 1).
	info := make([]byte, 6)
	binary.NativeEndian.PutUint16(info[0:], r.num)
	binary.NativeEndian.PutUint16(info[2:], 1)
	if r.bypass {
		binary.NativeEndian.PutUint16(info[4:], 1)
	}
	u := xt.Unknown(info)
	return append(e, &expr.Target{Name: "NFQUEUE", Rev: 3, Info: &u})
}

// queueChain is the chain that holds the queue rules:
//
//	chain queue { type filter hook forward priority -4; policy accept; }
func queueChain(t *nftables.Table) *nftables.Chain {
	accept := nftables.ChainPolicyAccept
	return &nftables.Chain{
		Name: ChainQueue, Table: t, Type: nftables.ChainTypeFilter,
		Hooknum:  nftables.ChainHookRef(unix.NF_INET_FORWARD),
		Priority: nftables.ChainPriorityRef(-4),
		Policy:   &accept,
	}
}

// RenderQueueChain returns the queue chain block of cfg's table (cfg.Queue not 0) as nft
// text, for a rule set file: nft loads it only on a kernel with the nft queue statement.
func RenderQueueChain(cfg Config) string {
	var b strings.Builder
	renderQueue(&b, cfg.WithDefaults())
	return strings.TrimPrefix(b.String(), "\n")
}

// renderQueue writes the queue chain block of cfg (which has a queue).
func renderQueue(b *strings.Builder, cfg Config) {
	fmt.Fprintf(b, "\n\tchain %s {\n", ChainQueue)
	b.WriteString("\t\ttype filter hook forward priority -4; policy accept;\n")
	for _, r := range queueRules(cfg.Queue) {
		fmt.Fprintf(b, "\t\t%s\n", r.text())
	}
	b.WriteString("\t}\n")
}

// ProbeQueue finds out, without leaving anything behind, which queue statement the kernel
// takes: in one batch it adds a table of its own with one rule that queues, and deletes it
// again (the batch is atomic, so the table is never seen). QueueNone with a nil error: the
// kernel has neither statement. It needs CAP_NET_ADMIN.
func ProbeQueue(ctx context.Context, opts ...Option) (QueueStmt, error) {
	if err := ctx.Err(); err != nil {
		return QueueNone, fmt.Errorf("nft: probe queue: %w", err)
	}
	o := newOptions(opts)
	t := &nftables.Table{Name: fmt.Sprintf("ftpgate-qprobe-%d", os.Getpid()), Family: nftables.TableFamilyINet}
	r := queueRules(DefaultQueue)[0]
	for _, stmt := range []QueueStmt{QueueNative, QueueXT} {
		c, err := o.conn()
		if err != nil {
			return QueueNone, fmt.Errorf("nft: probe queue: %w", classify(err))
		}
		c.AddTable(t)
		ch := c.AddChain(&nftables.Chain{Name: "probe", Table: t})
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: r.exprs(stmt)})
		c.DelTable(t)
		err = c.Flush()
		if err == nil {
			return stmt, nil
		}
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return QueueNone, fmt.Errorf("nft: probe queue: %w", classify(err))
		}
	}
	return QueueNone, nil
}
