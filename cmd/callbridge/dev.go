package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/callbridge/callbridge/bridge/devenv"
)

// dev runs the whole environment in one process: Kafka, both simulators, the bridge
// and a demo campaign per vendor, printing what flows until Ctrl-C.
func dev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dev", stderr)
	kafkaAddr := fs.String("kafka-addr", "127.0.0.1:9092", "address of the in-process Kafka broker (port 0: any free port)")
	httpAddr := fs.String("http-addr", "127.0.0.1:8080", "address of the bridge's webhooks, health and metrics")
	var opts devenv.Options
	opts.SimulatorFlags(fs)
	scale := fs.Float64("time-scale", 0.005, "simulated time per real time: 0.005 makes a 40s call last 200ms")
	customers := fs.Int("customers", 5, "customers per demo campaign")
	noColor := fs.Bool("no-color", false, "plain output even on a terminal (NO_COLOR works too)")
	logFile := fs.String("log", "", "file for the bridge's JSON logs (default: discarded)")
	fs.StringVar(&opts.WebhookToken, "webhook-token", devenv.DevWebhookToken, "webhook token of both demo accounts, shown in full in the banner")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if *scale <= 0 {
		return usageError{errors.New("--time-scale must be positive")}
	}
	if *customers < 1 {
		return usageError{errors.New("--customers must be at least 1")}
	}
	opts.Out, opts.KafkaAddr, opts.HTTPAddr, opts.TimeScale, opts.Customers = stdout, *kafkaAddr, *httpAddr, *scale, *customers
	opts.Color = !*noColor && os.Getenv("NO_COLOR") == "" && isTerminal(stdout)
	if *logFile != "" {
		f, err := os.OpenFile(*logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return usageError{fmt.Errorf("--log: %w", err)}
		}
		defer f.Close()
		opts.LogWriter = f
	}
	return devenv.Run(ctx, opts)
}

// isTerminal reports whether w is a character device (a terminal), not a pipe or file.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
