package devenv

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/callbridge/callbridge/internal/privacy"
)

// Line kinds, the second column of every line.
const (
	KindCommand = "command"
	KindVendor  = "vendor"
	KindWebhook = "webhook"
	KindEvent   = "event"
	KindInfo    = "info"
)

// ANSI styles; used only when the printer colors.
const (
	ansiReset   = "\x1b[0m"
	ansiBold    = "\x1b[1m"
	ansiDim     = "\x1b[2m"
	ansiRed     = "\x1b[31m"
	ansiGreen   = "\x1b[32m"
	ansiYellow  = "\x1b[33m"
	ansiBlue    = "\x1b[34m"
	ansiMagenta = "\x1b[35m"
	ansiCyan    = "\x1b[36m"
)

var kindColors = map[string]string{
	KindCommand: ansiMagenta,
	KindVendor:  ansiBlue,
	KindWebhook: ansiYellow,
	KindEvent:   ansiGreen,
	KindInfo:    ansiCyan,
}

// Printer writes one readable line per thing that happens. Lines from many
// goroutines never interleave. Phone numbers in free text are masked.
type Printer struct {
	mu    sync.Mutex
	out   io.Writer
	color bool
	now   func() time.Time
	last  time.Time // when the last line was written
}

// NewPrinter prints to out, with ANSI colors when color is true.
func NewPrinter(out io.Writer, color bool) *Printer {
	if out == nil {
		out = io.Discard
	}
	return &Printer{out: out, color: color, now: time.Now}
}

// Line prints "TIME  KIND  WHAT  ACCOUNT  DETAIL"; bad lines (failures) stand out in red.
func (p *Printer) Line(kind, what, account, detail string, bad bool) {
	ts := p.now().Format("15:04:05.000")
	detail = MaskPhones(detail)
	var b strings.Builder
	if p.color {
		c := kindColors[kind]
		if bad {
			c = ansiRed
		}
		fmt.Fprintf(&b, "%s%s%s  %s%-7s  %s%-20s%s  %-11s  ", ansiDim, ts, ansiReset, c, kind, ansiBold, what, ansiReset, account)
		if bad {
			b.WriteString(ansiRed + detail + ansiReset)
		} else {
			b.WriteString(detail)
		}
	} else {
		fmt.Fprintf(&b, "%s  %-7s  %-20s  %-11s  %s", ts, kind, what, account, detail)
	}
	b.WriteByte('\n')
	p.write(b.String())
}

// Text prints s as it is (the banner); style is applied only when coloring.
func (p *Printer) Text(style, s string) {
	if p.color && style != "" {
		s = style + s + ansiReset
	}
	p.write(s)
}

func (p *Printer) write(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, _ = io.WriteString(p.out, s)
	p.last = time.Now()
}

// waitQuiet waits until nothing has been written for quiet, and reports whether
// that happened before ctx ended.
func (p *Printer) waitQuiet(ctx context.Context, quiet time.Duration) bool {
	tick := time.NewTicker(quiet / 8)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
		p.mu.Lock()
		since := time.Since(p.last)
		p.mu.Unlock()
		if since >= quiet {
			return ctx.Err() == nil
		}
	}
}

// digitRun finds runs of digits; MaskPhones decides which look like phone numbers.
var digitRun = regexp.MustCompile(`[0-9]+`)

// MaskPhones masks what looks like a Chinese mobile (1xx, 11 digits) or landline
// (0 and 10–12 digits) number in free text. Vendor ids in this demo (BYAI
// 1540000001, 10 digits) and millisecond timestamps (13 digits) are left alone.
func MaskPhones(s string) string {
	return digitRun.ReplaceAllStringFunc(s, func(d string) string {
		if (len(d) == 11 && d[0] == '1') || (d[0] == '0' && len(d) >= 10 && len(d) <= 12) {
			return privacy.MaskPhone(d)
		}
		return d
	})
}

// tokenParam finds a token query parameter's value.
var tokenParam = regexp.MustCompile(`([?&]token=)([^&#]*)`)

// MaskToken shortens a URL's token query parameter to its first 6 characters:
// enough to tell tokens apart, not to use one.
func MaskToken(url string) string {
	return tokenParam.ReplaceAllStringFunc(url, func(m string) string {
		sub := tokenParam.FindStringSubmatch(m)
		if len(sub[2]) <= 6 {
			return sub[1] + "…"
		}
		return sub[1] + sub[2][:6] + "…"
	})
}
