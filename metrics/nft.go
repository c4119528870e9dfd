package metrics

import (
	"context"

	"github.com/ftpgate/ftpgate/nft"
)

// Installer returns inst with its failed operations counted (ftpgate_nft_errors_total); a
// nil *Metrics returns inst itself.
func (m *Metrics) Installer(inst nft.Installer) nft.Installer {
	if m == nil {
		return inst
	}
	return &countedInstaller{inst: inst, m: m}
}

// countedInstaller is an nft.Installer that counts the failures of the one it wraps.
type countedInstaller struct {
	inst nft.Installer
	m    *Metrics
}

// count counts err, if any, under op and returns it.
func (c *countedInstaller) count(op string, err error) error {
	if err != nil {
		c.m.NftError(op)
	}
	return err
}

func (c *countedInstaller) Setup(ctx context.Context) error {
	return c.count("setup", c.inst.Setup(ctx))
}

func (c *countedInstaller) Teardown(ctx context.Context) error {
	return c.count("teardown", c.inst.Teardown(ctx))
}

func (c *countedInstaller) Add(ctx context.Context, e nft.Element) error {
	return c.count("add", c.inst.Add(ctx, e))
}

func (c *countedInstaller) Delete(ctx context.Context, e nft.Element) error {
	return c.count("delete", c.inst.Delete(ctx, e))
}

func (c *countedInstaller) Check(ctx context.Context) error {
	return c.count("check", c.inst.Check(ctx))
}
