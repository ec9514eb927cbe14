package platform_test

import (
	"errors"
	"testing"

	"github.com/callbridge/callbridge/internal/platform"
)

func TestFindQuery(t *testing.T) {
	specs := []platform.QuerySpec{{Name: "phones"}, {Name: "calls", Args: []string{"TASK_ID"}}}
	cases := []struct {
		name string
		args []string
		ok   bool
	}{
		{"phones", nil, true},
		{"calls", []string{"7"}, true},
		{"calls", nil, false},
		{"phones", []string{"x"}, false},
		{"robots", nil, false},
	}
	for _, tc := range cases {
		q, err := platform.FindQuery(specs, tc.name, tc.args)
		if tc.ok && (err != nil || q.Name != tc.name) {
			t.Errorf("FindQuery(%s, %v) = %v, %v", tc.name, tc.args, q, err)
		}
		if !tc.ok && !errors.Is(err, platform.ErrInvalidInput) {
			t.Errorf("FindQuery(%s, %v) = %v, want ErrInvalidInput", tc.name, tc.args, err)
		}
	}
}
