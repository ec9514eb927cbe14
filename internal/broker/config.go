// Package broker holds callbridge's Kafka connection plumbing on segmentio/kafka-go:
// one Config (brokers, TLS, SASL, compression, timeouts) from which the writer, the
// dialer, the transport, topic creation and the readiness ping are all built, so every
// Kafka client of the process connects and authenticates the same way.
package broker

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// Defaults applied to zero-valued Config fields.
const (
	DefaultClientID       = "callbridge"
	DefaultProduceTimeout = 10 * time.Second
	// DefaultBatchTimeout is tiny because webhook replies wait synchronously for the
	// acks: kafka-go's own 1s default would add a second to every vendor callback.
	DefaultBatchTimeout = time.Millisecond
	DefaultDialTimeout  = 5 * time.Second
)

// SASL mechanism names accepted in SASL.Mechanism (case-insensitive).
const (
	MechanismPlain       = "plain"
	MechanismSCRAMSHA256 = "scram-sha-256"
	MechanismSCRAMSHA512 = "scram-sha-512"
)

// Config says how to reach and authenticate to the Kafka cluster. The zero value of
// every field except Brokers is a working default. The env tags are relative names
// for caarlos0/env, meant to be used under the prefix CALLBRIDGE_KAFKA_.
type Config struct {
	// Brokers are the bootstrap brokers as host:port; required.
	Brokers []string `env:"BROKERS"`
	// ClientID is sent to the brokers with every request; default "callbridge".
	ClientID string `env:"CLIENT_ID"`
	// TLS configures encryption of the broker connections; off by default.
	TLS TLS `envPrefix:"TLS_"`
	// SASL configures authentication; none by default.
	SASL SASL `envPrefix:"SASL_"`
	// Compression of produced batches: none, gzip, snappy, lz4 or zstd; default none.
	Compression string `env:"COMPRESSION"`
	// ProduceTimeout bounds one produce request, acks included; default 10s.
	ProduceTimeout time.Duration `env:"PRODUCE_TIMEOUT"`
	// BatchTimeout is how long kafka.Writer waits to fill a batch (default 1ms), and
	// how long a Batcher's record waits for others (default 0: not at all).
	BatchTimeout time.Duration `env:"BATCH_TIMEOUT"`
}

// TLS configures encryption of the broker connections.
type TLS struct {
	// Enabled turns TLS on; default false (plaintext).
	Enabled bool `env:"ENABLED"`
	// CAFile is a PEM bundle of CAs that sign the brokers' certificates; default the system pool.
	CAFile string `env:"CA_FILE"`
	// CertFile is the PEM client certificate for mutual TLS; set together with KeyFile.
	CertFile string `env:"CERT_FILE"`
	// KeyFile is the PEM private key of CertFile.
	KeyFile string `env:"KEY_FILE"`
	// InsecureSkipVerify disables verification of the brokers' certificates; for tests only.
	InsecureSkipVerify bool `env:"INSECURE_SKIP_VERIFY"`
}

// SASL configures authentication to the brokers.
type SASL struct {
	// Mechanism is "" (no SASL), plain, scram-sha-256 or scram-sha-512.
	Mechanism string `env:"MECHANISM"`
	// Username to authenticate as; required with a mechanism.
	Username string `env:"USERNAME"`
	// Password of Username; required with a mechanism; never printed.
	Password string `env:"PASSWORD" json:"-"`
}

// FieldError reports an invalid Config field. Field is the Go path of the field
// (e.g. "SASL.Mechanism"), so a caller can map it to the variable it came from.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return "kafka config: " + e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// Validate checks every field, including that the TLS files load, and returns a
// *FieldError naming the first bad field.
func (c Config) Validate() error {
	if len(c.Brokers) == 0 {
		return fieldErr("Brokers", "at least one broker (host:port) is required")
	}
	for _, b := range c.Brokers {
		if _, port, err := net.SplitHostPort(b); err != nil || port == "" {
			return fieldErr("Brokers", "%q is not host:port", b)
		}
	}
	if _, err := c.compression(); err != nil {
		return &FieldError{Field: "Compression", Err: err}
	}
	if c.ProduceTimeout < 0 {
		return fieldErr("ProduceTimeout", "must not be negative, got %s", c.ProduceTimeout)
	}
	if c.BatchTimeout < 0 {
		return fieldErr("BatchTimeout", "must not be negative, got %s", c.BatchTimeout)
	}
	if err := c.validateTLS(); err != nil {
		return err
	}
	return c.validateSASL()
}

