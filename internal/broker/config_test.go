package broker

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

func TestValidate(t *testing.T) {
	p := newPKI(t)
	caFile, certFile, keyFile := p.caFile, p.clientCert, p.clientKey
	notPEM := filepath.Join(t.TempDir(), "junk.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing.pem")
	base := func(mod func(*Config)) Config {
		c := Config{Brokers: []string{"localhost:9092"}}
		mod(&c)
		return c
	}

	tests := []struct {
		name      string
		cfg       Config
		wantField string // "" means valid
	}{
		{"zero value with brokers is valid", base(func(*Config) {}), ""},
		{"no brokers", Config{}, "Brokers"},
		{"broker without port", base(func(c *Config) { c.Brokers = []string{"localhost"} }), "Brokers"},
		{"every compression codec is accepted", base(func(c *Config) { c.Compression = "zstd" }), ""},
		{"explicit none compression", base(func(c *Config) { c.Compression = "none" }), ""},
		{"unknown compression", base(func(c *Config) { c.Compression = "brotli" }), "Compression"},
		{"negative produce timeout", base(func(c *Config) { c.ProduceTimeout = -time.Second }), "ProduceTimeout"},
		{"negative batch timeout", base(func(c *Config) { c.BatchTimeout = -time.Second }), "BatchTimeout"},
		{"plain with credentials", base(func(c *Config) { c.SASL = SASL{Mechanism: "plain", Username: "u", Password: "p"} }), ""},
		{"scram-sha-512 upper case", base(func(c *Config) { c.SASL = SASL{Mechanism: "SCRAM-SHA-512", Username: "u", Password: "p"} }), ""},
		{"bad SASL mechanism", base(func(c *Config) { c.SASL = SASL{Mechanism: "gssapi", Username: "u", Password: "p"} }), "SASL.Mechanism"},
		{"SASL without username", base(func(c *Config) { c.SASL = SASL{Mechanism: "scram-sha-256", Password: "p"} }), "SASL.Username"},
		{"SASL without password", base(func(c *Config) { c.SASL = SASL{Mechanism: "plain", Username: "u"} }), "SASL.Password"},
		{"TLS with system roots", base(func(c *Config) { c.TLS.Enabled = true }), ""},
		{"TLS with CA and client pair", base(func(c *Config) { c.TLS = TLS{Enabled: true, CAFile: caFile, CertFile: certFile, KeyFile: keyFile} }), ""},
		{"TLS CA file missing", base(func(c *Config) { c.TLS = TLS{Enabled: true, CAFile: missing} }), "TLS.CAFile"},
		{"TLS CA file not PEM", base(func(c *Config) { c.TLS = TLS{Enabled: true, CAFile: notPEM} }), "TLS.CAFile"},
		{"TLS cert file missing", base(func(c *Config) { c.TLS = TLS{Enabled: true, CertFile: missing, KeyFile: keyFile} }), "TLS.CertFile"},
		{"TLS key without cert", base(func(c *Config) { c.TLS = TLS{Enabled: true, KeyFile: keyFile} }), "TLS.CertFile"},
		{"TLS cert without key", base(func(c *Config) { c.TLS = TLS{Enabled: true, CertFile: certFile} }), "TLS.KeyFile"},
		{"TLS files while TLS disabled", base(func(c *Config) { c.TLS = TLS{CAFile: caFile} }), "TLS.CAFile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate() = %v, want a *FieldError for %s", err, tt.wantField)
			}
			if fe.Field != tt.wantField {
				t.Fatalf("Validate() names field %q, want %q (%v)", fe.Field, tt.wantField, err)
			}
			if !strings.Contains(err.Error(), tt.wantField) {
				t.Fatalf("error %q does not name %s", err, tt.wantField)
			}
		})
	}
}

func TestDefaultsAndBuiltClients(t *testing.T) {
	p := newPKI(t)
	cfg := Config{
		Brokers:     []string{"a:9092", "b:9092"},
		Compression: "lz4",
		TLS:         TLS{Enabled: true, CAFile: p.caFile, CertFile: p.clientCert, KeyFile: p.clientKey},
		SASL:        SASL{Mechanism: "scram-sha-256", Username: "u", Password: "p"},
	}
	w, err := NewWriter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	checks := []struct {
		name      string
		got, want any
	}{
		{"writer has no fixed topic", w.Topic, ""},
		{"writer waits for all replicas", w.RequiredAcks, kafka.RequireAll},
		{"writer batches for 1ms only", w.BatchTimeout, time.Millisecond},
		{"writer write timeout is the produce timeout", w.WriteTimeout, 10 * time.Second},
		{"writer never creates topics", w.AllowAutoTopicCreation, false},
		{"writer compresses as configured", w.Compression, kafka.Lz4},
		{"writer hashes keys with murmur2", fmt.Sprintf("%T", w.Balancer), "*kafka.Murmur2Balancer"},
		{"writer addresses every broker", w.Addr.String(), "a:9092,b:9092"},
	}
	tr, ok := w.Transport.(*kafka.Transport)
	if !ok {
		t.Fatalf("writer transport is %T", w.Transport)
	}
	checks = append(checks, []struct {
		name      string
		got, want any
	}{
		{"transport client id defaults to callbridge", tr.ClientID, "callbridge"},
		{"transport uses TLS", tr.TLS != nil && tr.TLS.RootCAs != nil && len(tr.TLS.Certificates) == 1, true},
		{"transport uses SCRAM", tr.SASL != nil && tr.SASL.Name() == "SCRAM-SHA-256", true},
	}...)
	d, err := cfg.Dialer()
	if err != nil {
		t.Fatal(err)
	}
	checks = append(checks, []struct {
		name      string
		got, want any
	}{
		{"dialer uses TLS", d.TLS != nil, true},
		{"dialer uses SCRAM", d.SASLMechanism != nil && d.SASLMechanism.Name() == "SCRAM-SHA-256", true},
	}...)
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestNewWriterRejectsInvalidConfig(t *testing.T) {
	if _, err := NewWriter(Config{}); err == nil {
		t.Fatal("NewWriter(Config{}) succeeded, want an error naming Brokers")
	}
}

func TestStringRedactsPassword(t *testing.T) {
	cfg := Config{Brokers: []string{"a:1"}, SASL: SASL{Mechanism: "plain", Username: "bob", Password: "hunter2"}}
	for _, s := range []string{cfg.String(), fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprint(cfg.SASL)} {
		if strings.Contains(s, "hunter2") {
			t.Fatalf("password leaked: %s", s)
		}
		if !strings.Contains(s, "bob") {
			t.Fatalf("username missing: %s", s)
		}
	}
}

func TestSASLMechanismNames(t *testing.T) {
	tests := []struct{ mechanism, want string }{
		{"", ""},
		{"plain", "PLAIN"},
		{"scram-sha-256", "SCRAM-SHA-256"},
		{"scram-sha-512", "SCRAM-SHA-512"},
	}
	for _, tt := range tests {
		m, err := Config{SASL: SASL{Mechanism: tt.mechanism, Username: "u", Password: "p"}}.SASLMechanism()
		if err != nil {
			t.Fatalf("%q: %v", tt.mechanism, err)
		}
		got := ""
		if m != nil {
			got = m.Name()
		}
		if got != tt.want {
			t.Errorf("SASLMechanism(%q).Name() = %q, want %q", tt.mechanism, got, tt.want)
		}
	}
}
