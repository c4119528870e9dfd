package nft

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Operator is the Installer for a table the operator's rule set defines (deploy/ftpgate.nft,
// loaded by /etc/nftables.conf; `ftpgate run -manage-table=false`). It creates nothing but set
// elements: Setup and Check only verify that the table has what ftpgate needs (Verify), and
// Teardown deletes the elements this Operator added and has not deleted yet, never the table,
// its sets or chains.
type Operator struct {
	n *Netlink

	mu    sync.Mutex
	added map[string]Element // by set key: elements added and not deleted
}

var _ Installer = (*Operator)(nil)

// NewOperator returns an Operator for cfg (zero fields take their defaults). It validates cfg
// but does not touch the kernel; call Setup to verify the table.
func NewOperator(cfg Config, opts ...Option) (*Operator, error) {
	n, err := NewNetlink(cfg, opts...)
	if err != nil {
		return nil, err
	}
	return &Operator{n: n, added: make(map[string]Element)}, nil
}

// Config returns the configuration with defaults applied.
func (o *Operator) Config() Config { return o.n.Config() }

// QueueStmt reports QueueOperator when the operator's table has the queue chain (found by
// the last Setup or Check), else QueueNone.
func (o *Operator) QueueStmt() QueueStmt { return o.n.QueueStmt() }

// Setup verifies the operator's table (see Netlink.Verify); it changes nothing.
func (o *Operator) Setup(ctx context.Context) error {
	if err := o.n.Verify(ctx); err != nil {
		return err
	}
	o.n.log.Info("nftables table of the operator's rule set verified", "control_ports", o.n.cfg.controlPorts(),
		"control_listen", o.n.cfg.ControlListen, "data_listen", o.n.cfg.DataListen)
	return nil
}

// Check verifies the operator's table, like Setup, and then re-adds the elements this
// Operator added that the sets no longer hold. Loading the rule set again (nft -f
// /etc/nftables.conf) replaces the table in one transaction, emptying the sets without a
// moment in which the table is missing; without this the expectations of data channels not
// yet connected would be gone. An element that expired in the kernel a moment before the
// registry deletes it may be re-added needlessly; it expires again.
func (o *Operator) Check(ctx context.Context) error {
	if err := o.n.Verify(ctx); err != nil {
		return err
	}
	return o.readd(ctx)
}

// readd adds again the tracked elements missing from the sets.
func (o *Operator) readd(ctx context.Context) error {
	o.mu.Lock()
	n := len(o.added)
	o.mu.Unlock()
	if n == 0 {
		return nil
	}
	have, err := o.n.Elements(ctx)
	if err != nil {
		return err
	}
	present := make(map[string]bool, len(have))
	for _, e := range have {
		present[keyOf(e)] = true
	}
	o.mu.Lock()
	var missing []Element
	for k, e := range o.added {
		if !present[k] {
			missing = append(missing, e)
		}
	}
	o.mu.Unlock()
	var errs []error
	readded := 0
	for _, e := range missing {
		o.mu.Lock()
		_, still := o.added[keyOf(e)] // not deleted meanwhile
		o.mu.Unlock()
		if !still {
			continue
		}
		if err := o.n.Add(ctx, e); err != nil {
			errs = append(errs, err)
			continue
		}
		readded++
	}
	if readded > 0 {
		o.n.log.Warn("nftables sets lost elements (the rule set was reloaded?): re-added ftpgate's expectations", "elements", readded)
	}
	return errors.Join(errs...)
}

// Add adds e to its set (see Netlink.Add) and remembers it for Teardown.
func (o *Operator) Add(ctx context.Context, e Element) error {
	if err := o.n.Add(ctx, e); err != nil {
		return err
	}
	e, _ = e.normalize() // Add succeeded: e is valid
	o.mu.Lock()
	o.added[keyOf(e)] = e
	o.mu.Unlock()
	return nil
}

// Delete removes e from its set (see Netlink.Delete).
func (o *Operator) Delete(ctx context.Context, e Element) error {
	if err := o.n.Delete(ctx, e); err != nil {
		return err
	}
	if e, err := e.normalize(); err == nil {
		o.mu.Lock()
		delete(o.added, keyOf(e))
		o.mu.Unlock()
	}
	return nil
}

// Elements lists the elements of data4 and data6 (see Netlink.Elements): the operator's too.
func (o *Operator) Elements(ctx context.Context) ([]Element, error) { return o.n.Elements(ctx) }

// Teardown deletes the elements this Operator added and did not delete; the table, its sets
// and chains stay. Elements already gone are not an error.
func (o *Operator) Teardown(ctx context.Context) error {
	o.mu.Lock()
	left := make([]Element, 0, len(o.added))
	for _, e := range o.added {
		left = append(left, e)
	}
	o.mu.Unlock()
	var errs []error
	for _, e := range left {
		if err := o.Delete(ctx, e); err != nil {
			errs = append(errs, err)
		}
	}
	if err := o.n.lock(ctx); err == nil { // the daemon is done with netlink
		o.n.drop()
		o.n.unlock()
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("nft: remove ftpgate's elements: %w", err)
	}
	o.n.log.Info("ftpgate's nftables elements removed; the table stays", "elements", len(left))
	return nil
}
