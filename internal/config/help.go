package config

import (
	_ "embed"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"reflect"
	"regexp"
	"strings"
	"sync"

	"github.com/callbridge/callbridge/internal/platform"
)

// source is this package's configuration source: `serve --help` lists the variables
// with the fields' doc comments, so the list cannot drift from what Load reads.
//
//go:embed config.go
var source string

// Variable is one environment variable Load reads.
type Variable struct {
	// Name is the full variable name, or for an account variable its suffix after
	// CALLBRIDGE_ACCOUNT_<NAME>_.
	Name string
	// Doc is the field's doc comment, Go field names replaced by variable names.
	Doc      string
	Default  string
	Required bool
	// Secret variables may also be given as a file, Name_FILE.
	Secret bool
}

// Variables are the process variables, in the order of the Config struct.
func Variables() []Variable {
	return variables(reflect.TypeOf(Config{}), Prefix)
}

// AccountVariables are the variables every account has, as suffixes of
// CALLBRIDGE_ACCOUNT_<NAME>_ (each vendor adds its platform.Setting list).
func AccountVariables() []Variable {
	return variables(reflect.TypeOf(account{}), "")
}

func variables(t reflect.Type, prefix string) []Variable {
	docs := fieldDocs()
	names := varNames(t, prefix)
	var out []Variable
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		last := ""
		for i := range t.NumField() {
			f := t.Field(i)
			if p, ok := f.Tag.Lookup("envPrefix"); ok && f.Type.Kind() == reflect.Struct {
				walk(f.Type, prefix+p)
				continue
			}
			key, opts, _ := strings.Cut(f.Tag.Get("env"), ",")
			if key == "" || key == "-" {
				continue
			}
			d, ok := docs[t.Name()+"."+f.Name]
			if !ok || d.text == "" {
				d.text = last // a field under its neighbour's comment shares it
			}
			last = d.text
			out = append(out, Variable{
				Name:     prefix + key,
				Doc:      readable(d.text, f.Name, names),
				Default:  f.Tag.Get("envDefault"),
				Required: strings.Contains(opts, "required"),
				Secret:   f.Type == reflect.TypeOf(Secret("")),
			})
		}
	}
	walk(t, prefix)
	return out
}

type fieldDoc struct{ text string }

// fieldDocs are the doc comments of the struct fields in source, by "Type.Field".
var fieldDocs = sync.OnceValue(func() map[string]fieldDoc {
	docs := map[string]fieldDoc{}
	f, err := parser.ParseFile(token.NewFileSet(), "config.go", source, parser.ParseComments)
	if err != nil {
		return docs
	}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.TYPE {
			continue
		}
		for _, spec := range gd.Specs {
			ts := spec.(*ast.TypeSpec)
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				continue
			}
			for _, field := range st.Fields.List {
				text := strings.Join(strings.Fields(field.Doc.Text()), " ")
				for _, n := range field.Names {
					docs[ts.Name.Name+"."+n.Name] = fieldDoc{text}
				}
			}
		}
	}
	return docs
})

var goIdent = regexp.MustCompile(`\b[A-Z][A-Za-z]+\b`)

// readable turns a field's doc into a variable's: "Brokers is the bootstrap list"
// becomes "the bootstrap list", and other fields' Go names become variable names.
func readable(doc, field string, names map[string]string) string {
	for _, verb := range []string{" is ", " are "} {
		if rest, ok := strings.CutPrefix(doc, field+verb); ok {
			doc = rest
			break
		}
	}
	return goIdent.ReplaceAllStringFunc(doc, func(w string) string {
		if n, ok := names[w]; ok {
			return n
		}
		return w
	})
}

// WriteHelp writes every variable Load reads: the process's, each account's and
// each registered vendor's account settings.
func WriteHelp(w io.Writer) {
	fmt.Fprintf(w, "Environment variables (a secret X may instead be given as a file named by X_FILE):\n")
	for _, v := range Variables() {
		writeVar(w, "  ", v, nil)
	}
	fmt.Fprintf(w, "  OTEL_*\n    \tOpenTelemetry's standard variables: traces are exported only when OTEL_EXPORTER_OTLP_ENDPOINT\n    \tor OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set (or OTEL_TRACES_EXPORTER=console); OTEL_SERVICE_NAME, …\n")
	fmt.Fprintf(w, "\nAccount variables, %sACCOUNT_<NAME>_<SUFFIX> for each NAME in %sACCOUNTS\n(NAME upper-cased, '-' as '_'; e.g. %sAPP_KEY):\n", Prefix, Prefix, AccountPrefix("east-main"))
	vendors := platform.Names()
	for _, v := range AccountVariables() {
		var enum []string
		if v.Name == "VENDOR" {
			enum = vendors
		}
		writeVar(w, "  ", v, enum)
	}
	for _, vendor := range platform.Vendors() {
		fmt.Fprintf(w, "\n  Accounts with VENDOR=%s also have:\n", vendor.Name())
		for _, s := range vendor.Settings() {
			writeVar(w, "  ", Variable{Name: s.Name, Doc: s.Doc, Default: s.Default, Required: s.Required, Secret: s.Secret}, s.Enum)
		}
	}
}

func writeVar(w io.Writer, indent string, v Variable, enum []string) {
	var notes []string
	if v.Required && v.Default == "" {
		notes = append(notes, "required")
	}
	if v.Default != "" {
		notes = append(notes, "default "+v.Default)
	}
	if len(enum) > 0 {
		notes = append(notes, "one of "+strings.Join(enum, ", "))
	}
	if v.Secret {
		notes = append(notes, "secret, or "+v.Name+"_FILE")
	}
	head := indent + v.Name
	if len(notes) > 0 {
		head += " (" + strings.Join(notes, "; ") + ")"
	}
	fmt.Fprintf(w, "%s\n%s  \t%s\n", head, indent, v.Doc)
}
