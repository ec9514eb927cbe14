package devenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
)

// logTap passes the bridge's JSON log lines on to next and shows on the dev screen
// what a user of the demo needs to see there: webhooks the bridge rejected (a
// hand-made request with a wrong token or account) and configuration warnings.
type logTap struct {
	p    *Printer
	next io.Writer

	mu   sync.Mutex
	part []byte // an incomplete line
}

func (t *logTap) Write(b []byte) (int, error) {
	t.mu.Lock()
	t.part = append(t.part, b...)
	for {
		i := bytes.IndexByte(t.part, '\n')
		if i < 0 {
			break
		}
		t.show(t.part[:i])
		t.part = t.part[i+1:]
	}
	t.mu.Unlock()
	return t.next.Write(b)
}

func (t *logTap) show(line []byte) {
	var l struct {
		Level   string `json:"level"`
		Msg     string `json:"msg"`
		Account string `json:"account"`
		Outcome string `json:"outcome"`
		Status  int    `json:"status"`
		Error   string `json:"error"`
	}
	if json.Unmarshal(line, &l) != nil {
		return
	}
	switch {
	case l.Msg == "webhook" && l.Status >= 400:
		hint := ""
		switch l.Status {
		case 401, 403:
			hint = " (use ?token=" + "<the account's webhook token> as shown above)"
		case 404:
			hint = " (no such account: " + BYAIAccount + " or " + YiwiseAccount + ")"
		}
		t.p.Line(KindWebhook, "rejected", l.Account, fmt.Sprintf("→ %d %s%s", l.Status, l.Outcome, hint), true)
	case l.Level == "WARN" && strings.HasPrefix(l.Msg, "config: "):
		t.p.Line(KindInfo, "warning", "", strings.TrimPrefix(l.Msg, "config: "), true)
	}
}
