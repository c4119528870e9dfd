package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/ftpgate/ftpgate/internal/clidoc"
)

// program describes ftpgate's commands with their real flag sets, for `ftpgate man` and
// `ftpgate completion bash`.
func program() *clidoc.Program {
	runFlags := func(name string) *flag.FlagSet {
		fs := flag.NewFlagSet("ftpgate "+name, flag.ContinueOnError)
		defineFlags(fs, &options{})
		return fs
	}
	checkFS, _ := checkFlags()
	reloadFS, _, _ := reloadFlags(&options{})
	policyFS, _ := policyTestFlags()
	paths := []string{"c", "audit-log"}
	return &clidoc.Program{
		Name:        "ftpgate",
		Section:     "8",
		Version:     versionString(),
		Summary:     "transparent FTP gateway",
		Description: manDescription,
		Commands: []clidoc.Command{
			{Name: "run", Summary: "Run the gateway until SIGTERM or SIGINT. Needs CAP_NET_ADMIN; installs its nftables table and policy routing at start and removes them at a clean exit. SIGHUP reloads the configuration file and reopens the audit log.",
				Flags: runFlags("run"), PathFlags: paths},
			{Name: "rules", Summary: "Print the nftables table and the policy routing that run installs with the same flags.",
				Flags: runFlags("rules"), PathFlags: paths},
			{Name: "check", Args: "[FILE]", Summary: "Validate a configuration file and print the effective policy of every service.",
				Flags: checkFS, PathFlags: []string{"c"}, PathArgs: true},
			{Name: "reload", Summary: "Load the configuration as the daemon will (same flags) and, only when it loads, send the running ftpgate SIGHUP; exit 1 with the reason otherwise (systemctl reload ftpgate).",
				Flags: reloadFS, PathFlags: paths},
			{Name: "policy test", Args: "TRANSCRIPT", Summary: "Replay a transcript through a service's policy and print each verdict.",
				Flags: policyFS, PathFlags: []string{"c"}, PathArgs: true},
			{Name: "version", Summary: "Print the version."},
			{Name: "man", Summary: "Print this manual page in roff."},
			{Name: "completion bash", Summary: "Print the bash completion script."},
		},
		Sections: manSections,
	}
}

// cmdMan prints the manual page.
func cmdMan(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: ftpgate man")
		return exitUsage
	}
	if err := clidoc.WriteMan(stdout, program()); err != nil {
		fmt.Fprintln(stderr, "ftpgate man:", err)
		return exitError
	}
	return exitOK
}

// cmdCompletion prints the completion script for a shell (bash only).
func cmdCompletion(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || args[0] != "bash" {
		fmt.Fprintln(stderr, "usage: ftpgate completion bash")
		return exitUsage
	}
	if err := clidoc.WriteBash(stdout, program()); err != nil {
		fmt.Fprintln(stderr, "ftpgate completion:", err)
		return exitError
	}
	return exitOK
}
