package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/callbridge/callbridge/bridge/devenv"
	"github.com/callbridge/callbridge/internal/simulator"
)

// simulate runs the vendor simulators alone, for staging tests of a bridge deployed
// elsewhere. Their flags and wiring are the simulator package's.
func simulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("simulate", stderr)
	flags := simulator.RegisterFlags(fs)
	noColor := fs.Bool("no-color", false, "plain output even on a terminal")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	p := devenv.NewPrinter(stdout, !*noColor && os.Getenv("NO_COLOR") == "" && isTerminal(stdout))
	var clients []*http.Client
	defer func() {
		for _, c := range clients {
			c.CloseIdleConnections()
		}
	}()
	opts, err := flags.Options(func(vendor string) *http.Client {
		c := p.CallbackClient(vendor)
		clients = append(clients, c)
		return c
	}, p.SimEvents(nil))
	if err != nil {
		return usageError{err}
	}
	// Start rather than simulator.Run: the listening URLs (port 0 included) are printed
	// before the first request arrives.
	r, err := simulator.Start(opts)
	if err != nil {
		return err
	}
	flags.Describe(stdout, r, devenv.MaskToken)
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Close(sctx); err != nil {
		return fmt.Errorf("stop simulators: %w", err)
	}
	return nil
}
