package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"

	"github.com/ftpgate/ftpgate/policy"
	"github.com/ftpgate/ftpgate/policy/config"
)

// cmdCheck validates a configuration and prints the effective policy of every service:
// `ftpgate check [-c] FILE`.
func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs, path := checkFlags()
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	cSet := false
	fs.Visit(func(f *flag.Flag) { cSet = cSet || f.Name == "c" })
	switch {
	case fs.NArg() > 1 || fs.NArg() == 1 && cSet:
		fmt.Fprintln(stderr, "usage: ftpgate check [-c] FILE (one configuration file)")
		return exitUsage
	case fs.NArg() == 1:
		*path = fs.Arg(0)
	}
	c, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, configError(err))
		return exitError
	}
	if err := c.Describe(stdout); err != nil {
		fmt.Fprintln(stderr, "ftpgate check:", err)
		return exitError
	}
	fmt.Fprintf(stdout, "%s: ok\n", *path)
	return exitOK
}

// cmdPolicy runs `ftpgate policy test -c FILE [-service NAME | -client A -server A:P] TRANSCRIPT`.
func cmdPolicy(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "test" {
		fmt.Fprintln(stderr, "usage: ftpgate policy test -c FILE [-service NAME | -client ADDR -server ADDR:PORT] TRANSCRIPT")
		return exitUsage
	}
	fs, pt := policyTestFlags()
	fs.SetOutput(stderr)
	path, service, client, server := pt.path, pt.service, pt.client, pt.server
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "ftpgate policy test: want exactly one transcript file")
		return exitUsage
	}
	c, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, configError(err))
		return exitError
	}
	svc, err := pickService(c, *service, *client, *server)
	if err != nil {
		fmt.Fprintln(stderr, "ftpgate policy test:", err)
		return exitUsage
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "ftpgate policy test:", err)
		return exitError
	}
	defer f.Close()
	fmt.Fprintf(stdout, "service %s, policy %s\n", svc.Name, svc.PolicyName)
	sess := svc.Policy.NewSession(policy.Info{})
	if err := policy.Replay(ctx, sess, f, stdout); err != nil {
		fmt.Fprintln(stderr, "ftpgate policy test:", err)
		return exitError
	}
	return exitOK
}

// checkFlags defines the flags of `ftpgate check`; it returns the value of -c.
func checkFlags() (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("ftpgate check", flag.ContinueOnError)
	path := fs.String("c", defaultConfigPath, "configuration file (or give it as the argument)")
	return fs, path
}

// policyTestArgs are the flag values of `ftpgate policy test`.
type policyTestArgs struct {
	path, service, client, server *string
}

// policyTestFlags defines the flags of `ftpgate policy test`.
func policyTestFlags() (*flag.FlagSet, policyTestArgs) {
	fs := flag.NewFlagSet("ftpgate policy test", flag.ContinueOnError)
	return fs, policyTestArgs{
		path:    fs.String("c", defaultConfigPath, "configuration file"),
		service: fs.String("service", "", "the service whose policy to use (default: the first)"),
		client:  fs.String("client", "", "client address: pick the service as for a connection from it (with -server)"),
		server:  fs.String("server", "", "server address:port: pick the service as for a connection to it (with -client)"),
	}
}

// pickService finds the service by name, by addresses, or takes the first.
func pickService(c *config.Config, name, client, server string) (*config.Service, error) {
	switch {
	case name != "":
		for i := range c.Services {
			if c.Services[i].Name == name {
				return &c.Services[i], nil
			}
		}
		return nil, fmt.Errorf("no service %q", name)
	case client != "" || server != "":
		ca, err := netip.ParseAddr(client)
		if err != nil {
			return nil, fmt.Errorf("-client: %w", err)
		}
		sa, err := netip.ParseAddrPort(server)
		if err != nil {
			return nil, fmt.Errorf("-server: %w", err)
		}
		svc, ok := c.Match(netip.AddrPortFrom(ca, 0), sa)
		if !ok {
			return nil, fmt.Errorf("no service matches %s -> %s (such a connection is refused with 421)", ca, sa)
		}
		return svc, nil
	case len(c.Services) > 0:
		return &c.Services[0], nil
	}
	return nil, errors.New("the configuration has no service")
}
