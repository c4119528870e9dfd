// Command ftpgate is the transparent FTP gateway: `ftpgate run` serves, `ftpgate rules` prints
// the nftables table it would install, `ftpgate check` validates a configuration, `ftpgate
// reload` makes a running ftpgate reload it, `ftpgate sessions` lists (and kills) its live
// sessions and `ftpgate status` describes it, over its control socket, `ftpgate policy test`
// replays a transcript through a policy, `ftpgate version` prints its version, `ftpgate man`
// and `ftpgate completion bash` print the manual page and the bash completion generated from
// the flags.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=..." (make build, make deb);
// when it is empty, versionString falls back to the build information.
var version string

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // a failure while running
	exitUsage = 2 // bad command line
	exitEnv   = 3 // missing privileges or kernel support; nothing was changed
)

func main() {
	// Every signal ftpgate handles is caught from the first instant: a SIGHUP during start-up
	// waits for the reload watcher instead of killing the daemon (status 129), and SIGTERM
	// or SIGINT stop it cleanly whenever they come.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	os.Exit(runWith(ctx, os.Args[1:], os.Stdout, os.Stderr, hup))
}

// run runs one ftpgate command; SIGHUP is caught only once `run` watches for reloads.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runWith(ctx, args, stdout, stderr, nil)
}

// runWith runs one ftpgate command; hup, when not nil, delivers the SIGHUPs caught since the
// process started.
func runWith(ctx context.Context, args []string, stdout, stderr io.Writer, hup <-chan os.Signal) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "run":
		return cmdRun(ctx, args[1:], stderr, hup)
	case "rules":
		return cmdRules(args[1:], stdout, stderr)
	case "check":
		return cmdCheck(args[1:], stdout, stderr)
	case "reload":
		return cmdReload(ctx, args[1:], stdout, stderr)
	case "sessions":
		return cmdSessions(ctx, args[1:], stdout, stderr)
	case "status":
		return cmdStatus(ctx, args[1:], stdout, stderr)
	case "policy":
		return cmdPolicy(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "ftpgate %s\n", versionString())
		return exitOK
	case "man":
		return cmdMan(args[1:], stdout, stderr)
	case "completion":
		return cmdCompletion(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		usage(stdout)
		return exitOK
	default:
		fmt.Fprintf(stderr, "ftpgate: unknown command %q\n", args[0])
		usage(stderr)
		return exitUsage
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: ftpgate <command> [flags]

commands:
  run       run the gateway (needs CAP_NET_ADMIN; installs its nftables table and routing)
  rules     print the rule set file (nftables table, policy routing) for run's flags
  check     validate a configuration file and print the effective policy per service
  reload    make the running ftpgate reload its configuration (control socket, else -pid PID)
  sessions  list the live sessions; sessions kill ID ends one (control socket)
  status    version, uptime, configuration, sessions, listeners (control socket)
  policy    policy test -c FILE TRANSCRIPT: replay a transcript through a policy
  version   print the version
  man       print the manual page ftpgate(8) in roff
  completion bash
            print the bash completion script

Run "ftpgate <command> -h" for the flags of a command.
`)
}
