// Package config reads callbridge's configuration from the environment.
//
// Every variable carries the CALLBRIDGE_ prefix. Secrets may instead be read from a
// file named by the same variable with a _FILE suffix (Kubernetes Secrets mounted as
// files). A bad or missing value fails Load with one message naming the variable.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/callbridge/callbridge/internal/platform"
)

// Prefix of every callbridge variable.
const Prefix = "CALLBRIDGE_"

// Secret is a string that never prints: logging a Config cannot leak it.
type Secret string

func (Secret) String() string { return "[redacted]" }

// LogValue keeps slog from printing the value.
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// Reveal returns the secret itself, for the one place that needs it.
func (s Secret) Reveal() string { return string(s) }

// Kafka is the connection to the cluster.
type Kafka struct {
	// Brokers is the bootstrap list, host:port, comma separated.
	Brokers []string `env:"BROKERS" envDefault:"localhost:9092"`
	// ClientID names the bridge to the brokers.
	ClientID string `env:"CLIENT_ID" envDefault:"callbridge"`
	// TLSEnabled turns on TLS; CA, cert and key files are optional (system roots, no client cert).
	TLSEnabled  bool   `env:"TLS_ENABLED"`
	TLSCAFile   string `env:"TLS_CA_FILE"`
	TLSCertFile string `env:"TLS_CERT_FILE"`
	TLSKeyFile  string `env:"TLS_KEY_FILE"`
	// TLSInsecureSkipVerify disables certificate checks; for test clusters only.
	TLSInsecureSkipVerify bool `env:"TLS_INSECURE_SKIP_VERIFY"`
	// SASLMechanism is "", "plain", "scram-sha-256" or "scram-sha-512".
	SASLMechanism string `env:"SASL_MECHANISM"`
	SASLUsername  string `env:"SASL_USERNAME"`
	SASLPassword  Secret `env:"SASL_PASSWORD"`
	// Compression of produced batches: none, gzip, snappy, lz4, zstd.
	Compression string `env:"COMPRESSION" envDefault:"none"`
	// ProduceTimeout bounds waiting for acks=all; past it a webhook gets 503.
	ProduceTimeout time.Duration `env:"PRODUCE_TIMEOUT" envDefault:"10s"`
	// BatchTimeout is how long the producer waits to fill a batch; small, because
	// webhook replies wait for the ack.
	BatchTimeout time.Duration `env:"BATCH_TIMEOUT" envDefault:"1ms"`
	// Partitions and ReplicationFactor are used for topics the bridge creates.
	Partitions        int `env:"TOPIC_PARTITIONS" envDefault:"6"`
	ReplicationFactor int `env:"TOPIC_REPLICATION_FACTOR" envDefault:"-1"`
	// CreateTopics makes the bridge create missing topics at start.
	CreateTopics bool `env:"CREATE_TOPICS" envDefault:"true"`
}

