package cekafka

import (
	"context"
	"testing"
)

func BenchmarkToKafka(b *testing.B) {
	e := fullEvent()
	for _, mode := range modes {
		b.Run(mode.name, func(b *testing.B) {
			ctx := mode.ctx(context.Background())
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ToKafka(ctx, e, "call.finished"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkFromKafka(b *testing.B) {
	for _, mode := range modes {
		m, err := ToKafka(mode.ctx(context.Background()), fullEvent(), "call.finished")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(mode.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := FromKafka(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
