package outbound

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/platform"
)

// fakeVendor is a registered vendor whose client sends task.control requests through
// the HTTP client the half gives it, so tests see the transport chain at work.
type fakeVendor struct{}

func init() { platform.Register(fakeVendor{}) }

func (fakeVendor) Name() string                             { return testVendor }
func (fakeVendor) Settings() []platform.Setting             { return nil }
func (fakeVendor) Configure(map[string]string) (any, error) { return nil, nil }
func (fakeVendor) ScriptSchema() json.RawMessage            { return json.RawMessage(`{"type":"object"}`) }
func (fakeVendor) ParseWebhook(*platform.Account, []byte) ([]event.Out, error) {
	return nil, platform.ErrUnparseable
}
func (fakeVendor) NewClient(acct *platform.Account, hc *http.Client) platform.Client {
	return &httpClient{fakeClient: &fakeClient{}, hc: hc, base: acct.BaseURL}
}

type httpClient struct {
	*fakeClient
	hc   *http.Client
	base string
}

func (c *httpClient) ControlTask(ctx context.Context, tc *command.TaskControl) (platform.Reply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/task/"+tc.Action, nil)
	if err != nil {
		return platform.Reply{}, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return platform.Reply{}, &platform.Error{Endpoint: tc.Action, Err: err, Retryable: true}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return platform.Reply{}, &platform.Error{Endpoint: tc.Action, HTTPStatus: resp.StatusCode, Message: fmt.Sprint(resp.StatusCode),
			Retryable: platform.RetryableCode(resp.StatusCode)}
	}
	return platform.Reply{RequestID: resp.Header.Get("X-Request-Id")}, nil
}