// Config is the whole process configuration.
type Config struct {
	Kafka Kafka `envPrefix:"KAFKA_"`
	// TopicPrefix is prepended to every topic name.
	TopicPrefix string `env:"TOPIC_PREFIX"`
	// HTTPAddr is where webhooks, health and metrics are served.
	HTTPAddr string `env:"HTTP_ADDR" envDefault:":8080"`
	// InboundEnabled and OutboundEnabled switch the two halves.
	InboundEnabled  bool `env:"INBOUND_ENABLED" envDefault:"true"`
	OutboundEnabled bool `env:"OUTBOUND_ENABLED" envDefault:"true"`
	// PhonePrivacy is plain, mask or hash (keyed by PhoneHashKey).
	PhonePrivacy string `env:"PHONE_PRIVACY" envDefault:"plain"`
	PhoneHashKey Secret `env:"PHONE_HASH_KEY"`
	// IncludeRaw keeps the vendor's object verbatim in event data as "raw".
	IncludeRaw bool `env:"INCLUDE_RAW" envDefault:"true"`
	// ValidateEvents checks every produced event against its JSON Schema; an event
	// that fails goes to the dead-letter topic. The tests validate every event the
	// parsers make, so this is a safety net that costs CPU per event.
	ValidateEvents bool `env:"VALIDATE_EVENTS" envDefault:"false"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `env:"LOG_LEVEL" envDefault:"info"`
	// WebhookMaxBytes limits a webhook body (413 above it).
	WebhookMaxBytes int64 `env:"WEBHOOK_MAX_BYTES" envDefault:"1048576"`
	// HTTP server timeouts against slow clients.
	HTTPReadHeaderTimeout time.Duration `env:"HTTP_READ_HEADER_TIMEOUT" envDefault:"5s"`
	HTTPReadTimeout       time.Duration `env:"HTTP_READ_TIMEOUT" envDefault:"15s"`
	HTTPWriteTimeout      time.Duration `env:"HTTP_WRITE_TIMEOUT" envDefault:"30s"`
	HTTPIdleTimeout       time.Duration `env:"HTTP_IDLE_TIMEOUT" envDefault:"120s"`
	// TrustedProxies are CIDRs of reverse proxies whose X-Forwarded-For is believed
	// when checking an account's allow-list.
	TrustedProxies []netip.Prefix `env:"TRUSTED_PROXIES"`
	// ConsumerGroup is the outbound half's Kafka consumer group.
	ConsumerGroup string `env:"CONSUMER_GROUP" envDefault:"callbridge"`
	// RetryMaxAttempts bounds vendor call attempts per step (retryable failures only).
	RetryMaxAttempts int `env:"RETRY_MAX_ATTEMPTS" envDefault:"5"`
	// RetryInitialBackoff and RetryMaxBackoff shape exponential backoff with jitter.
	RetryInitialBackoff time.Duration `env:"RETRY_INITIAL_BACKOFF" envDefault:"200ms"`
	RetryMaxBackoff     time.Duration `env:"RETRY_MAX_BACKOFF" envDefault:"30s"`
	// CommandTimeout bounds one command from its first to its last vendor call; a
	// command still in flight then is left for the next attempt to resolve.
	CommandTimeout time.Duration `env:"COMMAND_TIMEOUT" envDefault:"2m"`
	// LedgerRetention is how long a settled command is remembered: a command id
	// produced again within it is not executed again. 0 keeps entries forever.
	LedgerRetention time.Duration `env:"LEDGER_RETENTION" envDefault:"720h"`
	// LedgerSweepInterval is how often entries past retention are removed.
	LedgerSweepInterval time.Duration `env:"LEDGER_SWEEP_INTERVAL" envDefault:"1h"`
	// ShutdownTimeout bounds a graceful stop.
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"20s"`
	// AccountNames lists the accounts, each configured under CALLBRIDGE_ACCOUNT_<NAME>_.
	AccountNames []string `env:"ACCOUNTS"`

	// Accounts are the parsed accounts, in AccountNames order.
	Accounts []platform.Account `env:"-"`
}

// account is the variables every account has, under CALLBRIDGE_ACCOUNT_<NAME>_; its
// vendor declares the rest (platform.Vendor.Settings).
type account struct {
	Vendor       string            `env:"VENDOR,required"`
	AppKey       string            `env:"APP_KEY,required"`
	AppSecret    Secret            `env:"APP_SECRET"`
	BaseURL      string            `env:"BASE_URL,required"`
	Paths        map[string]string `env:"PATHS" envKeyValSeparator:"="`
	WebhookToken Secret            `env:"WEBHOOK_TOKEN"`
	AllowCIDRs   []netip.Prefix    `env:"ALLOW_CIDRS"`
	Timezone     string            `env:"TIMEZONE" envDefault:"Asia/Shanghai"`
	RateLimit    float64           `env:"RATE_LIMIT" envDefault:"0"`
	Timeout      time.Duration     `env:"TIMEOUT" envDefault:"10s"`
}

var accountName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// AccountPrefix is the variable prefix of account name, e.g. CALLBRIDGE_ACCOUNT_BYAI_MAIN_.
func AccountPrefix(name string) string {
	return Prefix + "ACCOUNT_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_"
}

// Load reads the process environment.
func Load() (*Config, error) { return LoadFrom(environ()) }

