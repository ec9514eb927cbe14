package platform_test

import (
	"testing"

	"github.com/callbridge/callbridge/internal/platform/byai"
	"github.com/callbridge/callbridge/internal/platform/yiwise"
	"github.com/callbridge/callbridge/internal/testvectors"
)

func TestSignaturesMatchVendorVectors(t *testing.T) {
	for _, r := range testvectors.Read(t, "signatures/byai.tsv") {
		if got := byai.Sign(r["appKey"], r["appSecret"], r["datetime"]); got != r["sign"] {
			t.Errorf("byai.Sign(%q, <secret>, %q) = %q, want %q", r["appKey"], r["datetime"], got, r["sign"])
		}
	}
	for _, r := range testvectors.Read(t, "signatures/yiwise.tsv") {
		if got := yiwise.Sign(r["appKey"], r["appSecret"], r["tenantSign"], r["version"], r["timestamp"]); got != r["signature"] {
			t.Errorf("yiwise.Sign(%q, <secret>, %q, %q, %q) = %q, want %q", r["appKey"], r["tenantSign"], r["version"], r["timestamp"], got, r["signature"])
		}
	}
}
