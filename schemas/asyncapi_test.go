package schemas_test

import (
	"bytes"
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/propagation"
	"sigs.k8s.io/yaml"

	"github.com/callbridge/callbridge/bridge"
	"github.com/callbridge/callbridge/bridge/outbound"
	"github.com/callbridge/callbridge/internal/cekafka"
	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/config"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/publish"
	"github.com/callbridge/callbridge/schemas"
)

// The AsyncAPI document is checked against the AsyncAPI specification by the
// AsyncAPI project's parser (scripts/asyncapi/validate.mjs, run by scripts/test).
// These tests keep it in step with the code: its topics, types, headers and schema
// references are what the bridge produces and consumes.

const asyncAPIFile = "asyncapi.yaml"

// docURL is where the document is loaded into the JSON Schema compiler; the
// payloads' relative $refs resolve beside it, to the embedded schema files.
const docURL = "file:///callbridge/schemas/" + asyncAPIFile

type asyncAPIDoc struct {
	AsyncAPI string `json:"asyncapi"`
	Channels map[string]struct {
		Address  string                    `json:"address"`
		Messages map[string]map[string]any `json:"messages"`
	} `json:"channels"`
	Operations map[string]struct {
		Action  string            `json:"action"`
		Channel map[string]string `json:"channel"`
	} `json:"operations"`
	Components struct {
		Messages map[string]map[string]any `json:"messages"`
		Schemas  map[string]map[string]any `json:"schemas"`
	} `json:"components"`
}

var loadDoc = sync.OnceValues(func() ([]byte, error) {
	y, err := os.ReadFile(asyncAPIFile)
	if err != nil {
		return nil, err
	}
	return yaml.YAMLToJSON(y)
})

func readDoc(t *testing.T) (asyncAPIDoc, []byte) {
	t.Helper()
	j, err := loadDoc()
	if err != nil {
		t.Fatalf("reading %s: %v", asyncAPIFile, err)
	}
	var d asyncAPIDoc
	if err := json.Unmarshal(j, &d); err != nil {
		t.Fatalf("decoding %s: %v", asyncAPIFile, err)
	}
	return d, j
}

// constsWithPrefix returns the values of the string constants whose names start
// with prefix in the (non-test) Go files of the package in dir: a constant added
// there without a matching change to the document fails the tests below.
func constsWithPrefix(t *testing.T, dir, prefix string) []string {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path.Join(dir, e.Name()), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, prefix) || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						s, err := strconv.Unquote(lit.Value)
						if err != nil {
							t.Fatal(err)
						}
						out = append(out, s)
					}
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s* constants in %s", prefix, dir)
	}
	slices.Sort(out)
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

func TestAsyncAPIHasEveryTopicOfTheCodeAndNoOther(t *testing.T) {
	d, _ := readDoc(t)
	if !strings.HasPrefix(d.AsyncAPI, "3.0.") {
		t.Errorf("asyncapi %q, want 3.0.x", d.AsyncAPI)
	}
	byChannel := map[string]string{} // channel id → address
	for id, c := range d.Channels {
		byChannel[id] = c.Address
	}
	documented := sorted(slices.Collect(maps.Values(byChannel)))

	code := constsWithPrefix(t, "../internal/event", "Topic")
	if !slices.Equal(documented, code) {
		t.Errorf("channel addresses %v\nwant the topics of internal/event %v", documented, code)
	}
	var created []string
	for _, s := range bridge.Topics(&config.Config{}) {
		created = append(created, s.Name)
	}
	for _, name := range created {
		if !slices.Contains(documented, name) {
			t.Errorf("bridge.Topics creates %s, which the document lacks", name)
		}
	}

	// Direction: what the bridge consumes and what it produces.
	ops := map[string][]string{}
	for id, op := range d.Operations {
		ref := op.Channel["$ref"]
		ch, ok := strings.CutPrefix(ref, "#/channels/")
		if !ok || byChannel[ch] == "" {
			t.Errorf("operation %s: channel %q is not a channel of the document", id, ref)
			continue
		}
		ops[op.Action] = append(ops[op.Action], byChannel[ch])
	}
	wantReceive := sorted(append(slices.Clone(outbound.CommandTopics), event.TopicLedger, event.TopicReconcile))
	if got := sorted(ops["receive"]); !slices.Equal(got, wantReceive) {
		t.Errorf("receive operations on %v, want the command topics, the ledger and reconciliation progress %v", got, wantReceive)
	}
	var wantSend []string
	for _, topic := range code {
		if !slices.Contains(outbound.CommandTopics, topic) {
			wantSend = append(wantSend, topic)
		}
	}
	if got := sorted(ops["send"]); !slices.Equal(got, sorted(wantSend)) {
		t.Errorf("send operations on %v, want every topic but the commands %v", got, wantSend)
	}
	if extra := slices.DeleteFunc(slices.Collect(maps.Keys(ops)), func(a string) bool { return a == "send" || a == "receive" }); len(extra) > 0 {
		t.Errorf("unknown operation actions %v", extra)
	}
}

