package cekafka

import (
	"context"
	"fmt"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"

	"github.com/callbridge/callbridge/internal/broker"
)

func TestSender(t *testing.T) {
	addrs := newCluster(t, "events")
	w, err := broker.NewWriter(broker.Config{Brokers: addrs, ProduceTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	s := NewSender(w)

	batch := make([]cloudevents.Event, 3)
	for i := range batch {
		e := fullEvent()
		e.SetID(fmt.Sprint("batch-", i))
		batch[i] = e
	}
	invalid := cloudevents.NewEvent()
	invalid.SetID("no-source")
	structured := minimalEvent()
	structured.SetID("structured-1")

	steps := []struct {
		name    string
		ctx     context.Context
		topic   string
		events  []cloudevents.Event
		wantErr bool
	}{
		{"nothing to send is a no-op", context.Background(), "events", nil, false},
		{"a batch is acknowledged as a whole", context.Background(), "events", batch, false},
		{"an invalid event writes nothing of its batch", context.Background(), "events", []cloudevents.Event{minimalEvent(), invalid}, true},
		{"structured mode through the context", binding.WithForceStructured(context.Background()), "events", []cloudevents.Event{structured}, false},
		{"a missing topic fails within the deadline", context.Background(), "no.such.topic", []cloudevents.Event{minimalEvent()}, true},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(st.ctx, 5*time.Second)
			defer cancel()
			start := time.Now()
			err := s.Send(ctx, st.topic, st.events...)
			if (err != nil) != st.wantErr {
				t.Fatalf("Send = %v, want error %v", err, st.wantErr)
			}
			if took := time.Since(start); took > 5*time.Second+time.Second {
				t.Fatalf("Send took %s", took)
			}
		})
	}

	// The topic holds exactly the acknowledged events, in order.
	want := append(append([]cloudevents.Event{}, batch...), structured)
	recs := readRecords(t, addrs, "events", len(want))
	for i, m := range recs {
		got, err := FromKafka(m)
		if err != nil {
			t.Fatal(err)
		}
		assertSameEvent(t, &want[i], got)
	}
	if enc := NewMessage(&recs[len(recs)-1]).ReadEncoding(); enc != binding.EncodingStructured {
		t.Errorf("last record encoding %v, want structured", enc)
	}
}
