package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/callbridge/callbridge/internal/config"
	"github.com/callbridge/callbridge/internal/platform"
	"github.com/callbridge/callbridge/internal/telemetry"
	"github.com/callbridge/callbridge/internal/vendorhttp"
)

const vendorUsage = `Usage: callbridge vendor ACCOUNT WHAT [ARGS] [-o table|json]

Reads the vendor's query APIs with the account's configured credentials (CALLBRIDGE_*
variables, as serve reads them), through the account's rate limit. 'callbridge vendor
ACCOUNT -h' lists what the account's vendor answers.

Flags:
  -o table|json   a table with aligned columns (default), or the vendor's JSON
`

// vendorQuery is `callbridge vendor`: one query of an account's vendor API.
func vendorQuery(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	output, help, pos, err := vendorArgs(args)
	if err != nil {
		fmt.Fprint(stderr, vendorUsage)
		return usageError{err}
	}
	if help && len(pos) == 0 {
		fmt.Fprint(stdout, vendorUsage)
		if cfg, err := config.Load(); err == nil && len(cfg.Accounts) > 0 {
			fmt.Fprintln(stdout, "\nAccounts:")
			for _, a := range cfg.Accounts {
				fmt.Fprintf(stdout, "  %s (%s)\n", a.Name, a.Vendor)
			}
		}
		return nil
	}
	if len(pos) == 0 {
		fmt.Fprint(stderr, vendorUsage)
		return usageError{errors.New("ACCOUNT and WHAT are required")}
	}
	_, acct, client, tel, err := openAccount(ctx, pos[0], stderr)
	if err != nil {
		return err
	}
	defer tel.Shutdown(context.WithoutCancel(ctx))
	q, ok := client.(platform.Querier)
	if !ok {
		return usageError{fmt.Errorf("account %s: vendor %s has no query API in callbridge", acct.Name, acct.Vendor)}
	}
	specs := q.Queries()
	if help {
		printQueries(stdout, acct, specs)
		return nil
	}
	if len(pos) < 2 {
		printQueries(stderr, acct, specs)
		return usageError{errors.New("WHAT is required")}
	}
	what, qargs := pos[1], pos[2:]
	i := slices.IndexFunc(specs, func(s platform.QuerySpec) bool { return s.Name == what })
	if i < 0 {
		printQueries(stderr, acct, specs)
		return usageError{fmt.Errorf("%s (%s) has no query %q", acct.Name, acct.Vendor, what)}
	}
	if len(qargs) != len(specs[i].Args) {
		return usageError{fmt.Errorf("usage: callbridge vendor %s %s", acct.Name, specLine(specs[i]))}
	}
	t, err := q.Query(ctx, what, qargs)
	if err != nil {
		if errors.Is(err, platform.ErrInvalidInput) {
			return usageError{err}
		}
		return err
	}
	if output == "json" {
		return writeJSON(stdout, t.JSON)
	}
	return writeTable(stdout, t)
}

// vendorArgs takes -o/--output and -h anywhere among the arguments (flag stops at the
// first positional one, and `vendor acct phones -o json` should work).
func vendorArgs(args []string) (output string, help bool, pos []string, err error) {
	output = "table"
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case !strings.HasPrefix(a, "-") || a == "-":
			pos = append(pos, a)
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case name == "h" || name == "help":
			help = true
		case name == "o" || name == "output":
			if !hasVal {
				if i+1 >= len(args) {
					return "", false, nil, errors.New("flag -o needs a value: table or json")
				}
				i++
				val = args[i]
			}
			output = val
		default:
			return "", false, nil, fmt.Errorf("unknown flag %s", a)
		}
	}
	if output != "table" && output != "json" {
		return "", false, nil, fmt.Errorf("-o %q: want table or json", output)
	}
	return output, help, pos, nil
}

// findAccount returns the configured account name, or an error listing them.
func findAccount(cfg *config.Config, name string) (*platform.Account, error) {
	var names []string
	for i := range cfg.Accounts {
		if cfg.Accounts[i].Name == name {
			return &cfg.Accounts[i], nil
		}
		names = append(names, cfg.Accounts[i].Name)
	}
	return nil, fmt.Errorf("account %q is not configured (CALLBRIDGE_ACCOUNTS: %s)", name, strings.Join(names, ", "))
}

func specLine(s platform.QuerySpec) string {
	return strings.TrimSpace(s.Name + " " + strings.Join(s.Args, " "))
}

func printQueries(w io.Writer, acct *platform.Account, specs []platform.QuerySpec) {
	fmt.Fprintf(w, "Queries of %s (%s): callbridge vendor %s WHAT [ARGS] [-o table|json]\n", acct.Name, acct.Vendor, acct.Name)
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	for _, s := range specs {
		fmt.Fprintf(tw, "  %s\t%s\n", specLine(s), s.Doc)
	}
	_ = tw.Flush()
}

// writeJSON prints the vendor's JSON, indented.
func writeJSON(w io.Writer, raw json.RawMessage) error {
	if len(raw) == 0 {
		raw = json.RawMessage("null")
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		buf.Reset()
		buf.Write(raw)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// writeTable prints t with aligned columns.
func writeTable(w io.Writer, t *platform.Table) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(t.Columns, "\t"))
	for _, r := range t.Rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(c)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// openAccount loads the configuration as serve does and builds the named account's
// client with the same transport (telemetry, the account's rate limit). The caller
// shuts tel down.
func openAccount(ctx context.Context, name string, stderr io.Writer) (cfg *config.Config, acct *platform.Account, client platform.Client, tel *telemetry.Telemetry, err error) {
	if cfg, err = config.Load(); err != nil {
		return nil, nil, nil, nil, usageError{err}
	}
	if acct, err = findAccount(cfg, name); err != nil {
		return nil, nil, nil, nil, usageError{err}
	}
	if tel, err = telemetry.Setup(ctx, telemetry.Options{ServiceName: "callbridge", ServiceVersion: version, Commit: commit, LogLevel: cfg.LogLevel, LogWriter: stderr}); err != nil {
		return nil, nil, nil, nil, usageError{fmt.Errorf("config: CALLBRIDGE_LOG_LEVEL or OTEL_*: %w", err)}
	}
	if client, err = vendorhttp.Client(nil, acct, tel); err != nil {
		_ = tel.Shutdown(context.WithoutCancel(ctx))
		return nil, nil, nil, nil, usageError{err}
	}
	return cfg, acct, client, tel, nil
}
