// Command callbridge bridges AI outbound-calling platforms with Kafka.
// This file holds flags and wiring only; the work is in bridge/ and internal/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/callbridge/callbridge/internal/config"
	"github.com/callbridge/callbridge/internal/platform"
)

// Stamped at build time: -ldflags "-X main.version=… -X main.commit=…".
var (
	version = "dev"
	commit  = "unknown"
)

const usageText = `callbridge bridges AI outbound-calling platforms (%s) with Kafka.

Usage:
  callbridge dev                       zero-setup demo: in-process Kafka, the vendor simulators, the bridge
  callbridge serve                     the production process (configured by CALLBRIDGE_* variables)
  callbridge simulate [flags]          run the vendor simulators alone
  callbridge send TYPE -f FILE         wrap a JSON command in a CloudEvent and produce it
  callbridge sign VENDOR [flags]       print signed request headers (VENDOR: %s)
  callbridge replay [flags]            re-deliver dead-lettered records
  callbridge vendor ACCOUNT WHAT ...   read the vendor's query APIs (companies, phones, robots, …)
  callbridge reconcile [flags]         publish calls whose webhooks never arrived (--account, --since)
  callbridge version                   print version, commit and Go version (also --version, -v)

Run 'callbridge COMMAND -h' for a command's flags.
`

// usage names the registered vendors.
func usage() string {
	names := platform.Names()
	return fmt.Sprintf(usageText, strings.Join(names, ", "), strings.Join(names, "|"))
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command and returns the exit code: 0 ok, 1 failure, 2 usage or
// configuration error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return 2
	}
	cmds := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"serve":     serve,
		"dev":       dev,
		"simulate":  simulate,
		"send":      send,
		"sign":      sign,
		"replay":    replay,
		"version":   versionCmd,
		"vendor":    vendorQuery,
		"reconcile": reconcileOnce,
	}
	switch args[0] {
	case "--version", "-version", "-v":
		args = append([]string{"version"}, args[1:]...)
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		if args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help" {
			fmt.Fprint(stdout, usage())
			return 0
		}
		fmt.Fprintf(stderr, "callbridge: unknown command %q\n\n%s", args[0], usage())
		return 2
	}
	if asksHelp(args[1:]) {
		// Help asked for is the output, not a diagnostic: to stdout, exit 0.
		stderr = stdout
	}
	err := cmd(ctx, args[1:], stdout, stderr)
	var ue usageError
	var ce *config.Error
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ce):
		// Every configuration problem on its own line, each naming its variable.
		fmt.Fprintf(stderr, "callbridge %s: configuration: %d problem(s):\n", args[0], len(ce.Problems))
		for _, p := range ce.Problems {
			fmt.Fprintf(stderr, "  %v\n", p)
		}
		return 2
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "callbridge %s: %v\n", args[0], err)
		return 2
	default:
		fmt.Fprintf(stderr, "callbridge %s: %v\n", args[0], err)
		return 1
	}
}

// usageError is a bad flag or configuration: exit code 2.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

// newFlags is a command's flag set; its -h and --help print the flags (and
// exit 0), with more text from the command's helpText when set.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("callbridge "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: callbridge %s [flags]\n", name)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintf(out, "\nFlags:\n")
			fs.PrintDefaults()
		} else {
			fmt.Fprintf(out, "\nNo flags.\n")
		}
		if more := helpText[name]; more != nil {
			fmt.Fprintln(out)
			more(out)
		}
	}
	return fs
}

// helpText adds to a command's -h output, by command name.
var helpText = map[string]func(io.Writer){
	"serve": config.WriteHelp,
}

// asksHelp reports whether args ask for help (before any "--").
func asksHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// versionCmd prints the version, commit and Go version. A build stamped with
// -ldflags (the Dockerfile, releases) says what it was stamped with; otherwise the
// binary's build information does: the module version under `go install …@v1.2.3`,
// the VCS revision and time when built from a checkout.
func versionCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", stderr)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	bi, _ := debug.ReadBuildInfo()
	fmt.Fprintln(stdout, versionLine(version, commit, bi))
	return nil
}

func versionLine(version, commit string, bi *debug.BuildInfo) string {
	when, modified := "", false
	if bi != nil && version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		version = bi.Main.Version
	}
	if bi != nil && commit == "unknown" {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if modified {
		commit += "+modified"
	}
	if when != "" {
		commit += ", " + when
	}
	return fmt.Sprintf("callbridge %s (commit %s, %s)", version, commit, runtime.Version())
}
