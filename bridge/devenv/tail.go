package devenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/segmentio/kafka-go"

	"github.com/callbridge/callbridge/internal/cekafka"
	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/privacy"
	"github.com/callbridge/callbridge/internal/publish"
)

// OutputTopics are the topics the demo shows, in the order of the banner.
var OutputTopics = []string{event.TopicCallFinished, event.TopicTaskStatus, event.TopicIntentChanged, event.TopicSMSSent,
	event.TopicCommandResult, event.TopicDLQ}

// tailer prints every record of the output topics from the beginning.
type tailer struct {
	p       *Printer
	brokers []string
	prefix  string
	wg      sync.WaitGroup
}

// start opens one reader per partition of every output topic; they stop when ctx is done.
func (t *tailer) start(ctx context.Context) error {
	conn, err := kafka.DialContext(ctx, "tcp", t.brokers[0])
	if err != nil {
		return fmt.Errorf("devenv: dial kafka: %w", err)
	}
	defer conn.Close()
	physical := make([]string, len(OutputTopics))
	for i, name := range OutputTopics {
		physical[i] = t.prefix + name
	}
	parts, err := conn.ReadPartitions(physical...)
	if err != nil {
		return fmt.Errorf("devenv: read partitions: %w", err)
	}
	for _, pt := range parts {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: t.brokers, Topic: pt.Topic, Partition: pt.ID,
			MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 200 * time.Millisecond})
		if err := r.SetOffset(kafka.FirstOffset); err != nil {
			r.Close()
			return fmt.Errorf("devenv: tail %s: %w", pt.Topic, err)
		}
		logical := strings.TrimPrefix(pt.Topic, t.prefix)
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			defer r.Close()
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					if ctx.Err() != nil || errors.Is(err, context.Canceled) {
						return
					}
					t.p.Line(KindInfo, logical, "", "read: "+err.Error(), true)
					select {
					case <-ctx.Done():
						return
					case <-time.After(500 * time.Millisecond):
					}
					continue
				}
				t.print(logical, m)
			}
		}()
	}
	return nil
}

// wait returns once every reader is closed.
func (t *tailer) wait() { t.wg.Wait() }

func (t *tailer) print(topic string, m kafka.Message) {
	if topic == event.TopicDLQ {
		h := map[string]string{}
		for _, x := range m.Headers {
			h[x.Key] = string(x.Value)
		}
		t.p.Line(KindEvent, topic, h[publish.HeaderAccount], fmt.Sprintf("%s: %s (%d bytes)", h[publish.HeaderSource], h[publish.HeaderReason], len(m.Value)), true)
		return
	}
	ev, err := cekafka.FromKafka(m)
	if err != nil {
		t.p.Line(KindEvent, topic, "", err.Error(), true)
		return
	}
	account, _ := ev.Extensions()["account"].(string)
	detail, bad := describeEvent(topic, ev)
	t.p.Line(KindEvent, topic, account, detail, bad)
}

// describeEvent picks the fields that matter per event type.
func describeEvent(topic string, ev *cloudevents.Event) (string, bool) {
	switch topic {
	case event.TopicCallFinished:
		var d event.CallFinished
		if err := json.Unmarshal(ev.Data(), &d); err != nil {
			return err.Error(), true
		}
		parts := []string{"call " + d.CallID}
		if d.Customer.Name != nil {
			parts = append(parts, *d.Customer.Name)
		}
		if d.Customer.Phone != nil {
			parts = append(parts, privacy.MaskPhone(*d.Customer.Phone))
		}
		parts = append(parts, d.Status)
		if d.IntentLevel != nil {
			parts = append(parts, "intent "+*d.IntentLevel)
		}
		parts = append(parts, fmt.Sprintf("%ds", d.DurationSeconds))
		if d.Direction == "inbound" {
			parts = append(parts, "(inbound)")
		}
		if d.Recovered {
			parts = append(parts, "(recovered: its webhook never came)")
		}
		return strings.Join(parts, "  "), false
	case event.TopicTaskStatus:
		var d event.TaskStatus
		if err := json.Unmarshal(ev.Data(), &d); err != nil {
			return err.Error(), true
		}
		s := fmt.Sprintf("task %s  %s", d.TaskID, d.Status)
		if d.TaskName != nil {
			s += "  " + *d.TaskName
		}
		return s, false
	case event.TopicIntentChanged:
		var d event.IntentChanged
		if err := json.Unmarshal(ev.Data(), &d); err != nil {
			return err.Error(), true
		}
		level := "none"
		if d.IntentLevel != nil {
			level = *d.IntentLevel
		}
		return fmt.Sprintf("call %s  level %s  (%s)", d.CallID, level, d.ChangedBy), false
	case event.TopicSMSSent:
		var d event.SMSSent
		if err := json.Unmarshal(ev.Data(), &d); err != nil {
			return err.Error(), true
		}
		s := fmt.Sprintf("call %s  %d message(s)", d.CallID, len(d.Messages))
		if len(d.Messages) > 0 {
			s += "  " + d.Messages[0].Text
		}
		return s, false
	case event.TopicCommandResult:
		var d command.Result
		if err := json.Unmarshal(ev.Data(), &d); err != nil {
			return err.Error(), true
		}
		parts := []string{d.CommandType, d.Outcome}
		if d.TaskID != "" {
			parts = append(parts, "task "+d.TaskID)
		}
		if d.CallID != "" {
			parts = append(parts, "call "+d.CallID)
		}
		if d.Imported != nil {
			parts = append(parts, fmt.Sprintf("imported %d, rejected %d", d.Imported.Accepted, d.Imported.Rejected))
		}
		if d.Error != nil {
			parts = append(parts, d.Error.Code+": "+d.Error.Message)
		}
		parts = append(parts, "command "+shortID(d.CommandID))
		return strings.Join(parts, "  "), d.Outcome != command.Succeeded
	}
	return ev.Type(), false
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
