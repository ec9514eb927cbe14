package core

import (
	"errors"
	"net/url"
	"testing"
)

func TestParamsAreAsStrictAsTheVendorsServers(t *testing.T) {
	tests := []struct {
		name string
		body string
		read func(p *Params)
		ok   bool
	}{
		{"integer", `{"n":12}`, func(p *Params) { p.Int("n") }, true},
		{"integer given as a string", `{"n":"12"}`, func(p *Params) { p.Int("n") }, false},
		{"fraction", `{"n":1.5}`, func(p *Params) { p.Int("n") }, false},
		{"missing integer", `{}`, func(p *Params) { p.Int("n") }, false},
		{"null integer", `{"n":null}`, func(p *Params) { p.Int("n") }, false},
		{"optional integer absent", `{}`, func(p *Params) { p.OptInt("n", 1) }, true},
		{"optional integer of the wrong type", `{"n":"x"}`, func(p *Params) { p.OptInt("n", 1) }, false},
		{"string", `{"s":"x"}`, func(p *Params) { p.Str("s") }, true},
		{"empty required string", `{"s":" "}`, func(p *Params) { p.Str("s") }, false},
		{"string given as a number", `{"s":1}`, func(p *Params) { p.Str("s") }, false},
		{"id as number", `{"id":5}`, func(p *Params) { p.IntOrStr("id") }, true},
		{"id as digits", `{"id":"5"}`, func(p *Params) { p.IntOrStr("id") }, true},
		{"id as letters", `{"id":"x"}`, func(p *Params) { p.IntOrStr("id") }, false},
		{"integer list", `{"l":[1,2]}`, func(p *Params) { p.Ints("l") }, true},
		{"integer list with a string", `{"l":[1,"2"]}`, func(p *Params) { p.Ints("l") }, false},
		{"list given as an object", `{"l":{}}`, func(p *Params) { p.List("l") }, false},
		{"scalar map", `{"m":{"a":"x","b":15}}`, func(p *Params) { p.StrMap("m") }, true},
		{"nested map value", `{"m":{"a":{}}}`, func(p *Params) { p.StrMap("m") }, false},
		{"nested object field", `{"o":{"n":"1"}}`, func(p *Params) { o := p.Obj("o"); o.Int("n"); p.err = o.Err() }, false},
		{"boolean", `{"b":true}`, func(p *Params) { p.Bool("b", false) }, true},
		{"boolean as a string", `{"b":"true"}`, func(p *Params) { p.Bool("b", false) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseJSON([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			tt.read(p)
			if ok := p.Err() == nil; ok != tt.ok {
				t.Fatalf("accepted = %v (%v), want %v", ok, p.Err(), tt.ok)
			}
			if !tt.ok && !errors.Is(p.Err(), ErrBadParam) {
				t.Fatalf("error %v does not wrap ErrBadParam", p.Err())
			}
		})
	}
}

func TestNonObjectBodiesAreRefused(t *testing.T) {
	for _, body := range []string{``, `[]`, `null`, `"x"`, `{`, `a=b`} {
		if _, err := ParseJSON([]byte(body)); !errors.Is(err, ErrBadParam) {
			t.Errorf("ParseJSON(%q) = %v, want ErrBadParam", body, err)
		}
	}
}

func TestQueryParamsParseNumbers(t *testing.T) {
	p := ParseQuery(url.Values{"n": {"7"}, "s": {"x"}})
	if p.Int("n") != 7 || p.Str("s") != "x" || p.OptInt("m", 3) != 3 || p.Err() != nil {
		t.Fatalf("query params misread: %v", p.Err())
	}
	if q := ParseQuery(url.Values{"n": {"seven"}}); q.Int("n") == 0 && q.Err() == nil {
		t.Fatal("a non-numeric query integer was accepted")
	}
}