func environ() map[string]string {
	m := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// LoadFrom reads configuration from the given variables.
func LoadFrom(vars map[string]string) (*Config, error) {
	if err := resolveFiles(vars); err != nil {
		return nil, err
	}
	var c Config
	if err := env.ParseWithOptions(&c, env.Options{Environment: vars, Prefix: Prefix}); err != nil {
		return nil, fmt.Errorf("config: %w", envError(err, &c, Prefix))
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, name := range c.AccountNames {
		name = strings.TrimSpace(name)
		if !accountName.MatchString(name) {
			return nil, fmt.Errorf("config: %sACCOUNTS: account name %q must be lower-case letters, digits and '-'", Prefix, name)
		}
		if seen[name] {
			return nil, fmt.Errorf("config: %sACCOUNTS: account %q is listed twice", Prefix, name)
		}
		seen[name] = true
		a, err := loadAccount(name, vars)
		if err != nil {
			return nil, err
		}
		c.Accounts = append(c.Accounts, a)
	}
	return &c, nil
}

func loadAccount(name string, vars map[string]string) (platform.Account, error) {
	prefix := AccountPrefix(name)
	var a account
	if err := env.ParseWithOptions(&a, env.Options{Environment: vars, Prefix: prefix}); err != nil {
		return platform.Account{}, fmt.Errorf("config: %w", envError(err, &a, prefix))
	}
	v, ok := platform.Lookup(a.Vendor)
	if !ok {
		return platform.Account{}, fmt.Errorf("config: %sVENDOR: unknown vendor %q (known: %s)", prefix, a.Vendor, strings.Join(platform.Names(), ", "))
	}
	if a.AppSecret == "" {
		return platform.Account{}, fmt.Errorf("config: %sAPP_SECRET (or %sAPP_SECRET_FILE) is required", prefix, prefix)
	}
	values, errs := platform.ReadSettings(v.Settings(), func(n string) string { return vars[prefix+n] })
	if len(errs) > 0 {
		return platform.Account{}, fmt.Errorf("config: %s%w (a %s account)", prefix, errs[0], a.Vendor)
	}
	settings, err := v.Configure(values)
	if err != nil {
		return platform.Account{}, fmt.Errorf("config: %s%w", prefix, err)
	}
	if a.WebhookToken == "" {
		return platform.Account{}, fmt.Errorf("config: %sWEBHOOK_TOKEN (or %sWEBHOOK_TOKEN_FILE) is required", prefix, prefix)
	}
	if !strings.HasPrefix(a.BaseURL, "http://") && !strings.HasPrefix(a.BaseURL, "https://") {
		return platform.Account{}, fmt.Errorf("config: %sBASE_URL: %q is not an http(s) URL", prefix, a.BaseURL)
	}
	loc, err := time.LoadLocation(a.Timezone)
	if err != nil {
		return platform.Account{}, fmt.Errorf("config: %sTIMEZONE: %w", prefix, err)
	}
	if a.RateLimit < 0 {
		return platform.Account{}, fmt.Errorf("config: %sRATE_LIMIT: must not be negative", prefix)
	}
	return platform.Account{
		Name:         name,
		Vendor:       a.Vendor,
		AppKey:       a.AppKey,
		AppSecret:    a.AppSecret.Reveal(),
		BaseURL:      strings.TrimRight(a.BaseURL, "/"),
		Paths:        a.Paths,
		WebhookToken: a.WebhookToken.Reveal(),
		AllowCIDRs:   a.AllowCIDRs,
		Location:     loc,
		RateLimit:    a.RateLimit,
		Timeout:      a.Timeout,
		Settings:     settings,
	}, nil
}

func (c *Config) validate() error {
	bad := func(name, why string) error { return fmt.Errorf("config: %s%s: %s", Prefix, name, why) }
	switch c.PhonePrivacy {
	case "plain", "mask":
	case "hash":
		if len(c.PhoneHashKey) < 16 {
			return bad("PHONE_HASH_KEY", "hash privacy needs a key of at least 16 bytes (or PHONE_HASH_KEY_FILE)")
		}
	default:
		return bad("PHONE_PRIVACY", fmt.Sprintf("%q is not one of plain, mask, hash", c.PhonePrivacy))
	}
	switch c.Kafka.SASLMechanism {
	case "", "plain", "scram-sha-256", "scram-sha-512":
		if c.Kafka.SASLMechanism != "" && (c.Kafka.SASLUsername == "" || c.Kafka.SASLPassword == "") {
			return bad("KAFKA_SASL_USERNAME", "SASL needs a username and a password (KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE)")
		}
	default:
		return bad("KAFKA_SASL_MECHANISM", fmt.Sprintf("%q is not one of plain, scram-sha-256, scram-sha-512", c.Kafka.SASLMechanism))
	}
	switch c.Kafka.Compression {
	case "none", "gzip", "snappy", "lz4", "zstd":
	default:
		return bad("KAFKA_COMPRESSION", fmt.Sprintf("%q is not one of none, gzip, snappy, lz4, zstd", c.Kafka.Compression))
	}
	if (c.Kafka.TLSCertFile == "") != (c.Kafka.TLSKeyFile == "") {
		return bad("KAFKA_TLS_CERT_FILE", "a client certificate needs both KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE")
	}
	for _, f := range []struct{ name, path string }{{"KAFKA_TLS_CA_FILE", c.Kafka.TLSCAFile}, {"KAFKA_TLS_CERT_FILE", c.Kafka.TLSCertFile}, {"KAFKA_TLS_KEY_FILE", c.Kafka.TLSKeyFile}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			return bad(f.name, err.Error())
		}
	}
	if len(c.Kafka.Brokers) == 0 || c.Kafka.Brokers[0] == "" {
		return bad("KAFKA_BROKERS", "at least one broker is required")
	}
	if c.Kafka.ProduceTimeout <= 0 {
		return bad("KAFKA_PRODUCE_TIMEOUT", "must be positive")
	}
	if c.WebhookMaxBytes <= 0 {
		return bad("WEBHOOK_MAX_BYTES", "must be positive")
	}
	if c.RetryMaxAttempts < 1 {
		return bad("RETRY_MAX_ATTEMPTS", "must be at least 1")
	}
	if !c.InboundEnabled && !c.OutboundEnabled {
		return bad("INBOUND_ENABLED", "both halves are disabled; enable INBOUND_ENABLED or OUTBOUND_ENABLED")
	}
	return nil
}

// secretVars are the variables that may be given as X_FILE. Account variables are
// matched by suffix.
var secretVars = []string{"KAFKA_SASL_PASSWORD", "PHONE_HASH_KEY"}
var accountSecretSuffixes = []string{"_APP_SECRET", "_WEBHOOK_TOKEN"}

// resolveFiles sets X from the file named by X_FILE, for every secret variable X.
func resolveFiles(vars map[string]string) error {
	for k, path := range vars {
		base, ok := strings.CutSuffix(k, "_FILE")
		if !ok || !strings.HasPrefix(base, Prefix) || !isSecret(base) {
			continue
		}
		if vars[base] != "" {
			return fmt.Errorf("config: %s and %s are both set; use one", base, k)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("config: %s: %w", k, err)
		}
		vars[base] = strings.TrimRight(string(b), "\r\n")
	}
	return nil
}

func isSecret(name string) bool {
	rest := strings.TrimPrefix(name, Prefix)
	for _, s := range secretVars {
		if rest == s {
			return true
		}
	}
	if strings.HasPrefix(rest, "ACCOUNT_") {
		for _, s := range accountSecretSuffixes {
			if strings.HasSuffix(rest, s) {
				return true
			}
		}
		for _, v := range platform.Vendors() {
			for _, s := range v.Settings() {
				if s.Secret && strings.HasSuffix(rest, "_"+s.Name) {
					return true
				}
			}
		}
	}
	return false
}

// envError keeps the message to the first problem and makes it name the variable:
// caarlos0/env names the Go field in parse errors, which means nothing to an operator.
func envError(err error, v any, prefix string) error {
	var agg env.AggregateError
	if errors.As(err, &agg) && len(agg.Errors) > 0 {
		err = agg.Errors[0]
	}
	var pe env.ParseError
	if errors.As(err, &pe) {
		if key, ok := varNames(reflect.TypeOf(v).Elem(), prefix)[pe.Name]; ok {
			return fmt.Errorf("%s: %w", key, pe.Err)
		}
	}
	return err
}

// varNames maps each field name of t to its full variable name.
func varNames(t reflect.Type, prefix string) map[string]string {
	names := map[string]string{}
	for i := range t.NumField() {
		f := t.Field(i)
		if p, ok := f.Tag.Lookup("envPrefix"); ok && f.Type.Kind() == reflect.Struct {
			maps.Copy(names, varNames(f.Type, prefix+p))
			continue
		}
		if key, _, _ := strings.Cut(f.Tag.Get("env"), ","); key != "" && key != "-" {
			names[f.Name] = prefix + key
		}
	}
	return names
}
