package nft

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"
)

// Netlink is the Installer that programs the kernel through google/nftables.
//
// Operations are serialised: one at a time per Netlink, in call order of the lock. Each one
// builds its batch on a fresh nftables.Conn, because a Conn keeps the first marshalling
// error forever and offers no way to drop queued messages; the Conn holds no socket, so this
// costs nothing beyond the per-operation netlink socket google/nftables dials anyway.
type Netlink struct {
	cfg  Config
	opts options
	log  *slog.Logger
	// sem is a one-slot semaphore, a mutex that a context can abandon.
	sem        chan struct{}
	table      *nftables.Table
	set4, set6 *nftables.Set
	// lc is the lasting netlink connection every operation uses (guarded by sem); nil until
	// the first one, and again after an error. A socket per operation costs milliseconds:
	// closing one waits for the kernel (about 12 ms for a delete, against 15 µs on a lasting
	// one), which bounded data channel set-up to about 75 per second.
	lc *nftables.Conn
	// queue is the statement of the queue chain's rules the last Setup used ("" before).
	queue QueueStmt
}

// QueueStmt reports how the table's queue chain hands packets to the packet filter's
// queues: the statement the kernel took at Setup, or QueueNone (no queue chain: no Queue
// configured, the kernel has no queue statement, or Setup has not run).
func (n *Netlink) QueueStmt() QueueStmt {
	n.sem <- struct{}{}
	defer n.unlock()
	if n.queue == "" {
		return QueueNone
	}
	return n.queue
}

var _ Installer = (*Netlink)(nil)

// NewNetlink returns a Netlink for cfg (zero fields take their defaults). It validates cfg
// but does not touch the kernel; call Setup.
func NewNetlink(cfg Config, opts ...Option) (*Netlink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	o := newOptions(opts)
	t := &nftables.Table{Name: cfg.Table, Family: nftables.TableFamilyINet}
	n := &Netlink{cfg: cfg, opts: o, log: o.logger.With("table", cfg.Table), sem: make(chan struct{}, 1), table: t}
	n.set4, n.set6 = newSets(t, cfg)
	return n, nil
}

// Config returns the configuration with defaults applied.
func (n *Netlink) Config() Config { return n.cfg }

// lock takes the semaphore or gives up when ctx is done.
func (n *Netlink) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case n.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (n *Netlink) unlock() { <-n.sem }

// conn returns the lasting connection, dialling it first if needed; sem is held.
func (n *Netlink) conn() (*nftables.Conn, error) {
	if n.lc == nil {
		c, err := n.opts.lastingConn()
		if err != nil {
			return nil, err
		}
		n.lc = c
	}
	return n.lc, nil
}

// dropIfFailed drops the lasting connection if *err is set; sem is held.
func (n *Netlink) dropIfFailed(err *error) {
	if *err != nil {
		n.drop()
	}
}

// drop closes the lasting connection after a failed operation, so that nothing the kernel
// still had to say about it answers the next one; sem is held.
func (n *Netlink) drop() {
	if n.lc != nil {
		n.lc.CloseLasting()
		n.lc = nil
	}
}