func (c Config) validateTLS() error {
	t := c.TLS
	if !t.Enabled {
		// Files without Enabled is almost surely a mistake; silently talking plaintext
		// (or silently enabling TLS) would hide it.
		for _, f := range [...]struct{ name, value string }{{"TLS.CAFile", t.CAFile}, {"TLS.CertFile", t.CertFile}, {"TLS.KeyFile", t.KeyFile}} {
			if f.value != "" {
				return fieldErr(f.name, "set but TLS.Enabled is false")
			}
		}
		return nil
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		if t.CertFile == "" {
			return fieldErr("TLS.CertFile", "required when TLS.KeyFile is set")
		}
		return fieldErr("TLS.KeyFile", "required when TLS.CertFile is set")
	}
	_, err := c.TLSConfig()
	return err
}

func (c Config) validateSASL() error {
	s := c.SASL
	switch strings.ToLower(s.Mechanism) {
	case "":
		return nil
	case MechanismPlain, MechanismSCRAMSHA256, MechanismSCRAMSHA512:
	default:
		return fieldErr("SASL.Mechanism", "unsupported mechanism %q (want %s, %s or %s)",
			s.Mechanism, MechanismPlain, MechanismSCRAMSHA256, MechanismSCRAMSHA512)
	}
	if s.Username == "" {
		return fieldErr("SASL.Username", "required with SASL mechanism %s", s.Mechanism)
	}
	if s.Password == "" {
		return fieldErr("SASL.Password", "required with SASL mechanism %s", s.Mechanism)
	}
	return nil
}

// TLSConfig returns the client TLS configuration, or nil when TLS is disabled.
func (c Config) TLSConfig() (*tls.Config, error) {
	t := c.TLS
	if !t.Enabled {
		return nil, nil
	}
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // opt-in, documented as test-only
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, &FieldError{Field: "TLS.CAFile", Err: err}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fieldErr("TLS.CAFile", "%s holds no PEM certificate", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, &FieldError{Field: "TLS.CertFile", Err: fmt.Errorf("loading client key pair: %w", err)}
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// SASLMechanism returns the kafka-go SASL mechanism, or nil when SASL is off.
func (c Config) SASLMechanism() (sasl.Mechanism, error) {
	s := c.SASL
	var algo scram.Algorithm
	switch strings.ToLower(s.Mechanism) {
	case "":
		return nil, nil
	case MechanismPlain:
		return plain.Mechanism{Username: s.Username, Password: s.Password}, nil
	case MechanismSCRAMSHA256:
		algo = scram.SHA256
	case MechanismSCRAMSHA512:
		algo = scram.SHA512
	default:
		return nil, fieldErr("SASL.Mechanism", "unsupported mechanism %q", s.Mechanism)
	}
	m, err := scram.Mechanism(algo, s.Username, s.Password)
	if err != nil {
		return nil, &FieldError{Field: "SASL.Username", Err: err}
	}
	return m, nil
}

func (c Config) compression() (kafka.Compression, error) {
	switch strings.ToLower(c.Compression) {
	case "", "none":
		return 0, nil // kafka-go: zero means uncompressed
	case "gzip":
		return kafka.Gzip, nil
	case "snappy":
		return kafka.Snappy, nil
	case "lz4":
		return kafka.Lz4, nil
	case "zstd":
		return kafka.Zstd, nil
	}
	return 0, fmt.Errorf("unsupported compression %q (want none, gzip, snappy, lz4 or zstd)", c.Compression)
}

func (c Config) clientID() string {
	if c.ClientID == "" {
		return DefaultClientID
	}
	return c.ClientID
}

func (c Config) produceTimeout() time.Duration {
	if c.ProduceTimeout <= 0 {
		return DefaultProduceTimeout
	}
	return c.ProduceTimeout
}

func (c Config) batchTimeout() time.Duration {
	if c.BatchTimeout <= 0 {
		return DefaultBatchTimeout
	}
	return c.BatchTimeout
}

// String describes the SASL settings with the password redacted, so logging them
// never leaks it.
func (s SASL) String() string {
	pw := ""
	if s.Password != "" {
		pw = "REDACTED"
	}
	return fmt.Sprintf("{Mechanism:%s Username:%s Password:%s}", s.Mechanism, s.Username, pw)
}

// String describes the effective configuration (defaults applied) with the SASL
// password redacted.
func (c Config) String() string {
	return fmt.Sprintf("{Brokers:%v ClientID:%s TLS:%+v SASL:%v Compression:%s ProduceTimeout:%s BatchTimeout:%s}",
		c.Brokers, c.clientID(), c.TLS, c.SASL, c.Compression, c.produceTimeout(), c.batchTimeout())
}
