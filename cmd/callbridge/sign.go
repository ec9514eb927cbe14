package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/callbridge/callbridge/internal/platform/byai"
	"github.com/callbridge/callbridge/internal/platform/yiwise"
)

// sign prints the headers a vendor expects, for support and debugging. The secret is
// needed to sign but is printed only in Yiwise's appSecret header, which the vendor
// itself requires.
func sign(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "byai" && args[0] != "yiwise") {
		return usageError{errors.New("usage: callbridge sign byai|yiwise --app-key K --app-secret S [...]")}
	}
	vendor := args[0]
	fs := newFlags("sign "+vendor, stderr)
	appKey := fs.String("app-key", "", "app key")
	appSecret := fs.String("app-secret", "", "app secret")
	tenant := fs.String("tenant-sign", "", "Yiwise tenant sign")
	ver := fs.String("api-version", "v1", "Yiwise version header")
	datetime := fs.String("datetime", "", "BYAI datetime header (RFC 1123 GMT); default now")
	ts := fs.String("timestamp", "", "Yiwise timestamp header (epoch ms); default now")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{err}
	}
	if *appKey == "" || *appSecret == "" {
		return usageError{errors.New("--app-key and --app-secret are required")}
	}
	now := time.Now()
	switch vendor {
	case "byai":
		dt := *datetime
		if dt == "" {
			dt = now.UTC().Format(byai.DateTimeLayout)
		}
		fmt.Fprintf(stdout, "appkey: %s\ndatetime: %s\nsign: %s\n", *appKey, dt, byai.Sign(*appKey, *appSecret, dt))
	case "yiwise":
		t := *ts
		if t == "" {
			t = strconv.FormatInt(now.UnixMilli(), 10)
		}
		fmt.Fprintf(stdout, "appKey: %s\nappSecret: %s\ntenantSign: %s\nversion: %s\ntimestamp: %s\nsignature: %s\n",
			*appKey, *appSecret, *tenant, *ver, t, yiwise.Sign(*appKey, *appSecret, *tenant, *ver, t))
	}
	return nil
}