// Setup builds table, sets, chain and rules in one atomic batch. A stale table of the same
// name (from a crashed run) is deleted in the same batch: the batch first adds the table
// (a no-op if it exists), then deletes it, then builds it anew, so there is no window without
// rules and no "table not found" case.
func (n *Netlink) Setup(ctx context.Context) (err error) {
	if err := n.lock(ctx); err != nil {
		return fmt.Errorf("nft: setup: %w", err)
	}
	defer n.unlock()
	if n.cfg.Queue == 0 {
		return n.setupLocked(QueueNone)
	}
	// The queue chain with the statement the kernel has: nft's own queue, else the xtables
	// target, else none (the rest of the table still works; packet filters do not).
	stmts := []QueueStmt{QueueNative, QueueXT, QueueNone}
	if n.queue != "" {
		stmts = append([]QueueStmt{n.queue}, stmts...) // a rebuild tries what worked before first
	}
	var (
		errs   []error
		failed []string
	)
	for _, stmt := range stmts {
		err := n.setupLocked(stmt)
		if err == nil {
			if stmt != n.queue {
				n.log.Info("packet filter queue chain", "statement", string(stmt), "queues", []uint16{n.cfg.Queue, n.cfg.Queue + 1}, "kernel_refused", failed)
			}
			n.queue = stmt
			return nil
		}
		failed = append(failed, string(stmt))
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// setupLocked builds the table with the queue chain's rules made of stmt (none: no queue chain).
func (n *Netlink) setupLocked(stmt QueueStmt) (err error) {
	c, err := n.conn()
	defer n.dropIfFailed(&err)
	if err != nil {
		return fmt.Errorf("nft: setup: %w", err)
	}
	rs := buildRules(n.table, n.cfg)
	// add table inet ftpgate; delete table inet ftpgate; add table inet ftpgate
	c.AddTable(n.table)
	c.DelTable(n.table)
	c.AddTable(n.table)
	if err := c.AddSet(rs.set4, nil); err != nil {
		return fmt.Errorf("nft: setup: set %s: %w", SetData4, err)
	}
	if err := c.AddSet(rs.set6, nil); err != nil {
		return fmt.Errorf("nft: setup: set %s: %w", SetData6, err)
	}
	if rs.ports != nil {
		if err := c.AddSet(rs.ports, rs.portElems); err != nil {
			return fmt.Errorf("nft: setup: control port set: %w", err)
		}
	}
	c.AddChain(rs.chain)
	for _, exprs := range rs.rules {
		c.AddRule(&nftables.Rule{Table: n.table, Chain: rs.chain, Exprs: exprs})
	}
	c.AddChain(rs.guard)
	for _, exprs := range rs.guardRules {
		c.AddRule(&nftables.Rule{Table: n.table, Chain: rs.guard, Exprs: exprs})
	}
	c.AddChain(rs.cut)
	for _, exprs := range rs.cutRules {
		c.AddRule(&nftables.Rule{Table: n.table, Chain: rs.cut, Exprs: exprs})
	}
	if stmt != QueueNone {
		q := c.AddChain(queueChain(n.table))
		for _, r := range queueRules(n.cfg.Queue) {
			c.AddRule(&nftables.Rule{Table: n.table, Chain: q, Exprs: r.exprs(stmt)})
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nft: setup table inet %s: %w", n.cfg.Table, classifySetup(err))
	}
	n.log.Info("nftables table installed", "control_ports", n.cfg.controlPorts(),
		"control_listen", n.cfg.ControlListen, "data_listen", n.cfg.DataListen)
	return nil
}

// classifySetup adds a hint to the errnos a Setup batch fails with on a limited kernel.
func classifySetup(err error) error {
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return &kernelError{hint: "need CAP_NET_ADMIN", err: err}
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.EOPNOTSUPP):
		return &kernelError{hint: "kernel lacks nf_tables socket/tproxy support", err: err}
	}
	return err
}

// Teardown deletes the table with everything in it. A missing table is not an error.
func (n *Netlink) Teardown(ctx context.Context) (err error) {
	if err := n.lock(ctx); err != nil {
		return fmt.Errorf("nft: teardown: %w", err)
	}
	defer n.unlock()
	defer n.drop() // the daemon is done with netlink
	c, err := n.conn()
	defer n.dropIfFailed(&err)
	if err != nil {
		return fmt.Errorf("nft: teardown: %w", err)
	}
	// delete table inet ftpgate
	c.DelTable(n.table)
	if err := c.Flush(); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("nft: teardown table inet %s: %w", n.cfg.Table, err)
	}
	n.log.Info("nftables table deleted")
	return nil
}

