package helm_test

// The chart's account values (values.schema.json), its README's account table and the
// project README's account table are made from one list of the settings every account
// has (accountFields) and the settings each registered vendor declares
// (platform.Vendor.Settings). After changing either, regenerate all three with
//
//	go test ./deploy/helm -run 'MatchRegistry' -update

import (
	"bytes"
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	// The vendors register themselves, as in the binary: the chart and the READMEs
	// describe the set the binary runs with.
	_ "github.com/callbridge/callbridge/bridge"
	"github.com/callbridge/callbridge/internal/config"
	"github.com/callbridge/callbridge/internal/platform"
	"github.com/callbridge/callbridge/schemas/schemagen"
)

var update = flag.Bool("update", false, "rewrite the registry-generated parts of values.schema.json and the READMEs")

// object is a JSON object whose members keep their order.
type object []member

type member struct {
	Key   string
	Value any
}

// MarshalJSON writes the members in order.
func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.Key)
		v, err := json.Marshal(m.Value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// field is one account setting as the chart and the READMEs show it.
type field struct {
	// Key is the chart's account field; "" when the chart has none of that name.
	Key string
	// Var is the variable suffix; "" for a field of the chart alone.
	Var string
	// Vendor is the vendor declaring the setting; "" for every account's settings.
	Vendor string
	// Schema is the field's schema in values.schema.json, without its description.
	Schema object
	// Doc is what the setting does, with its default and whether it is required.
	Doc string
	// SchemaDoc is the description in values.schema.json; "" means Doc.
	SchemaDoc string
	// Chart says how the chart sets Var when no field Key carries it (secrets).
	Chart string
	// Required makes the chart require the field (for Vendor's accounts when Vendor is set).
	Required bool
	// Secret marks a vendor setting read from existingSecret (secretKeys).
	Secret bool
}

const goDuration = `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`

// accountFields are the settings every account has (internal/config reads them), and
// the chart's own account fields.
func accountFields(vendors []string) []field {
	quoted := make([]string, len(vendors))
	for i, v := range vendors {
		quoted[i] = "`" + v + "`"
	}
	return []field{
		{Key: "name", Required: true, Doc: "the account's name, lower-case letters, digits and `-`; the webhook path is `/webhooks/<name>` (required; also listed in `CALLBRIDGE_ACCOUNTS`)",
			Schema: object{{"type", "string"}, {"pattern", "^[a-z0-9][a-z0-9-]{0,62}$"}}},
		{Key: "vendor", Var: "VENDOR", Required: true, Doc: "the account's vendor: " + orList(quoted) + " (required)",
			Schema: object{{"type", "string"}, {"enum", vendors}}},
		{Key: "appKey", Var: "APP_KEY", Required: true, Doc: "the API app key, not a secret (required)",
			Schema: object{{"type", []string{"string", "integer"}}}},
		{Var: "APP_SECRET", Chart: "`existingSecret` key `appSecretKey` (default `app-secret`)",
			Doc: "the API app secret (required; secret: may be given as `APP_SECRET_FILE`)"},
		{Key: "baseUrl", Var: "BASE_URL", Required: true, Doc: "the vendor API's root URL, http(s) (required)",
			Schema: object{{"type", "string"}, {"pattern", "^https?://"}}},
		{Key: "paths", Var: "PATHS", Doc: "endpoint path overrides by endpoint name, `task/createTask=/apiOpen/v1/task/create,…` (the vendors' samples used other paths than their documents for some calls); in the chart a map",
			Schema: object{{"type", "object"}, {"propertyNames", object{{"pattern", "^[^,=]+$"}}}, {"additionalProperties", object{{"type", "string"}, {"minLength", 1}}}}},
		{Var: "WEBHOOK_TOKEN", Chart: "`existingSecret` key `webhookTokenKey` (default `webhook-token`)",
			Doc: "the token the vendor sends as `?token=` or `X-Callbridge-Token` (required; secret: may be given as `WEBHOOK_TOKEN_FILE`)"},
		{Key: "allowCidrs", Var: "ALLOW_CIDRS", Doc: "source CIDRs webhooks are accepted from, comma separated; empty: any (behind an Ingress, also set `CALLBRIDGE_TRUSTED_PROXIES`); in the chart a list",
			Schema: object{{"type", "array"}, {"items", object{{"type", "string"}}}}},
		{Key: "timezone", Var: "TIMEZONE", Doc: "the vendor's time zone, an IANA name (default `Asia/Shanghai`)",
			Schema: object{{"type", "string"}}},
		{Key: "rateLimit", Var: "RATE_LIMIT", Doc: "vendor API requests per second for the whole deployment (default 0: unlimited)",
			Schema: object{{"type", "number"}, {"exclusiveMinimum", 0}}},
		{Key: "timeout", Var: "TIMEOUT", Doc: "time limit of one vendor request, a Go duration (default `10s`)",
			Schema: object{{"type", "string"}, {"pattern", goDuration}}},
		{Key: "reconcileInterval", Var: "RECONCILE_INTERVAL", Doc: "how often calls whose webhooks never arrived are read back from the vendor's query APIs and published (see Recovering calls), a Go duration (default `0`: off)",
			Schema: object{{"type", "string"}, {"pattern", goDuration}}},
		{Key: "reconcileLookback", Var: "RECONCILE_LOOKBACK", Doc: "how far back each reconciliation sweep looks, a Go duration (default `48h`)",
			Schema: object{{"type", "string"}, {"pattern", goDuration}}},
		{Key: "existingSecret", Required: true, Doc: "the existing Secret holding the app secret, the webhook token and the vendor's secret settings (required)",
			Schema: object{{"type", "string"}, {"minLength", 1}}},
		{Key: "appSecretKey", Doc: "key of the app secret in `existingSecret` (default `app-secret`)",
			Schema: object{{"type", "string"}, {"minLength", 1}}},
		{Key: "webhookTokenKey", Doc: "key of the webhook token in `existingSecret` (default `webhook-token`)",
			Schema: object{{"type", "string"}, {"minLength", 1}}},
		{Key: "secretKeys", Doc: "keys in `existingSecret` of the vendor's secret settings, by setting: `{callbackAesKey: callback-aes-key}` mounts that key as `CALLBACK_AES_KEY_FILE`; a required one must be listed",
			Schema: object{{"type", "object"}, {"additionalProperties", object{{"type", "string"}, {"minLength", 1}}}}},
	}
}

// vendorFields are the settings v declares, in its order.
func vendorFields(v platform.Vendor) []field {
	var fs []field
	for _, s := range v.Settings() {
		var notes []string
		if s.Required && s.Default == "" {
			notes = append(notes, "required")
		}
		if s.Default != "" {
			notes = append(notes, "default `"+s.Default+"`")
		}
		if len(s.Enum) > 0 {
			vals := make([]string, len(s.Enum))
			for i, e := range s.Enum {
				vals[i] = "`" + e + "`"
			}
			notes = append(notes, "one of "+strings.Join(vals, ", "))
		}
		if k := kindWords[s.Kind]; k != "" {
			notes = append(notes, k)
		}
		if s.Secret {
			notes = append(notes, "secret: may be given as `"+s.Name+"_FILE`")
		}
		doc := s.Doc
		if len(notes) > 0 {
			doc += " (" + strings.Join(notes, "; ") + ")"
		}
		f := field{Var: s.Name, Vendor: v.Name(), Doc: doc, SchemaDoc: s.Doc + " (" + strings.Join(append([]string{v.Name() + " accounts"}, notes...), "; ") + ")", Required: s.Required && s.Default == "", Secret: s.Secret}
		if s.Secret {
			f.Chart = "`existingSecret` key `secretKeys." + s.Key() + "`"
		} else {
			f.Key, f.Schema = s.Key(), settingSchema(s)
		}
		fs = append(fs, f)
	}
	return fs
}

var kindWords = map[platform.Kind]string{
	platform.KindBool:     "`true` or `false`",
	platform.KindInt:      "an integer",
	platform.KindNumber:   "a number",
	platform.KindDuration: "a Go duration, e.g. `30s`",
}

// settingSchema is the chart's schema of a vendor setting's field.
func settingSchema(s platform.Setting) object {
	if len(s.Enum) > 0 {
		return object{{"type", "string"}, {"enum", s.Enum}}
	}
	switch s.Kind {
	case platform.KindBool:
		return object{{"type", "boolean"}}
	case platform.KindInt:
		return object{{"type", []string{"string", "integer"}}, {"pattern", "^-?[0-9]+$"}}
	case platform.KindNumber:
		return object{{"type", "number"}}
	case platform.KindDuration:
		return object{{"type", "string"}, {"pattern", goDuration}}
	}
	return object{{"type", []string{"string", "integer"}}}
}

func orList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// registry are the registered vendors and the fields of each, failing on a vendor
// setting that reuses a common field's name.
func registry(t *testing.T, vendors []platform.Vendor) (common []field, byVendor map[string][]field) {
	t.Helper()
	if len(vendors) == 0 {
		t.Fatal("no vendor is registered")
	}
	var names []string
	for _, v := range vendors {
		names = append(names, v.Name())
	}
	common = accountFields(names)
	byVendor = map[string][]field{}
	for _, v := range vendors {
		for _, f := range vendorFields(v) {
			if i := slices.IndexFunc(common, func(c field) bool {
				return (f.Key != "" && c.Key == f.Key) || c.Var == f.Var || (f.Secret && c.Key == platform.Setting{Name: f.Var}.Key())
			}); i >= 0 {
				t.Fatalf("vendor %s: setting %s collides with the common account setting %s", v.Name(), f.Var, common[i].Var+common[i].Key)
			}
			byVendor[v.Name()] = append(byVendor[v.Name()], f)
		}
	}
	return common, byVendor
}

// accountSchema is values.schema.json's accounts.items: the common fields, every
// vendor's, and per vendor which are required and which belong to other vendors.
func accountSchema(t *testing.T, vendors []platform.Vendor) object {
	common, byVendor := registry(t, vendors)
	props := object{}
	var required []string
	seen := map[string]object{}
	put := func(f field) {
		if prev, ok := seen[f.Key]; ok {
			if !equalJSON(prev, f.Schema) {
				t.Fatalf("field %s is declared by two vendors with different types", f.Key)
			}
			return
		}
		seen[f.Key] = f.Schema
		s := append(object{}, f.Schema[0])
		s = append(s, member{Key: "description", Value: cmp.Or(f.SchemaDoc, f.Doc)})
		s = append(s, f.Schema[1:]...)
		props = append(props, member{Key: f.Key, Value: s})
	}
	for _, f := range common {
		if f.Key == "" {
			continue
		}
		put(f)
		if f.Required {
			required = append(required, f.Key)
		}
	}
	for _, v := range vendors {
		for _, f := range byVendor[v.Name()] {
			if f.Key != "" {
				put(f)
			}
		}
	}
	var rules []any
	for _, v := range vendors {
		own := map[string]bool{}
		var req, secrets, reqSecrets []string
		for _, f := range byVendor[v.Name()] {
			switch {
			case f.Secret:
				key := platform.Setting{Name: f.Var}.Key()
				secrets = append(secrets, key)
				if f.Required {
					reqSecrets = append(reqSecrets, key)
				}
			default:
				own[f.Key] = true
				if f.Required {
					req = append(req, f.Key)
				}
			}
		}
		then := object{}
		narrow := object{}
		// Fields of other vendors are not this vendor's settings.
		for _, w := range vendors {
			for _, f := range byVendor[w.Name()] {
				if f.Key != "" && !own[f.Key] && !slices.ContainsFunc(narrow, func(m member) bool { return m.Key == f.Key }) {
					narrow = append(narrow, member{Key: f.Key, Value: false})
				}
			}
		}
		secretProps := object{}
		for _, k := range secrets {
			secretProps = append(secretProps, member{Key: k, Value: object{{"type", "string"}, {"minLength", 1}}})
		}
		sk := object{{"properties", secretProps}, {"additionalProperties", false}}
		if len(reqSecrets) > 0 {
			sk = append(sk, member{Key: "required", Value: reqSecrets})
			req = append(req, "secretKeys")
		}
		narrow = append(narrow, member{Key: "secretKeys", Value: sk})
		then = append(then, member{Key: "properties", Value: narrow})
		if len(req) > 0 {
			then = append(then, member{Key: "required", Value: req})
		}
		rules = append(rules, object{
			{"if", object{{"properties", object{{"vendor", object{{"const", v.Name()}}}}}, {"required", []string{"vendor"}}}},
			{"then", then},
		})
	}
	return object{
		{"type", "object"},
		{"additionalProperties", false},
		{"properties", props},
		{"required", required},
		{"allOf", rules},
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// writeOrCompare rewrites path with got under -update, else fails when they differ.
func writeOrCompare(t *testing.T, path string, old, got []byte, what string) {
	t.Helper()
	if bytes.Equal(old, got) {
		return
	}
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s rewritten from the registry", path, what)
		return
	}
	t.Errorf("%s: %s differs from what the registered vendors declare; run go test ./deploy/helm -run MatchRegistry -update", path, what)
}

var schemaStyle = schemagen.Style{Indent: "  "}

func spliceAccounts(t *testing.T, doc []byte, vendors []platform.Vendor) []byte {
	t.Helper()
	item, err := json.Marshal(accountSchema(t, vendors))
	if err != nil {
		t.Fatal(err)
	}
	got, err := schemagen.Splice(doc, []string{"properties", "accounts", "items"}, item, schemaStyle)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestValuesSchemaAccountsMatchRegistry: values.schema.json's accounts are the common
// account fields and every registered vendor's settings.
func TestValuesSchemaAccountsMatchRegistry(t *testing.T) {
	path := filepath.Join(chartDir, "values.schema.json")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeOrCompare(t, path, doc, spliceAccounts(t, doc, platform.Vendors()), "accounts.items")
}

var markers = regexp.MustCompile(`(?s)(<!-- accounts:begin[^>]*-->\n).*?(<!-- accounts:end -->)`)

func spliceMarkdown(t *testing.T, path, table string) {
	t.Helper()
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(markers.FindAllIndex(doc, -1)) != 1 {
		t.Fatalf("%s: want one <!-- accounts:begin --> … <!-- accounts:end --> block", path)
	}
	m := markers.FindSubmatch(doc)
	got := markers.ReplaceAllFunc(doc, func([]byte) []byte {
		return []byte(string(m[1]) + table + string(m[2]))
	})
	writeOrCompare(t, path, doc, got, "the accounts table")
}

func code(s string) string {
	if s == "" {
		return "—"
	}
	return "`" + s + "`"
}

// TestREADMEAccountsMatchRegistry: the project README's account table lists the
// common settings, then every registered vendor's.
func TestREADMEAccountsMatchRegistry(t *testing.T) {
	vendors := platform.Vendors()
	common, byVendor := registry(t, vendors)
	var b strings.Builder
	b.WriteString("| suffix | vendor | chart (`accounts[]`) | meaning |\n| --- | --- | --- | --- |\n")
	row := func(f field, vendor string) {
		chart := f.Chart
		if f.Key != "" {
			chart = code(f.Key)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f.Var, vendor, chart, f.Doc)
	}
	for _, f := range common {
		if f.Var != "" {
			row(f, "all")
		}
	}
	for _, v := range vendors {
		for _, f := range byVendor[v.Name()] {
			row(f, code(v.Name()))
		}
	}
	spliceMarkdown(t, filepath.Join("..", "..", "README.md"), b.String())
}

// TestChartREADMEAccountsMatchRegistry: the chart README's table of account fields
// lists the common fields, then every registered vendor's.
func TestChartREADMEAccountsMatchRegistry(t *testing.T) {
	vendors := platform.Vendors()
	common, byVendor := registry(t, vendors)
	var b strings.Builder
	b.WriteString("| Field | Variable suffix | Vendor | Notes |\n| --- | --- | --- | --- |\n")
	row := func(f field, vendor string) {
		key, suffix := code(f.Key), code(f.Var)
		if f.Key == "" {
			key, suffix = f.Chart, code(f.Var+"_FILE")
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", key, suffix, vendor, f.Doc)
	}
	for _, f := range common {
		row(f, "all")
	}
	for _, v := range vendors {
		for _, f := range byVendor[v.Name()] {
			row(f, code(v.Name()))
		}
	}
	spliceMarkdown(t, filepath.Join(chartDir, "README.md"), b.String())
}

// sample is a valid value of a setting, as a chart value and as the variable it becomes.
func sample(s platform.Setting) (value any, env string) {
	switch {
	case len(s.Enum) > 0:
		return s.Enum[len(s.Enum)-1], s.Enum[len(s.Enum)-1]
	case s.Kind == platform.KindBool:
		return true, "true"
	case s.Kind == platform.KindInt:
		return 12345678901, "12345678901"
	case s.Kind == platform.KindNumber:
		return 2.5, "2.5"
	case s.Kind == platform.KindDuration:
		return "3s", "3s"
	}
	v := "sample-" + strings.ToLower(strings.ReplaceAll(s.Name, "_", "-"))
	return v, v
}

// sampleAccounts is one account per vendor with every field set, and the variables
// (or, for secrets, *_FILE paths) each field must become.
func sampleAccounts(vendors []platform.Vendor) (accounts []map[string]any, want map[string]string) {
	want = map[string]string{}
	for _, v := range vendors {
		name := "sample-" + v.Name()
		p := config.AccountPrefix(name)
		a := map[string]any{
			"name": name, "vendor": v.Name(), "appKey": "k", "baseUrl": "https://api.example.com",
			"paths":      map[string]any{"task/createTask": "/open/task/create", "b/c": "/x"},
			"allowCidrs": []any{"203.0.113.0/24", "198.51.100.0/24"},
			"timezone":   "Asia/Tokyo", "rateLimit": 0.25, "timeout": "7s",
			"existingSecret": "creds-" + v.Name(), "appSecretKey": "as", "webhookTokenKey": "wt",
		}
		want[p+"VENDOR"] = v.Name()
		want[p+"APP_KEY"] = "k"
		want[p+"BASE_URL"] = "https://api.example.com"
		want[p+"PATHS"] = "b/c=/x,task/createTask=/open/task/create"
		want[p+"ALLOW_CIDRS"] = "203.0.113.0/24,198.51.100.0/24"
		want[p+"TIMEZONE"] = "Asia/Tokyo"
		want[p+"RATE_LIMIT"] = "0.25"
		want[p+"TIMEOUT"] = "7s"
		want[p+"APP_SECRET_FILE"] = secretsDir + "/accounts/" + name + "/app-secret"
		want[p+"WEBHOOK_TOKEN_FILE"] = secretsDir + "/accounts/" + name + "/webhook-token"
		secretKeys := map[string]any{}
		for _, s := range v.Settings() {
			if s.Secret {
				secretKeys[s.Key()] = "key-" + s.Flag()
				want[p+s.Name+"_FILE"] = secretsDir + "/accounts/" + name + "/" + s.Flag()
				continue
			}
			a[s.Key()], want[p+s.Name] = sample(s)
		}
		if len(secretKeys) > 0 {
			a["secretKeys"] = secretKeys
		}
		accounts = append(accounts, a)
	}
	return accounts, want
}

func writeValues(t *testing.T, values map[string]any) string {
	t.Helper()
	b, err := yaml.Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

var kafkaValues = map[string]any{"kafka": map[string]any{"brokers": []any{"kafka:9092"}}}

// TestEverySettingReachesItsVariable: an account with every common field and every
// setting of its vendor set renders each as the variable the binary reads, with the
// value the binary parses (lists and maps joined), and the binary loads the result.
func TestEverySettingReachesItsVariable(t *testing.T) {
	requireHelm(t)
	accounts, want := sampleAccounts(platform.Vendors())
	file := writeValues(t, map[string]any{"config": kafkaValues, "accounts": accounts})
	m := render(t, file)
	m.checkCommon(t)
	m.checkConfigLoads(t)
	d := m.deployments[0]
	env := m.env(t, d.Spec.Template.Spec.Containers[0])
	checkEnv(t, env, want)
	files := secretFiles(t, d)
	for k, v := range want {
		if strings.HasSuffix(k, "_FILE") && files[v] == "" {
			t.Errorf("%s=%s is not projected from the account's existingSecret", k, v)
		}
	}
	// Nothing else: an account's variables are exactly its fields.
	for k := range env {
		if strings.HasPrefix(k, "CALLBRIDGE_ACCOUNT_") {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected account variable %s=%q", k, env[k])
			}
		}
	}
}

// fakeVendor declares settings only: what the chart's generator reads.
type fakeVendor struct {
	platform.Vendor
	name     string
	settings []platform.Setting
}

func (v fakeVendor) Name() string                 { return v.name }
func (v fakeVendor) Settings() []platform.Setting { return v.settings }

// TestGeneratedChartForAnotherVendor: for a registry with a vendor that declares secret,
// enum and duration settings, the generated schema and the generic templates mount its
// secrets from existingSecret, render its settings, require what it requires and reject
// another vendor's fields.
func TestGeneratedChartForAnotherVendor(t *testing.T) {
	requireHelm(t)
	acme := fakeVendor{name: "acme", settings: []platform.Setting{
		{Name: "CALLBACK_AES_KEY", Secret: true, Required: true, Doc: "decrypts callbacks"},
		{Name: "SIGNING_TOKEN", Secret: true, Doc: "signs requests"},
		{Name: "REGION", Enum: []string{"east", "west"}, Required: true, Doc: "API region"},
		{Name: "POLL_EVERY", Kind: platform.KindDuration, Default: "1m", Doc: "poll interval"},
	}}
	vendors := append(platform.Vendors(), acme)
	dir := copyChart(t)
	schemaPath := filepath.Join(dir, "values.schema.json")
	doc, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(schemaPath, spliceAccounts(t, doc, vendors), 0o644); err != nil {
		t.Fatal(err)
	}
	account := map[string]any{"name": "acme-one", "vendor": "acme", "appKey": "k", "baseUrl": "https://acme.example",
		"existingSecret": "acme-creds", "region": "west", "pollEvery": "90s", "secretKeys": map[string]any{"callbackAesKey": "aes"}}
	out, err := helm(t, "template", release, dir, "--namespace", namespace, "--values",
		writeValues(t, map[string]any{"config": kafkaValues, "accounts": []any{account}}))
	if err != nil {
		t.Fatal(err)
	}
	m, err := decode(out)
	if err != nil {
		t.Fatal(err)
	}
	m.checkCommon(t)
	d := m.deployments[0]
	env := m.env(t, d.Spec.Template.Spec.Containers[0])
	const p = "CALLBRIDGE_ACCOUNT_ACME_ONE_"
	checkEnv(t, env, map[string]string{
		p + "REGION":                "west",
		p + "POLL_EVERY":            "90s",
		p + "CALLBACK_AES_KEY_FILE": secretsDir + "/accounts/acme-one/callback-aes-key",
	})
	if _, ok := env[p+"SIGNING_TOKEN_FILE"]; ok {
		t.Errorf("an optional secret not listed in secretKeys is mounted")
	}
	if got := secretFiles(t, d)[env[p+"CALLBACK_AES_KEY_FILE"]]; got != "acme-creds" {
		t.Errorf("CALLBACK_AES_KEY_FILE is projected from %q, want acme-creds", got)
	}
	for _, c := range []struct {
		name, message string
		edit          func(a map[string]any)
	}{
		{"a required secret missing from secretKeys", "secretKeys", func(a map[string]any) { delete(a, "secretKeys") }},
		{"an unknown secret", "signingTokn", func(a map[string]any) { a["secretKeys"] = map[string]any{"callbackAesKey": "aes", "signingTokn": "x"} }},
		{"a secret given as a value", "callbackAesKey", func(a map[string]any) { a["callbackAesKey"] = "plain" }},
		{"a value outside the enum", "/accounts/0/region", func(a map[string]any) { a["region"] = "north" }},
		{"a required setting missing", "region", func(a map[string]any) { delete(a, "region") }},
		{"another vendor's field", "/accounts/0/", func(a map[string]any) {
			for _, f := range vendorFields(vendors[0]) {
				if f.Key != "" {
					a[f.Key] = "1"
					return
				}
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := map[string]any{}
			for k, v := range account {
				a[k] = v
			}
			c.edit(a)
			_, err := helm(t, "template", release, dir, "--values", writeValues(t, map[string]any{"config": kafkaValues, "accounts": []any{a}}))
			if err == nil {
				t.Fatalf("helm template accepted %v", a)
			}
			if !strings.Contains(err.Error(), c.message) {
				t.Errorf("error does not mention %q:\n%v", c.message, err)
			}
		})
	}
}

// copyChart copies the chart into a temporary directory.
func copyChart(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "callbridge")
	err := filepath.WalkDir(chartDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(chartDir, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
