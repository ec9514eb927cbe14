package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callbridge/callbridge/internal/config"
	"github.com/callbridge/callbridge/internal/platform/byai"
	"github.com/callbridge/callbridge/internal/platform/yiwise"
)

func base() map[string]string {
	return map[string]string{
		"CALLBRIDGE_KAFKA_BROKERS":                            "k1:9092,k2:9092",
		"CALLBRIDGE_ACCOUNTS":                                 "byai-main,yiwise-east",
		"CALLBRIDGE_ACCOUNT_BYAI_MAIN_VENDOR":                 "byai",
		"CALLBRIDGE_ACCOUNT_BYAI_MAIN_APP_KEY":                "key",
		"CALLBRIDGE_ACCOUNT_BYAI_MAIN_APP_SECRET":             "s3cret-value",
		"CALLBRIDGE_ACCOUNT_BYAI_MAIN_COMPANY_ID":             "151",
		"CALLBRIDGE_ACCOUNT_BYAI_MAIN_BASE_URL":               "https://api.byrobot.cn/",
		"CALLBRIDGE_ACCOUNT_BYAI_MAIN_WEBHOOK_TOKEN":          "tok",
		"CALLBRIDGE_ACCOUNT_BYAI_MAIN_ALLOW_CIDRS":            "10.0.0.0/8,192.168.1.0/24",
		"CALLBRIDGE_ACCOUNT_BYAI_MAIN_PATHS":                  "task/createTask=/openapi/v1/task/create",
		"CALLBRIDGE_ACCOUNT_YIWISE_EAST_VENDOR":               "yiwise",
		"CALLBRIDGE_ACCOUNT_YIWISE_EAST_APP_KEY":              "k",
		"CALLBRIDGE_ACCOUNT_YIWISE_EAST_APP_SECRET":           "s",
		"CALLBRIDGE_ACCOUNT_YIWISE_EAST_TENANT_SIGN":          "t",
		"CALLBRIDGE_ACCOUNT_YIWISE_EAST_BASE_URL":             "http://robot.yiwise.cn",
		"CALLBRIDGE_ACCOUNT_YIWISE_EAST_WEBHOOK_TOKEN":        "tok2",
		"CALLBRIDGE_ACCOUNT_YIWISE_EAST_TIMEZONE":             "Asia/Tokyo",
		"CALLBRIDGE_ACCOUNT_YIWISE_EAST_RATE_LIMIT":           "2.5",
		"CALLBRIDGE_ACCOUNT_YIWISE_EAST_VERIFY_CALLBACK_SIGN": "false",
	}
}

func TestLoadReadsAccountsAndDefaults(t *testing.T) {
	c, err := config.LoadFrom(base())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Kafka.Brokers, ","); got != "k1:9092,k2:9092" {
		t.Errorf("brokers = %q", got)
	}
	if c.HTTPAddr != ":8080" || c.PhonePrivacy != "plain" || !c.InboundEnabled || !c.OutboundEnabled {
		t.Errorf("defaults not applied: %+v", c)
	}
	if len(c.Accounts) != 2 {
		t.Fatalf("accounts = %d", len(c.Accounts))
	}
	b, y := c.Accounts[0], c.Accounts[1]
	if b.Name != "byai-main" || b.Vendor != "byai" || b.AppSecret != "s3cret-value" || b.Settings.(byai.Settings).CompanyID != "151" || b.BaseURL != "https://api.byrobot.cn" {
		t.Errorf("byai account = %+v", b)
	}
	if len(b.AllowCIDRs) != 2 || b.AllowCIDRs[1].String() != "192.168.1.0/24" {
		t.Errorf("allow cidrs = %v", b.AllowCIDRs)
	}
	if b.Path("task/createTask", "x") != "/openapi/v1/task/create" {
		t.Errorf("paths = %v", b.Paths)
	}
	if b.Loc().String() != "Asia/Shanghai" || y.Loc().String() != "Asia/Tokyo" {
		t.Errorf("time zones = %v, %v", b.Loc(), y.Loc())
	}
	if y.Settings.(yiwise.Settings).APIVersion != "v1" || y.RateLimit != 2.5 || y.Settings.(yiwise.Settings).TenantSign != "t" {
		t.Errorf("yiwise account = %+v", y)
	}
}

func TestSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, v string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	vars := base()
	delete(vars, "CALLBRIDGE_ACCOUNT_BYAI_MAIN_APP_SECRET")
	vars["CALLBRIDGE_ACCOUNT_BYAI_MAIN_APP_SECRET_FILE"] = write("secret", "from-file")
	vars["CALLBRIDGE_KAFKA_SASL_MECHANISM"] = "scram-sha-512"
	vars["CALLBRIDGE_KAFKA_SASL_USERNAME"] = "bridge"
	vars["CALLBRIDGE_KAFKA_SASL_PASSWORD_FILE"] = write("pw", "pw-from-file")
	c, err := config.LoadFrom(vars)
	if err != nil {
		t.Fatal(err)
	}
	if c.Accounts[0].AppSecret != "from-file" {
		t.Errorf("app secret = %q", c.Accounts[0].AppSecret)
	}
	if c.Kafka.SASLPassword.Reveal() != "pw-from-file" {
		t.Errorf("sasl password not read from file")
	}
	if s := fmt.Sprintf("%v %+v", c.Kafka.SASLPassword, c.Kafka); strings.Contains(s, "pw-from-file") {
		t.Errorf("secret printed: %s", s)
	}
}

func TestBadValueNamesTheVariable(t *testing.T) {
	cases := []struct {
		name  string
		set   map[string]string
		unset []string
		want  string
	}{
		{"bad privacy", map[string]string{"CALLBRIDGE_PHONE_PRIVACY": "blur"}, nil, "CALLBRIDGE_PHONE_PRIVACY"},
		{"hash without key", map[string]string{"CALLBRIDGE_PHONE_PRIVACY": "hash"}, nil, "CALLBRIDGE_PHONE_HASH_KEY"},
		{"bad sasl", map[string]string{"CALLBRIDGE_KAFKA_SASL_MECHANISM": "gssapi"}, nil, "CALLBRIDGE_KAFKA_SASL_MECHANISM"},
		{"sasl without password", map[string]string{"CALLBRIDGE_KAFKA_SASL_MECHANISM": "plain", "CALLBRIDGE_KAFKA_SASL_USERNAME": "u"}, nil, "CALLBRIDGE_KAFKA_SASL_USERNAME"},
		{"bad duration", map[string]string{"CALLBRIDGE_KAFKA_PRODUCE_TIMEOUT": "soon"}, nil, "CALLBRIDGE_KAFKA_PRODUCE_TIMEOUT"},
		{"bad bool", map[string]string{"CALLBRIDGE_INBOUND_ENABLED": "maybe"}, nil, "CALLBRIDGE_INBOUND_ENABLED"},
		{"missing vendor", nil, []string{"CALLBRIDGE_ACCOUNT_BYAI_MAIN_VENDOR"}, "CALLBRIDGE_ACCOUNT_BYAI_MAIN_VENDOR"},
		{"unknown vendor", map[string]string{"CALLBRIDGE_ACCOUNT_BYAI_MAIN_VENDOR": "acme"}, nil, "CALLBRIDGE_ACCOUNT_BYAI_MAIN_VENDOR"},
		{"missing secret", nil, []string{"CALLBRIDGE_ACCOUNT_BYAI_MAIN_APP_SECRET"}, "CALLBRIDGE_ACCOUNT_BYAI_MAIN_APP_SECRET"},
		{"missing company", nil, []string{"CALLBRIDGE_ACCOUNT_BYAI_MAIN_COMPANY_ID"}, "CALLBRIDGE_ACCOUNT_BYAI_MAIN_COMPANY_ID"},
		{"missing tenant", nil, []string{"CALLBRIDGE_ACCOUNT_YIWISE_EAST_TENANT_SIGN"}, "CALLBRIDGE_ACCOUNT_YIWISE_EAST_TENANT_SIGN"},
		{"bad zone", map[string]string{"CALLBRIDGE_ACCOUNT_YIWISE_EAST_TIMEZONE": "Mars/Olympus"}, nil, "CALLBRIDGE_ACCOUNT_YIWISE_EAST_TIMEZONE"},
		{"bad cidr", map[string]string{"CALLBRIDGE_ACCOUNT_BYAI_MAIN_ALLOW_CIDRS": "10.0.0.0/99"}, nil, "CALLBRIDGE_ACCOUNT_BYAI_MAIN_ALLOW_CIDRS"},
		{"bad rate", map[string]string{"CALLBRIDGE_ACCOUNT_BYAI_MAIN_RATE_LIMIT": "fast"}, nil, "CALLBRIDGE_ACCOUNT_BYAI_MAIN_RATE_LIMIT"},
		{"bad url", map[string]string{"CALLBRIDGE_ACCOUNT_BYAI_MAIN_BASE_URL": "api.byrobot.cn"}, nil, "CALLBRIDGE_ACCOUNT_BYAI_MAIN_BASE_URL"},
		{"bad account name", map[string]string{"CALLBRIDGE_ACCOUNTS": "Main Account"}, nil, "CALLBRIDGE_ACCOUNTS"},
		{"missing secret file", map[string]string{"CALLBRIDGE_ACCOUNT_BYAI_MAIN_WEBHOOK_TOKEN_FILE": "/nonexistent/token"}, []string{"CALLBRIDGE_ACCOUNT_BYAI_MAIN_WEBHOOK_TOKEN"}, "CALLBRIDGE_ACCOUNT_BYAI_MAIN_WEBHOOK_TOKEN_FILE"},
		{"missing ca file", map[string]string{"CALLBRIDGE_KAFKA_TLS_CA_FILE": "/nonexistent/ca.pem"}, nil, "CALLBRIDGE_KAFKA_TLS_CA_FILE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vars := base()
			for k, v := range tc.set {
				vars[k] = v
			}
			for _, k := range tc.unset {
				delete(vars, k)
			}
			_, err := config.LoadFrom(vars)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret-value") {
				t.Errorf("error leaks a secret: %q", err)
			}
			if strings.Count(err.Error(), "\n") > 0 {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestEveryProblemIsNamedInOneMessage(t *testing.T) {
	vars := base()
	delete(vars, "CALLBRIDGE_ACCOUNT_BYAI_MAIN_COMPANY_ID")
	delete(vars, "CALLBRIDGE_ACCOUNT_BYAI_MAIN_APP_SECRET")
	delete(vars, "CALLBRIDGE_ACCOUNT_YIWISE_EAST_TENANT_SIGN")
	vars["CALLBRIDGE_PHONE_PRIVACY"] = "blur"
	vars["CALLBRIDGE_KAFKA_PRODUCE_TIMEOUT"] = "soon"
	vars["CALLBRIDGE_ACCOUNT_BYAI_MAIN_RATE_LIMIT"] = "fast"
	_, err := config.LoadFrom(vars)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"CALLBRIDGE_ACCOUNT_BYAI_MAIN_COMPANY_ID", "CALLBRIDGE_ACCOUNT_BYAI_MAIN_APP_SECRET",
		"CALLBRIDGE_ACCOUNT_YIWISE_EAST_TENANT_SIGN", "CALLBRIDGE_PHONE_PRIVACY",
		"CALLBRIDGE_KAFKA_PRODUCE_TIMEOUT", "CALLBRIDGE_ACCOUNT_BYAI_MAIN_RATE_LIMIT",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %q", want, err)
		}
	}
	if !strings.Contains(err.Error(), "6 problems") || strings.Contains(err.Error(), "\n") {
		t.Errorf("want one line counting 6 problems, got %q", err)
	}
	var ce *config.Error
	if !errors.As(err, &ce) || len(ce.Problems) != 6 {
		t.Errorf("want a *config.Error with 6 problems, got %#v", err)
	}
}

func TestWarnings(t *testing.T) {
	cases := []struct {
		name string
		set  map[string]string
		want string // a warning containing this; "" means no warning at all
	}{
		{"nothing unusual", nil, ""},
		{"a typo of a global variable", map[string]string{"CALLBRIDGE_KAFKA_BROKER": "x:9092"}, "CALLBRIDGE_KAFKA_BROKER is not a callbridge variable; it is ignored (did you mean CALLBRIDGE_KAFKA_BROKERS?)"},
		{"a typo of an account variable", map[string]string{"CALLBRIDGE_ACCOUNT_BYAI_MAIN_COMPANYID": "1"}, "(did you mean CALLBRIDGE_ACCOUNT_BYAI_MAIN_COMPANY_ID?)"},
		{"another vendor's setting", map[string]string{"CALLBRIDGE_ACCOUNT_YIWISE_EAST_VERIFY_CALLBACK_SIGN": "true"}, "CALLBRIDGE_ACCOUNT_YIWISE_EAST_VERIFY_CALLBACK_SIGN is not a callbridge variable"},
		{"an account not listed", map[string]string{"CALLBRIDGE_ACCOUNT_BYAI_OLD_APP_KEY": "k"}, "CALLBRIDGE_ACCOUNT_BYAI_OLD_APP_KEY belongs to no account in CALLBRIDGE_ACCOUNTS"},
		{"no account", map[string]string{"CALLBRIDGE_ACCOUNTS": ""}, "no account is configured"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vars := base()
			delete(vars, "CALLBRIDGE_ACCOUNT_YIWISE_EAST_VERIFY_CALLBACK_SIGN")
			for k, v := range tc.set {
				vars[k] = v
			}
			if vars["CALLBRIDGE_ACCOUNTS"] == "" {
				for k := range vars {
					if strings.HasPrefix(k, "CALLBRIDGE_ACCOUNT_") {
						delete(vars, k)
					}
				}
			}
			c, err := config.LoadFrom(vars)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(c.Warnings, "\n")
			if tc.want == "" && got != "" {
				t.Errorf("warnings %q, want none", got)
			}
			if tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("warnings %q, want one containing %q", got, tc.want)
			}
		})
	}
}

