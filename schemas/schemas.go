// Package schemas embeds the JSON Schemas (draft 2020-12) of every event callbridge
// publishes and every command it consumes (data version v1), and validates data
// against them.
//
// Event schemas describe exactly what the structs of internal/event and
// internal/command marshal to; command schemas are the gate untrusted command data
// passes before anything calls a vendor.
package schemas

import (
	"bytes"
	"cmp"
	"embed"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// FS holds the schema files, named <name>.v1.json.
//
//go:embed *.json
var FS embed.FS

// names lists every schema; each is the logical topic name of what it describes.
var names = []string{
	"call.finished", "task.status", "intent.changed", "sms.sent", "command.result",
	"task.create", "customer.import", "call.single", "task.control",
	"task.update", "blacklist.add",
}

// URI returns the absolute $id of the named schema, which is also the dataschema of
// events that carry such data, e.g. URI("call.finished") is
// "https://callbridge.dev/schemas/call.finished.v1.json".
func URI(name string) string {
	return "https://callbridge.dev/schemas/" + fileName(name)
}

func fileName(name string) string { return name + ".v1.json" }

// maxListed bounds how many violations Error's message spells out, so one command
// with thousands of bad customers still yields a short reason.
const maxListed = 20

// Violation is one way data breaks its schema.
type Violation struct {
	// Pointer is the JSON pointer (RFC 6901) of the offending value; "" is the whole document.
	Pointer string
	// Message says what is wrong. It never repeats the offending value, which may be
	// a phone number.
	Message string
}

// Error is what Validate returns for data that does not conform to its schema.
type Error struct {
	// Schema is the schema name, e.g. "task.create".
	Schema string
	// Violations lists every violation once, ordered by pointer, then message.
	Violations []Violation
}

// Error lists the violations as "<schema>: <pointer>: <message>; ...", the root
// shown as (root) and at most maxListed of them.
func (e *Error) Error() string {
	var sb strings.Builder
	sb.WriteString(e.Schema)
	sb.WriteString(": ")
	for i, v := range e.Violations {
		if i == maxListed {
			fmt.Fprintf(&sb, "; and %d more", len(e.Violations)-maxListed)
			break
		}
		if i > 0 {
			sb.WriteString("; ")
		}
		sb.WriteString(displayPointer(v.Pointer))
		sb.WriteString(": ")
		sb.WriteString(v.Message)
	}
	return sb.String()
}

// Validate checks JSON data against the named schema. It returns nil when the data
// conforms, an *Error listing every violation when it does not (invalid JSON is one
// violation at the root), and a plain error for an unknown name.
//
// Schemas are compiled on first use, once; Validate is safe for concurrent use.
func Validate(name string, data []byte) error {
	return compiled.validate(name, data)
}

var compiled = newCache()

// cache compiles each schema once, when it is first needed.
type cache map[string]func() (*jsonschema.Schema, error)

func newCache() cache {
	c := cache{}
	for _, name := range names {
		c[name] = sync.OnceValues(func() (*jsonschema.Schema, error) { return compile(name) })
	}
	return c
}

func (c cache) validate(name string, data []byte) error {
	get, ok := c[name]
	if !ok {
		return fmt.Errorf("schemas: unknown schema %q", name)
	}
	sch, err := get()
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return &Error{Schema: name, Violations: []Violation{{Message: "not valid JSON: " + err.Error()}}}
	}
	err = sch.Validate(doc)
	if err == nil {
		return nil
	}
	verr, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return fmt.Errorf("schemas: validating %s: %w", name, err)
	}
	vs := violations(verr, nil)
	slices.SortFunc(vs, func(a, b Violation) int {
		return cmp.Or(strings.Compare(a.Pointer, b.Pointer), strings.Compare(a.Message, b.Message))
	})
	return &Error{Schema: name, Violations: slices.Compact(vs)}
}

func compile(name string) (*jsonschema.Schema, error) {
	f, err := FS.Open(fileName(name))
	if err != nil {
		return nil, fmt.Errorf("schemas: %w", err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, fmt.Errorf("schemas: parsing %s: %w", fileName(name), err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(URI(name), doc); err != nil {
		return nil, fmt.Errorf("schemas: %w", err)
	}
	sch, err := c.Compile(URI(name))
	if err != nil {
		return nil, fmt.Errorf("schemas: compiling %s: %w", fileName(name), err)
	}
	return sch, nil
}

// violations flattens the library's error tree into its leaves. A failed anyOf/oneOf
// becomes one violation whose message joins its alternatives with "or".
func violations(e *jsonschema.ValidationError, out []Violation) []Violation {
	ptr := pointer(e.InstanceLocation)
	if k, ok := e.ErrorKind.(*kind.OneOf); (ok && len(k.Subschemas) == 0) || isAnyOf(e.ErrorKind) {
		alts := make([]string, 0, len(e.Causes))
		for _, c := range e.Causes {
			var parts []string
			for _, v := range violations(c, nil) {
				if v.Pointer != ptr {
					v.Message = displayPointer(v.Pointer) + ": " + v.Message
				}
				parts = append(parts, v.Message)
			}
			alts = append(alts, strings.Join(parts, " and "))
		}
		return append(out, Violation{Pointer: ptr, Message: strings.Join(alts, ", or ")})
	}
	if len(e.Causes) == 0 {
		return append(out, Violation{Pointer: ptr, Message: describe(e.ErrorKind)})
	}
	for _, c := range e.Causes {
		out = violations(c, out)
	}
	return out
}

func isAnyOf(k jsonschema.ErrorKind) bool {
	_, ok := k.(*kind.AnyOf)
	return ok
}

var printer = message.NewPrinter(language.English)

// describe words one violation. Kinds whose library message quotes the offending
// value (pattern, format) are reworded so phone numbers never reach a reason.
func describe(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.Pattern:
		return "must match " + k.Want
	case *kind.Format:
		return "must be a valid " + k.Want
	case *kind.MinLength:
		if k.Want == 1 {
			return "must not be empty"
		}
		return fmt.Sprintf("must be at least %d characters long", k.Want)
	case *kind.MaxLength:
		return fmt.Sprintf("must be at most %d characters long", k.Want)
	case *kind.MinItems:
		if k.Want == 1 {
			return "must not be empty"
		}
		return fmt.Sprintf("must have at least %d items", k.Want)
	case *kind.MaxItems:
		return fmt.Sprintf("must have at most %d items", k.Want)
	case *kind.Minimum:
		return "must be at least " + k.Want.RatString()
	case *kind.Maximum:
		return "must be at most " + k.Want.RatString()
	case *kind.FalseSchema:
		return "not allowed here"
	default:
		return k.LocalizedString(printer)
	}
}

// pointer encodes instance location tokens as a JSON pointer (RFC 6901).
func pointer(tokens []string) string {
	var sb strings.Builder
	for _, t := range tokens {
		sb.WriteByte('/')
		t = strings.ReplaceAll(t, "~", "~0")
		sb.WriteString(strings.ReplaceAll(t, "/", "~1"))
	}
	return sb.String()
}

func displayPointer(p string) string {
	if p == "" {
		return "(root)"
	}
	return p
}
