package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/callbridge/callbridge/internal/platform"
)

// sign prints the headers a vendor expects, for support and debugging. The secret is
// needed to sign; it is printed only where the vendor itself requires it as a header.
func sign(_ context.Context, args []string, stdout, stderr io.Writer) error {
	var signers []string
	for _, v := range platform.Vendors() {
		if _, ok := v.(platform.HeaderSigner); ok {
			signers = append(signers, v.Name())
		}
	}
	usage := fmt.Sprintf("usage: callbridge sign %s --app-key K --app-secret S [...]", strings.Join(signers, "|"))
	if len(args) > 0 && asksHelp(args[:1]) {
		// No vendor named: each vendor's flags.
		fmt.Fprintf(stderr, "%s\n", usage)
		for _, name := range signers {
			v, _ := platform.Lookup(name)
			fmt.Fprintf(stderr, "\nFlags of callbridge sign %s:\n", name)
			signFlags(newFlags("sign "+name, stderr), v.(platform.HeaderSigner)).PrintDefaults()
		}
		return flag.ErrHelp
	}
	if len(args) == 0 {
		return usageError{errors.New(usage)}
	}
	v, ok := platform.Lookup(args[0])
	hs, signs := v.(platform.HeaderSigner)
	if !ok || !signs {
		return usageError{errors.New(usage)}
	}
	fs := newFlags("sign "+args[0], stderr)
	in := signInputs(fs, hs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: callbridge sign %s --app-key K --app-secret S [...]\n\nFlags:\n", args[0])
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{err}
	}
	if *in["APP_KEY"] == "" || *in["APP_SECRET"] == "" {
		return usageError{errors.New("--app-key and --app-secret are required")}
	}
	values := map[string]string{}
	for k, p := range in {
		values[k] = *p
	}
	// The vendor's declaration says what is required and what form each input takes.
	for _, s := range hs.SignInputs() {
		v := values[s.Name]
		switch {
		case v == "" && s.Required:
			return usageError{fmt.Errorf("--%s is required for %s", s.Flag(), args[0])}
		case v != "":
			if err := s.Parse(v); err != nil {
				return usageError{fmt.Errorf("--%s: %w", s.Flag(), err)}
			}
		}
	}
	headers, err := hs.SignHeaders(values, time.Now())
	if err != nil {
		return usageError{err}
	}
	for _, h := range headers {
		fmt.Fprintf(stdout, "%s: %s\n", h.Name, h.Value)
	}
	return nil
}

// signInputs defines the flags of signing with hs on fs: the credentials and the
// vendor's own inputs, by setting name.
func signInputs(fs *flag.FlagSet, hs platform.HeaderSigner) map[string]*string {
	in := map[string]*string{
		"APP_KEY":    fs.String("app-key", "", "app key"),
		"APP_SECRET": fs.String("app-secret", "", "app secret"),
	}
	for _, s := range hs.SignInputs() {
		in[s.Name] = fs.String(s.Flag(), s.Default, s.Doc)
	}
	return in
}

func signFlags(fs *flag.FlagSet, hs platform.HeaderSigner) *flag.FlagSet {
	signInputs(fs, hs)
	return fs
}