func TestSecretFileVariablesAreKnown(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "tok")
	if err := os.WriteFile(p, []byte("t"), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := base()
	delete(vars, "CALLBRIDGE_ACCOUNT_YIWISE_EAST_VERIFY_CALLBACK_SIGN")
	delete(vars, "CALLBRIDGE_ACCOUNT_BYAI_MAIN_WEBHOOK_TOKEN")
	vars["CALLBRIDGE_ACCOUNT_BYAI_MAIN_WEBHOOK_TOKEN_FILE"] = p
	c, err := config.LoadFrom(vars)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings %q, want none", c.Warnings)
	}
}

func TestReconcileSettings(t *testing.T) {
	c, err := config.LoadFrom(base())
	if err != nil {
		t.Fatal(err)
	}
	if a := c.Accounts[0]; a.ReconcileInterval != 0 || a.ReconcileLookback != 48*time.Hour {
		t.Errorf("defaults: interval %s lookback %s, want 0 (off) and 48h", a.ReconcileInterval, a.ReconcileLookback)
	}
	vars := base()
	vars["CALLBRIDGE_ACCOUNT_BYAI_MAIN_RECONCILE_INTERVAL"] = "15m"
	vars["CALLBRIDGE_ACCOUNT_BYAI_MAIN_RECONCILE_LOOKBACK"] = "72h"
	if c, err = config.LoadFrom(vars); err != nil {
		t.Fatal(err)
	}
	if a := c.Accounts[0]; a.ReconcileInterval != 15*time.Minute || a.ReconcileLookback != 72*time.Hour {
		t.Errorf("set: interval %s lookback %s", a.ReconcileInterval, a.ReconcileLookback)
	}
	vars["CALLBRIDGE_ACCOUNT_BYAI_MAIN_RECONCILE_INTERVAL"] = "-1m"
	vars["CALLBRIDGE_ACCOUNT_YIWISE_EAST_RECONCILE_LOOKBACK"] = "0s"
	_, err = config.LoadFrom(vars)
	if err == nil || !strings.Contains(err.Error(), "CALLBRIDGE_ACCOUNT_BYAI_MAIN_RECONCILE_INTERVAL") ||
		!strings.Contains(err.Error(), "CALLBRIDGE_ACCOUNT_YIWISE_EAST_RECONCILE_LOOKBACK") {
		t.Errorf("bad values: %v, want both variables named", err)
	}
}
