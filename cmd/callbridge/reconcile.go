package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/callbridge/callbridge/bridge"
	"github.com/callbridge/callbridge/bridge/reconcile"
	"github.com/callbridge/callbridge/internal/broker"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/platform"
	"github.com/callbridge/callbridge/internal/privacy"
	"github.com/callbridge/callbridge/internal/publish"
)

// reconcileOnce is `callbridge reconcile`: one sweep of one account's finished calls
// over a given window, publishing call.finished for those not yet on the topic (as
// RECONCILE_INTERVAL does periodically). It keeps no progress: running it again finds
// what it published on the topic and publishes nothing twice.
func reconcileOnce(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("reconcile", stderr)
	account := fs.String("account", "", "the account to reconcile (required)")
	since := fs.String("since", "", "start of the window: RFC 3339 (2026-11-29T08:00:00+08:00) or a duration ago (6h) (required)")
	until := fs.String("until", "", "end of the window, as --since (default now)")
	dry := fs.Bool("dry-run", false, "list the calls that would be published without producing anything")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: callbridge reconcile --account NAME --since TIME [--until TIME] [--dry-run]")
		fmt.Fprintln(fs.Output(), "\nReads back the account's calls that ended within [since, until) from the vendor's query APIs and\npublishes call.finished (data \"recovered\": true) for those whose webhooks never arrived.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	now := time.Now()
	if *account == "" || *since == "" {
		return usageError{errors.New("--account and --since are required")}
	}
	from, err := parseWhen(*since, now)
	if err != nil {
		return usageError{fmt.Errorf("--since: %w", err)}
	}
	to := now
	if *until != "" {
		if to, err = parseWhen(*until, now); err != nil {
			return usageError{fmt.Errorf("--until: %w", err)}
		}
	}
	if !from.Before(to) {
		return usageError{fmt.Errorf("--since %s is not before --until %s", from.Format(time.RFC3339), to.Format(time.RFC3339))}
	}
	cfg, acct, client, tel, err := openAccount(ctx, *account, stderr)
	if err != nil {
		return err
	}
	defer tel.Shutdown(context.WithoutCancel(ctx))
	lister, ok := client.(platform.CallLister)
	if !ok {
		return usageError{fmt.Errorf("account %s: vendor %s cannot list finished calls", acct.Name, acct.Vendor)}
	}
	bc := bridge.BrokerConfig(cfg)
	if err := bc.Validate(); err != nil {
		return usageError{err}
	}
	dialer, err := bc.Dialer()
	if err != nil {
		return err
	}
	published := &reconcile.Published{Dialer: dialer, Brokers: bc.Brokers, Topic: cfg.TopicPrefix + event.TopicCallFinished, Accounts: []string{acct.Name}}
	if err := published.Refresh(ctx, from); err != nil {
		return err
	}
	s := &reconcile.Sweep{Account: acct, Lister: lister, Published: published, DryRun: *dry, Telemetry: tel}
	verb := "published"
	if *dry {
		verb = "would publish"
	}
	s.Missing = func(o event.Out) {
		line := []string{verb, o.Subject, "id " + o.ID}
		if d, ok := o.Data.(*event.CallFinished); ok {
			if d.TaskID != nil {
				line = append(line, "task "+*d.TaskID)
			}
			if d.EndedAt != nil {
				line = append(line, "ended "+*d.EndedAt)
			}
			line = append(line, d.Status)
		}
		fmt.Fprintln(stdout, strings.Join(line, "  "))
	}
	if !*dry {
		w, err := broker.NewWriter(bc)
		if err != nil {
			return err
		}
		defer broker.CloseWriter(w)
		pol, err := privacy.New(privacy.Mode(cfg.PhonePrivacy), []byte(cfg.PhoneHashKey.Reveal()))
		if err != nil {
			return usageError{err}
		}
		s.Publisher = &publish.Publisher{Writer: w, TopicPrefix: cfg.TopicPrefix, Privacy: pol, OmitRaw: !cfg.IncludeRaw,
			Validate: cfg.ValidateEvents, Telemetry: tel}
	}
	c, err := s.Run(ctx, from, to, "")
	fmt.Fprintf(stdout, "%s %s → %s: %d calls listed, %d already published, %d %s\n", acct.Name,
		from.Format(time.RFC3339), to.Format(time.RFC3339), c.Calls, c.AlreadyPublished, c.Published, verb)
	return err
}

// parseWhen reads an RFC 3339 time, or a duration before now.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a positive duration such as 6h", s)
	}
	return now.Add(-d), nil
}