// payloadSchema returns the schema name a message's payload refers to, directly or
// as the data of a structured command; "" when it refers to none.
func payloadSchema(t *testing.T, msg map[string]any) string {
	t.Helper()
	var find func(v any) string
	find = func(v any) string {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok && !strings.HasPrefix(ref, "#") {
				name, ok := strings.CutSuffix(strings.TrimPrefix(ref, "./"), ".v1.json")
				if !ok || strings.Contains(name, "/") {
					t.Errorf("payload $ref %q: want ./<name>.v1.json beside the document", ref)
				}
				return name
			}
			for _, k := range slices.Sorted(maps.Keys(v)) {
				if s := find(v[k]); s != "" {
					return s
				}
			}
		case []any:
			for _, e := range v {
				if s := find(e); s != "" {
					return s
				}
			}
		}
		return ""
	}
	return find(msg["payload"])
}

func TestAsyncAPIRefersToEverySchemaFileAndCopiesNone(t *testing.T) {
	d, _ := readDoc(t)
	files, err := fs.Glob(schemas.FS, "*.v1.json")
	if err != nil {
		t.Fatal(err)
	}
	referenced := map[string]bool{}
	for id, msg := range d.Components.Messages {
		name := payloadSchema(t, msg)
		if name == "" {
			continue
		}
		if _, err := fs.Stat(schemas.FS, name+".v1.json"); err != nil {
			t.Errorf("message %s refers to %s.v1.json, which is not in schemas/", id, name)
		}
		referenced[name+".v1.json"] = true
	}
	for _, f := range files {
		if !referenced[f] {
			t.Errorf("no message refers to %s", f)
		}
	}
	// No second copy: the document defines no schema with a property of the data.
	for name, s := range d.Components.Schemas {
		if props, ok := s["properties"].(map[string]any); ok {
			for _, p := range []string{"callId", "taskId", "customers", "commandId"} {
				if _, ok := props[p]; ok {
					t.Errorf("components/schemas/%s defines %s: refer to the schema file instead", name, p)
				}
			}
		}
	}
}

// compiler loads the document and the schema files for validating records
// against the document's header, key and payload schemas.
func compiler(t *testing.T) *jsonschema.Compiler {
	t.Helper()
	_, j := readDoc(t)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7) // AsyncAPI schemas are a superset of draft 7
	c.AssertFormat()
	if err := c.AddResource(docURL, doc); err != nil {
		t.Fatal(err)
	}
	files, _ := fs.Glob(schemas.FS, "*.json")
	for _, f := range files {
		b, _ := fs.ReadFile(schemas.FS, f)
		sch, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource("file:///callbridge/schemas/"+f, sch); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func validateAt(t *testing.T, c *jsonschema.Compiler, pointer string, v any) {
	t.Helper()
	sch, err := c.Compile(docURL + "#" + pointer)
	if err != nil {
		t.Fatalf("compiling %s: %v", pointer, err)
	}
	// Round-trip through JSON so numbers and maps have the validator's types.
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("%s rejects %s:\n%v", pointer, b, err)
	}
}

func headerMap(t *testing.T, hs []kafka.Header) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, h := range hs {
		if _, dup := m[h.Key]; dup {
			t.Errorf("header %s written twice", h.Key)
		}
		m[h.Key] = string(h.Value)
	}
	return m
}

type recordingWriter struct{ msgs []kafka.Message }

func (w *recordingWriter) WriteMessages(_ context.Context, msgs ...kafka.Message) error {
	w.msgs = append(w.msgs, msgs...)
	return nil
}

// platformTrace is a command's trace context, as a platform traced by
// OpenTelemetry would send it.
func platformTrace() context.Context {
	return propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{
		"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"tracestate":  "congo=t61rcWkgMzE",
	})
}

