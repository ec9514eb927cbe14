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
	"strings"
	"syscall"

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
  callbridge version                   print version, commit and Go version

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
		"serve":    serve,
		"dev":      dev,
		"simulate": simulate,
		"send":     send,
		"sign":     sign,
		"replay":   replay,
		"version": func(_ context.Context, _ []string, out, _ io.Writer) error {
			fmt.Fprintf(out, "callbridge %s (commit %s, %s)\n", version, commit, runtime.Version())
			return nil
		},
		"vendor":    vendorQuery,
		"reconcile": reconcileOnce,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			fmt.Fprint(stdout, usage())
			return 0
		}
		fmt.Fprintf(stderr, "callbridge: unknown command %q\n\n%s", args[0], usage())
		return 2
	}
	err := cmd(ctx, args[1:], stdout, stderr)
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
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

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("callbridge "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}
