package platform

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Kind is the type of a setting's value.
type Kind string

// The kinds of setting values, parsed as caarlos0/env parses them.
const (
	KindString   Kind = "string"
	KindBool     Kind = "bool"
	KindInt      Kind = "int"
	KindNumber   Kind = "number"
	KindDuration Kind = "duration"
)

// Setting is one account setting a vendor declares. Configuration reads it from
// CALLBRIDGE_ACCOUNT_<ACCOUNT>_<Name>; the chart's values, the README's account table
// and `serve --help` are made from the same declaration.
type Setting struct {
	// Name is the variable suffix, upper case with '_' between words, e.g. "TENANT_SIGN".
	Name string
	// Doc says in one sentence what the setting does.
	Doc string
	// Kind is the value's type; empty means KindString.
	Kind Kind
	// Default is the value when the variable is unset or empty; "" means none.
	Default string
	// Required makes an unset variable (without a Default) a configuration error.
	Required bool
	// Secret keeps the value out of logs and lets it be read from <Name>_FILE.
	Secret bool
	// Enum, when not empty, lists the only values accepted.
	Enum []string
}

var settingName = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)

func (s Setting) check() error {
	if !settingName.MatchString(s.Name) {
		return fmt.Errorf("setting name %q is not UPPER_SNAKE_CASE", s.Name)
	}
	if s.Doc == "" {
		return fmt.Errorf("setting %s has no Doc", s.Name)
	}
	if s.Default != "" {
		if err := s.Parse(s.Default); err != nil {
			return fmt.Errorf("setting %s: default: %w", s.Name, err)
		}
	}
	return nil
}

// Parse checks value against the setting's Kind and Enum.
func (s Setting) Parse(value string) error {
	var err error
	switch s.Kind {
	case KindBool:
		_, err = strconv.ParseBool(value)
	case KindInt:
		_, err = strconv.ParseInt(value, 10, 64)
	case KindNumber:
		_, err = strconv.ParseFloat(value, 64)
	case KindDuration:
		_, err = time.ParseDuration(value)
	}
	if err != nil {
		return fmt.Errorf("%q is not a %s", value, s.Kind)
	}
	if len(s.Enum) > 0 {
		for _, e := range s.Enum {
			if value == e {
				return nil
			}
		}
		return fmt.Errorf("%q is not one of %s", value, strings.Join(s.Enum, ", "))
	}
	return nil
}

// Key is the setting's name in camelCase, as the chart's account values spell it:
// "TENANT_SIGN" is tenantSign.
func (s Setting) Key() string {
	parts := strings.Split(strings.ToLower(s.Name), "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// Flag is the setting's name as a command-line flag: "TENANT_SIGN" is tenant-sign.
func (s Setting) Flag() string {
	return strings.ReplaceAll(strings.ToLower(s.Name), "_", "-")
}

// ReadSettings reads specs' values through get (the value of one name, "" when unset),
// applying defaults and checking presence and types. It reports every bad setting, each
// error naming it.
func ReadSettings(specs []Setting, get func(name string) string) (map[string]string, []error) {
	values := make(map[string]string, len(specs))
	var errs []error
	for _, s := range specs {
		v := strings.TrimSpace(get(s.Name))
		if v == "" {
			v = s.Default
		}
		if v == "" {
			if s.Required {
				errs = append(errs, &SettingError{Name: s.Name, Reason: "is required"})
			}
			continue
		}
		if err := s.Parse(v); err != nil {
			errs = append(errs, &SettingError{Name: s.Name, Reason: err.Error()})
			continue
		}
		values[s.Name] = v
	}
	return values, errs
}

// SettingError says which setting is bad and why. Configuration prefixes the name
// with the account's variable prefix.
type SettingError struct {
	Name   string
	Reason string
}

func (e *SettingError) Error() string { return e.Name + ": " + e.Reason }