// TestPublishedRecordsMatchTheirMessages produces each event through the publisher
// the bridge uses and checks the record's headers and key against the document.
func TestPublishedRecordsMatchTheirMessages(t *testing.T) {
	d, _ := readDoc(t)
	c := compiler(t)
	tests := []struct {
		message string
		out     event.Out
	}{
		{"callFinished", event.Out{Topic: event.TopicCallFinished, Type: event.TypeCallFinished, Subject: "call/1", Key: "42"}},
		{"taskStatus", event.Out{Topic: event.TopicTaskStatus, Type: event.TypeTaskStatus, Subject: "task/42", Key: "42"}},
		{"intentChanged", event.Out{Topic: event.TopicIntentChanged, Type: event.TypeIntentChanged, Subject: "call/1", Key: "1"}},
		{"smsSent", event.Out{Topic: event.TopicSMSSent, Type: event.TypeSMSSent, Subject: "call/1", Key: "42"}},
		{"commandResult", event.Out{Topic: event.TopicCommandResult, Type: event.TypeCommandSucceeded, Subject: "command/c1", Key: "k"}},
		{"commandResult", event.Out{Topic: event.TopicCommandResult, Type: event.TypeCommandFailed, Subject: "command/c1", Key: "k"}},
	}
	for _, tc := range tests {
		t.Run(tc.out.Type, func(t *testing.T) {
			msg := d.Components.Messages[tc.message]
			if msg == nil {
				t.Fatalf("no components/messages/%s", tc.message)
			}
			w := &recordingWriter{}
			p := &publish.Publisher{Writer: w}
			tc.out.ID = "ev-1"
			tc.out.Time = time.Date(2024, 5, 1, 2, 0, 0, 0, time.UTC)
			tc.out.Data = map[string]any{"x": 1}
			if err := p.Publish(platformTrace(), "acmevendor", "acct-1", []event.Out{tc.out}); err != nil {
				t.Fatal(err)
			}
			rec := w.msgs[0]
			if rec.Topic != tc.out.Topic {
				t.Fatalf("topic %s", rec.Topic)
			}
			hs := headerMap(t, rec.Headers)
			validateAt(t, c, "/components/messages/"+tc.message+"/headers", hs)
			validateAt(t, c, "/components/messages/"+tc.message+"/bindings/kafka/key", string(rec.Key))
			if want := schemas.URI(payloadSchema(t, msg)); hs["ce_dataschema"] != want {
				t.Errorf("ce_dataschema %q, but the message's payload is %s", hs["ce_dataschema"], want)
			}
			// The headers the document marks required all are on the record, and the
			// record has no header the document does not describe.
			props := d.Components.Schemas["EventHeaders"]["properties"].(map[string]any)
			for k := range hs {
				if _, ok := props[k]; !ok {
					t.Errorf("record header %s is not in components/schemas/EventHeaders", k)
				}
			}
			if hs["tracestate"] == "" || hs["tracestate"] != hs["ce_tracestate"] {
				t.Errorf("tracestate %q, ce_tracestate %q: want both, equal", hs["tracestate"], hs["ce_tracestate"])
			}
		})
	}
}

