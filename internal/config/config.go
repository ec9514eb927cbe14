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
	"slices"
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
	// BatchTimeout is how long a webhook's record waits for others before its
	// partition's produce request goes out. 0: at once when no request to the
	// partition is in flight; batches form while one is.
	BatchTimeout time.Duration `env:"BATCH_TIMEOUT" envDefault:"0s"`
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
	// WebhookMaxInflight bounds the webhooks held (bodies and queued records) while
	// waiting for Kafka's acknowledgement; past it a webhook gets 503 with Retry-After
	// at once, so memory stays bounded however long Kafka is slow or down.
	WebhookMaxInflight int `env:"WEBHOOK_MAX_INFLIGHT" envDefault:"1024"`
	// HTTP server timeouts against slow clients.
	HTTPReadHeaderTimeout time.Duration `env:"HTTP_READ_HEADER_TIMEOUT" envDefault:"5s"`
	HTTPReadTimeout       time.Duration `env:"HTTP_READ_TIMEOUT" envDefault:"15s"`
	HTTPWriteTimeout      time.Duration `env:"HTTP_WRITE_TIMEOUT" envDefault:"30s"`
	HTTPIdleTimeout       time.Duration `env:"HTTP_IDLE_TIMEOUT" envDefault:"120s"`
	// HTTPMaxIdleConns is how many keep-alive connections may stay idle until
	// HTTPIdleTimeout; the longest-idle beyond it are closed after 5 s, so that the
	// connections a vendor opened for a backlog do not hold memory long after it.
	HTTPMaxIdleConns int `env:"HTTP_MAX_IDLE_CONNS" envDefault:"16"`
	// HTTPMaxConns bounds the connections open at once (0: no bound). A new one past
	// it takes the place of the longest-idle, or waits in the listen backlog while
	// every connection has a request on it. The Go runtime keeps for good what each
	// connection open at the busiest moment cost it (a goroutine's descriptor, a
	// poller entry), so a vendor's burst of a thousand connections would otherwise
	// leave the process megabytes larger after it.
	HTTPMaxConns int `env:"HTTP_MAX_CONNS" envDefault:"512"`
	// TrustedProxies are CIDRs of reverse proxies whose X-Forwarded-For is believed
	// when checking an account's allow-list.
	TrustedProxies []netip.Prefix `env:"TRUSTED_PROXIES"`
	// ConsumerGroup is the outbound half's Kafka consumer group.
	ConsumerGroup string `env:"CONSUMER_GROUP" envDefault:"callbridge"`
	// ConsumerStart is where a new consumer group starts reading the command topics:
	// earliest (every command still on them) or latest (only commands produced from
	// then on). A group that has committed offsets continues from them.
	ConsumerStart string `env:"CONSUMER_START" envDefault:"earliest"`
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
	// LedgerDir holds the ledger's local stores (one file per ledger partition this
	// instance owns). Keep it across restarts (the Helm chart: the pod's /tmp
	// volume), so a restart replays only the changelog's tail. Empty: a temporary
	// directory, removed at exit.
	LedgerDir string `env:"LEDGER_DIR"`
	// ShutdownTimeout bounds a graceful stop.
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"20s"`
	// AccountNames lists the accounts, each configured under CALLBRIDGE_ACCOUNT_<NAME>_.
	AccountNames []string `env:"ACCOUNTS"`

	// Accounts are the parsed accounts, in AccountNames order.
	Accounts []platform.Account `env:"-"`
	// Warnings are likely mistakes that do not stop the process (an unknown
	// CALLBRIDGE_ variable, no account); the process logs each at start.
	Warnings []string `env:"-"`
}

// account is the variables every account has, under CALLBRIDGE_ACCOUNT_<NAME>_; its
// vendor declares the rest (platform.Vendor.Settings).
type account struct {
	// Vendor is the account's vendor (required).
	Vendor string `env:"VENDOR,required"`
	// AppKey is the API app key, not a secret (required).
	AppKey string `env:"APP_KEY,required"`
	// AppSecret is the API app secret (required).
	AppSecret Secret `env:"APP_SECRET"`
	// BaseURL is the vendor API's root URL, http(s) (required).
	BaseURL string `env:"BASE_URL,required"`
	// Paths overrides endpoint paths by endpoint name: name=/path,name=/path.
	Paths map[string]string `env:"PATHS" envKeyValSeparator:"="`
	// WebhookToken is the token the vendor sends as ?token= or X-Callbridge-Token (required).
	WebhookToken Secret `env:"WEBHOOK_TOKEN"`
	// AllowCIDRs are the source CIDRs webhooks are accepted from; empty: any.
	AllowCIDRs []netip.Prefix `env:"ALLOW_CIDRS"`
	// Timezone is the vendor's time zone, an IANA name.
	Timezone string `env:"TIMEZONE" envDefault:"Asia/Shanghai"`
	// RateLimit is vendor API requests per second for the whole deployment; 0: unlimited.
	RateLimit float64 `env:"RATE_LIMIT" envDefault:"0"`
	// Timeout is the time limit of one vendor request.
	Timeout time.Duration `env:"TIMEOUT" envDefault:"10s"`
	// ReconcileInterval is how often the vendor's query APIs are swept for calls whose
	// webhooks never arrived; 0 turns reconciliation off.
	ReconcileInterval time.Duration `env:"RECONCILE_INTERVAL" envDefault:"0"`
	// ReconcileLookback is how far back a sweep looks (calls that ended within it).
	ReconcileLookback time.Duration `env:"RECONCILE_LOOKBACK" envDefault:"48h"`
}

var accountName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// AccountPrefix is the variable prefix of account name, e.g. CALLBRIDGE_ACCOUNT_EAST_MAIN_ for "east-main".
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

// LoadFrom reads configuration from the given variables. A bad configuration is one
// error naming every bad or missing variable, so that an operator fixes them all in
// one go rather than one per restart.
func LoadFrom(vars map[string]string) (*Config, error) {
	var problems []error
	problems = append(problems, resolveFiles(vars)...)
	var c Config
	if err := env.ParseWithOptions(&c, env.Options{Environment: vars, Prefix: Prefix}); err != nil {
		problems = append(problems, envErrors(err, &c, Prefix)...)
	}
	problems = append(problems, c.validate()...)
	seen := map[string]bool{}
	for _, name := range c.AccountNames {
		name = strings.TrimSpace(name)
		if !accountName.MatchString(name) {
			problems = append(problems, fmt.Errorf("%sACCOUNTS: account name %q must be lower-case letters, digits and '-'", Prefix, name))
			continue
		}
		if seen[name] {
			problems = append(problems, fmt.Errorf("%sACCOUNTS: account %q is listed twice", Prefix, name))
			continue
		}
		seen[name] = true
		a, errs := loadAccount(name, vars)
		problems = append(problems, errs...)
		c.Accounts = append(c.Accounts, a)
	}
	if problems = firstPerVariable(problems); len(problems) > 0 {
		return nil, &Error{Problems: problems}
	}
	c.Warnings = warnings(&c, vars)
	return &c, nil
}

// Error is a configuration that cannot run: every problem found, each naming its
// variable.
type Error struct {
	Problems []error
}

// Error is one line: "config: CALLBRIDGE_A: why; CALLBRIDGE_B: why".
func (e *Error) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	prefix := "config: "
	if len(msgs) > 1 {
		prefix = fmt.Sprintf("config: %d problems: ", len(msgs))
	}
	return prefix + strings.Join(msgs, "; ")
}

func (e *Error) Unwrap() []error { return e.Problems }

// firstPerVariable keeps the first problem of each variable: a value that does not
// parse also fails the checks of its zero value, which would only repeat it.
func firstPerVariable(problems []error) []error {
	seen := map[string]bool{}
	out := problems[:0]
	for _, p := range problems {
		name, _, _ := strings.Cut(p.Error(), ":")
		name, _, _ = strings.Cut(name, " ")
		if seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, p)
	}
	return out
}

func loadAccount(name string, vars map[string]string) (platform.Account, []error) {
	prefix := AccountPrefix(name)
	var a account
	var errs []error
	if err := env.ParseWithOptions(&a, env.Options{Environment: vars, Prefix: prefix}); err != nil {
		errs = append(errs, envErrors(err, &a, prefix)...)
	}
	acct := platform.Account{
		Name:         name,
		Vendor:       a.Vendor,
		AppKey:       a.AppKey,
		AppSecret:    a.AppSecret.Reveal(),
		BaseURL:      strings.TrimRight(a.BaseURL, "/"),
		Paths:        a.Paths,
		WebhookToken: a.WebhookToken.Reveal(),
		AllowCIDRs:   a.AllowCIDRs,
		RateLimit:    a.RateLimit,
		Timeout:      a.Timeout,

		ReconcileInterval: a.ReconcileInterval,
		ReconcileLookback: a.ReconcileLookback,
	}
	if a.Vendor != "" {
		if v, ok := platform.Lookup(a.Vendor); !ok {
			errs = append(errs, fmt.Errorf("%sVENDOR: unknown vendor %q (known: %s)", prefix, a.Vendor, strings.Join(platform.Names(), ", ")))
		} else {
			values, verrs := platform.ReadSettings(v.Settings(), func(n string) string { return vars[prefix+n] })
			for _, e := range verrs {
				errs = append(errs, fmt.Errorf("%s%w (a %s account)", prefix, e, a.Vendor))
			}
			if len(verrs) == 0 {
				settings, err := v.Configure(values)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s%w", prefix, err))
				}
				acct.Settings = settings
			}
		}
	}
	if a.AppSecret == "" && vars[prefix+"APP_SECRET_FILE"] == "" {
		errs = append(errs, fmt.Errorf("%sAPP_SECRET (or %sAPP_SECRET_FILE) is required", prefix, prefix))
	}
	if a.WebhookToken == "" && vars[prefix+"WEBHOOK_TOKEN_FILE"] == "" {
		errs = append(errs, fmt.Errorf("%sWEBHOOK_TOKEN (or %sWEBHOOK_TOKEN_FILE) is required", prefix, prefix))
	}
	if a.BaseURL != "" && !strings.HasPrefix(a.BaseURL, "http://") && !strings.HasPrefix(a.BaseURL, "https://") {
		errs = append(errs, fmt.Errorf("%sBASE_URL: %q is not an http(s) URL", prefix, a.BaseURL))
	}
	if loc, err := time.LoadLocation(a.Timezone); err != nil {
		errs = append(errs, fmt.Errorf("%sTIMEZONE: %w", prefix, err))
	} else {
		acct.Location = loc
	}
	if a.RateLimit < 0 {
		errs = append(errs, fmt.Errorf("%sRATE_LIMIT: must not be negative", prefix))
	}
	if a.ReconcileInterval < 0 {
		errs = append(errs, fmt.Errorf("%sRECONCILE_INTERVAL: must not be negative", prefix))
	}
	if a.ReconcileLookback <= 0 {
		errs = append(errs, fmt.Errorf("%sRECONCILE_LOOKBACK: must be positive", prefix))
	}
	return acct, errs
}

func (c *Config) validate() []error {
	var errs []error
	bad := func(name, why string) { errs = append(errs, fmt.Errorf("%s%s: %s", Prefix, name, why)) }
	switch c.PhonePrivacy {
	case "plain", "mask":
	case "hash":
		if len(c.PhoneHashKey) < 16 {
			bad("PHONE_HASH_KEY", "hash privacy needs a key of at least 16 bytes (or PHONE_HASH_KEY_FILE)")
		}
	default:
		bad("PHONE_PRIVACY", fmt.Sprintf("%q is not one of plain, mask, hash", c.PhonePrivacy))
	}
	switch c.Kafka.SASLMechanism {
	case "", "plain", "scram-sha-256", "scram-sha-512":
		if c.Kafka.SASLMechanism != "" && (c.Kafka.SASLUsername == "" || c.Kafka.SASLPassword == "") {
			bad("KAFKA_SASL_USERNAME", "SASL needs a username and a password (KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE)")
		}
	default:
		bad("KAFKA_SASL_MECHANISM", fmt.Sprintf("%q is not one of plain, scram-sha-256, scram-sha-512", c.Kafka.SASLMechanism))
	}
	switch c.ConsumerStart {
	case "earliest", "latest":
	default:
		bad("CONSUMER_START", fmt.Sprintf("%q is not one of earliest, latest", c.ConsumerStart))
	}
	switch c.Kafka.Compression {
	case "none", "gzip", "snappy", "lz4", "zstd":
	default:
		bad("KAFKA_COMPRESSION", fmt.Sprintf("%q is not one of none, gzip, snappy, lz4, zstd", c.Kafka.Compression))
	}
	if (c.Kafka.TLSCertFile == "") != (c.Kafka.TLSKeyFile == "") {
		bad("KAFKA_TLS_CERT_FILE", "a client certificate needs both KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE")
	}
	for _, f := range []struct{ name, path string }{{"KAFKA_TLS_CA_FILE", c.Kafka.TLSCAFile}, {"KAFKA_TLS_CERT_FILE", c.Kafka.TLSCertFile}, {"KAFKA_TLS_KEY_FILE", c.Kafka.TLSKeyFile}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			bad(f.name, err.Error())
		}
	}
	if len(c.Kafka.Brokers) == 0 || c.Kafka.Brokers[0] == "" {
		bad("KAFKA_BROKERS", "at least one broker is required")
	}
	if c.Kafka.ProduceTimeout <= 0 {
		bad("KAFKA_PRODUCE_TIMEOUT", "must be positive")
	}
	if c.HTTPMaxConns < 0 {
		bad("HTTP_MAX_CONNS", "must not be negative (0: no bound)")
	}
	if c.HTTPMaxIdleConns <= 0 {
		bad("HTTP_MAX_IDLE_CONNS", "must be positive")
	}
	if c.WebhookMaxInflight <= 0 {
		bad("WEBHOOK_MAX_INFLIGHT", "must be positive")
	}
	if c.WebhookMaxBytes <= 0 {
		bad("WEBHOOK_MAX_BYTES", "must be positive")
	}
	if c.RetryMaxAttempts < 1 {
		bad("RETRY_MAX_ATTEMPTS", "must be at least 1")
	}
	if !c.InboundEnabled && !c.OutboundEnabled {
		bad("INBOUND_ENABLED", "both halves are disabled; enable INBOUND_ENABLED or OUTBOUND_ENABLED")
	}
	return errs
}

// secretVars are the variables that may be given as X_FILE. Account variables are
// matched by suffix.
var secretVars = []string{"KAFKA_SASL_PASSWORD", "PHONE_HASH_KEY"}
var accountSecretSuffixes = []string{"_APP_SECRET", "_WEBHOOK_TOKEN"}

// resolveFiles sets X from the file named by X_FILE, for every secret variable X.
func resolveFiles(vars map[string]string) []error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		path := vars[k]
		base, ok := strings.CutSuffix(k, "_FILE")
		if !ok || !strings.HasPrefix(base, Prefix) || !isSecret(base) {
			continue
		}
		if vars[base] != "" {
			errs = append(errs, fmt.Errorf("%s and %s are both set; use one", base, k))
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", k, err))
			continue
		}
		vars[base] = strings.TrimRight(string(b), "\r\n")
	}
	return errs
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

// envErrors lists caarlos0/env's problems, each naming its variable: the library
// names the Go field in parse errors, which means nothing to an operator.
func envErrors(err error, v any, prefix string) []error {
	all := []error{err}
	var agg env.AggregateError
	if errors.As(err, &agg) && len(agg.Errors) > 0 {
		all = agg.Errors
	}
	names := varNames(reflect.TypeOf(v).Elem(), prefix)
	out := make([]error, 0, len(all))
	for _, e := range all {
		var pe env.ParseError
		var ve env.VarIsNotSetError
		switch {
		case errors.As(e, &pe):
			if key, ok := names[pe.Name]; ok {
				e = fmt.Errorf("%s: %w", key, pe.Err)
			}
		case errors.As(e, &ve):
			e = fmt.Errorf("%s: is required", ve.Key)
		}
		out = append(out, e)
	}
	return out
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

// warnings are what does not stop the process but is likely a mistake: a CALLBRIDGE_
// variable nothing reads (a typo is otherwise silently ignored), an account's variable
// for an account not listed, or no account at all.
func warnings(c *Config, vars map[string]string) []string {
	var out []string
	if len(c.Accounts) == 0 {
		out = append(out, Prefix+"ACCOUNTS is empty: no account is configured, so every webhook gets 404 and every command fails unknown_account")
	}
	known := map[string]bool{}
	addSecretFile := func(name string) {
		known[name] = true
		if isSecret(name) {
			known[name+"_FILE"] = true
		}
	}
	for _, n := range varNames(reflect.TypeOf(Config{}), Prefix) {
		addSecretFile(n)
	}
	common := varNames(reflect.TypeOf(account{}), "")
	for _, a := range c.Accounts {
		prefix := AccountPrefix(a.Name)
		for _, n := range common {
			addSecretFile(prefix + n)
		}
		if v, ok := platform.Lookup(a.Vendor); ok {
			for _, s := range v.Settings() {
				addSecretFile(prefix + s.Name)
			}
		}
	}
	candidates := slices.Sorted(maps.Keys(known))
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		if !strings.HasPrefix(k, Prefix) || known[k] {
			continue
		}
		msg := k + " is not a callbridge variable; it is ignored"
		if strings.HasPrefix(k, Prefix+"ACCOUNT_") && !accountListed(c, k) {
			msg = k + " belongs to no account in " + Prefix + "ACCOUNTS; it is ignored"
		} else if near := nearest(k, candidates); near != "" {
			msg += " (did you mean " + near + "?)"
		}
		out = append(out, msg)
	}
	return out
}

func accountListed(c *Config, name string) bool {
	for _, a := range c.Accounts {
		if strings.HasPrefix(name, AccountPrefix(a.Name)) {
			return true
		}
	}
	return false
}

// nearest is the known name within two edits of name, if there is one.
func nearest(name string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(name, k, bestD); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, or limit when it is at least limit.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], limit)
}
