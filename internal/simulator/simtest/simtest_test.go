package simtest

import (
	"strings"
	"testing"
)

func TestShapeFindsEveryKindOfDifference(t *testing.T) {
	sample := `{"a":1,"b":"x","c":null,"list":[{"k":1,"only":2},{"k":3}],"o":{"x":true}}`
	tests := []struct {
		name, got string
		want      []string
	}{
		{"same shape, other values", `{"a":2,"b":"y","c":"z","list":[{"k":5}],"o":{"x":false}}`, nil},
		{"missing key", `{"a":1,"c":null,"list":[],"o":{"x":true}}`, []string{`$: missing key "b"`}},
		{"extra key", `{"a":1,"b":"x","c":null,"d":0,"list":[],"o":{"x":true}}`, []string{`$: extra key "d"`}},
		{"wrong kind", `{"a":"1","b":"x","c":null,"list":[],"o":{"x":true}}`, []string{`$.a: string, sample has number`}},
		{"nested wrong kind", `{"a":1,"b":"x","c":null,"list":[],"o":{"x":1}}`, []string{`$.o.x: number, sample has bool`}},
		{"array element missing a shared key", `{"a":1,"b":"x","c":null,"list":[{"only":1}],"o":{"x":true}}`, []string{`$.list[0]: missing key "k"`}},
		{"array element with an unknown key", `{"a":1,"b":"x","c":null,"list":[{"k":1,"z":1}],"o":{"x":true}}`, []string{`$.list[0]: extra key "z"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Shape([]byte(sample), []byte(tt.got))
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("Shape = %q, want %q", got, tt.want)
			}
		})
	}
}
