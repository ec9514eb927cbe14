package telemetry

import (
	"strconv"
	"testing"
)

// network.protocol.version reads as it did when built with strconv each time.
func TestProtocolVersion(t *testing.T) {
	for major := 1; major <= 3; major++ {
		for minor := 0; minor <= 3; minor++ {
			want := strconv.Itoa(major)
			if major == 1 {
				want += "." + strconv.Itoa(minor)
			}
			if got := protocolVersion(major, minor); got != want {
				t.Errorf("protocolVersion(%d, %d) = %q, want %q", major, minor, got, want)
			}
		}
	}
}