// Add adds e to data4 or data6 (by family) with e.Timeout, or the set's default timeout when
// it is zero. Re-adding an element that exists is not an error and does not refresh its
// expiry. Adding before Setup fails with ENOENT.
func (n *Netlink) Add(ctx context.Context, e Element) (err error) {
	e, err = e.normalize()
	if err != nil {
		return err
	}
	if err := n.lock(ctx); err != nil {
		return fmt.Errorf("nft: add %v: %w", e, err)
	}
	defer n.unlock()
	c, err := n.conn()
	defer n.dropIfFailed(&err)
	if err != nil {
		return fmt.Errorf("nft: add %v: %w", e, err)
	}
	// add element inet ftpgate data4 { 198.51.100.2 . 203.0.113.2 . 40001 timeout 30s comment "session 12 PASV" }
	// The comment travels as NFTA_SET_ELEM_USERDATA with the NFTNL_UDATA_SET_ELEM_COMMENT
	// TLV, as nft writes it; the set needs no flag for it.
	if err := c.SetAddElements(n.set(e), []nftables.SetElement{{Key: e.key(), Timeout: e.Timeout, Comment: e.Comment}}); err != nil {
		return fmt.Errorf("nft: add %v: %w", e, err)
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nft: add %v: %w", e, err)
	}
	n.log.Debug("expectation added", "set", e.setName(), "element", e.String())
	return nil
}

// Delete removes e from its set. An element that is already gone (used, expired, or the
// table itself is gone) is not an error.
func (n *Netlink) Delete(ctx context.Context, e Element) (err error) {
	e, err = e.normalize()
	if err != nil {
		return err
	}
	e.Timeout, e.Comment = 0, ""
	if err := n.lock(ctx); err != nil {
		return fmt.Errorf("nft: delete %v: %w", e, err)
	}
	defer n.unlock()
	c, err := n.conn()
	defer n.dropIfFailed(&err)
	if err != nil {
		return fmt.Errorf("nft: delete %v: %w", e, err)
	}
	// delete element inet ftpgate data4 { 198.51.100.2 . 203.0.113.2 . 40001 }
	if err := c.SetDeleteElements(n.set(e), []nftables.SetElement{{Key: e.key()}}); err != nil {
		return fmt.Errorf("nft: delete %v: %w", e, err)
	}
	if err := c.Flush(); err != nil {
		if errors.Is(err, unix.ENOENT) {
			n.log.Debug("expectation already gone", "set", e.setName(), "element", e.String())
			return nil
		}
		return fmt.Errorf("nft: delete %v: %w", e, err)
	}
	n.log.Debug("expectation deleted", "set", e.setName(), "element", e.String())
	return nil
}

// Elements lists the elements of data4 and data6, IPv4 first, each sorted by source,
// destination and port. An element's Timeout is its remaining lifetime as the kernel reports
// it. It fails when the table does not exist.
func (n *Netlink) Elements(ctx context.Context) (_ []Element, err error) {
	if err := n.lock(ctx); err != nil {
		return nil, fmt.Errorf("nft: list elements: %w", err)
	}
	defer n.unlock()
	c, err := n.conn()
	defer n.dropIfFailed(&err)
	if err != nil {
		return nil, fmt.Errorf("nft: list elements: %w", err)
	}
	var out []Element
	for _, s := range []*nftables.Set{n.set4, n.set6} {
		elems, err := c.GetSetElements(s)
		if err != nil {
			return nil, fmt.Errorf("nft: list elements of %s: %w", s.Name, err)
		}
		for _, se := range elems {
			e, err := elementFromKey(se.Key)
			if err != nil {
				return nil, fmt.Errorf("nft: list elements of %s: %w", s.Name, err)
			}
			e.Timeout, e.Comment = se.Expires, se.Comment
			out = append(out, e)
		}
	}
	slices.SortFunc(out, compareElements)
	return out, nil
}

// set returns the set description that holds e (normalized).
func (n *Netlink) set(e Element) *nftables.Set {
	if e.Src.Is4() {
		return n.set4
	}
	return n.set6
}