// TestCommandRecordsMatchTheirMessages binds commands as `callbridge send` and the
// tests' platforms do, in both modes, and checks them against the document.
func TestCommandRecordsMatchTheirMessages(t *testing.T) {
	d, _ := readDoc(t)
	c := compiler(t)
	types := map[string]string{
		event.TopicTaskCreate: command.TypeTaskCreate, event.TopicCustomerImport: command.TypeCustomerImport,
		event.TopicCallSingle: command.TypeCallSingle, event.TopicTaskControl: command.TypeTaskControl,
		event.TopicTaskUpdate: command.TypeTaskUpdate, event.TopicBlacklistAdd: command.TypeBlacklistAdd,
	}
	for _, topic := range outbound.CommandTopics {
		typ, ok := types[topic]
		if !ok {
			t.Fatalf("no command type for topic %s", topic)
		}
		var messages []string
		for _, ch := range d.Channels {
			if ch.Address == topic {
				for _, m := range ch.Messages {
					messages = append(messages, strings.TrimPrefix(m["$ref"].(string), "#/components/messages/"))
				}
			}
		}
		slices.Sort(messages)
		if len(messages) != 2 || !strings.HasSuffix(messages[1], "Structured") {
			t.Fatalf("channel %s has messages %v, want a binary and a structured one", topic, messages)
		}
		for i, mode := range []string{"binary", "structured"} {
			t.Run(topic+"/"+mode, func(t *testing.T) {
				ev := cloudevents.NewEvent()
				ev.SetID("cmd-1")
				ev.SetSource("/platform/crm")
				ev.SetType(typ)
				ev.SetExtension("partitionkey", "task-43")
				ev.SetExtension("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
				data := map[string]any{"account": "acct-1", "taskId": "43", "action": "pause"}
				if err := ev.SetData(cloudevents.ApplicationJSON, data); err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				if mode == "structured" {
					ctx = binding.WithForceStructured(ctx)
				}
				rec, err := cekafka.ToKafka(ctx, ev, topic)
				if err != nil {
					t.Fatal(err)
				}
				hs := headerMap(t, rec.Headers)
				hs["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" // an OpenTelemetry instrumentation's
				msg := messages[i]
				validateAt(t, c, "/components/messages/"+msg+"/headers", hs)
				validateAt(t, c, "/components/messages/"+msg+"/bindings/kafka/key", string(rec.Key))
				if mode == "structured" && topic == event.TopicTaskControl {
					var v any
					if err := json.Unmarshal(rec.Value, &v); err != nil {
						t.Fatal(err)
					}
					validateAt(t, c, "/components/messages/"+msg+"/payload", v)
				}
			})
		}
	}
}

func TestDeadLettersMatchTheirMessage(t *testing.T) {
	d, _ := readDoc(t)
	c := compiler(t)
	props := d.Components.Schemas["DeadLetterHeaders"]["properties"].(map[string]any)
	for _, h := range constsWithPrefix(t, "../internal/publish", "Header") {
		if _, ok := props[h]; !ok {
			t.Errorf("dead-letter header %s is not in components/schemas/DeadLetterHeaders", h)
		}
	}
	for _, dl := range []publish.DeadLetter{
		{Reason: "unknown dataType", Source: "webhook", Vendor: "acmevendor", Account: "acct-1", Body: []byte(`{}`)},
		{Reason: "not a CloudEvent: x", Source: "command", Body: []byte("?"), Key: []byte("k"), Topic: "task.create", Partition: 2, Offset: 7,
			Headers: []kafka.Header{{Key: "traceparent", Value: []byte("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")}}},
	} {
		w := &recordingWriter{}
		if err := (&publish.Publisher{Writer: w}).DeadLetter(context.Background(), dl, "test"); err != nil {
			t.Fatal(err)
		}
		rec := w.msgs[0]
		if rec.Topic != event.TopicDLQ {
			t.Errorf("topic %s", rec.Topic)
		}
		validateAt(t, c, "/components/messages/deadLetter/headers", headerMap(t, rec.Headers))
		validateAt(t, c, "/components/messages/deadLetter/bindings/kafka/key", string(rec.Key))
	}
}

func TestAsyncAPIExamplesMatchTheirSchemas(t *testing.T) {
	d, _ := readDoc(t)
	c := compiler(t)
	n := 0
	for id, msg := range d.Components.Messages {
		examples, _ := msg["examples"].([]any)
		for i, ex := range examples {
			ex := ex.(map[string]any)
			if h, ok := ex["headers"]; ok {
				validateAt(t, c, "/components/messages/"+id+"/headers", h)
			}
			if p, ok := ex["payload"]; ok {
				validateAt(t, c, "/components/messages/"+id+"/payload", p)
				if name := payloadSchema(t, msg); name != "" && !strings.HasSuffix(id, "Structured") {
					b, _ := json.Marshal(p)
					if err := schemas.Validate(name, b); err != nil {
						t.Errorf("message %s example %d: %v", id, i, err)
					}
				}
			}
			n++
		}
	}
	if n == 0 {
		t.Error("no message has an example")
	}
}

func TestAsyncAPINamesEveryCloudEventType(t *testing.T) {
	_, j := readDoc(t)
	var want []string
	want = append(want, constsWithPrefix(t, "../internal/event", "Type")...)
	want = append(want, constsWithPrefix(t, "../internal/command", "Type")...)
	for _, typ := range want {
		if !bytes.Contains(j, []byte(`"`+typ+`"`)) {
			t.Errorf("the document does not name the type %s", typ)
		}
	}
}
