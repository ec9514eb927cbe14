package devenv

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
	"github.com/segmentio/kafka-go"

	"github.com/callbridge/callbridge/internal/cekafka"
	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/schemas"
)

// Demo accounts, one per vendor.
const (
	BYAIAccount   = "byai-demo"
	YiwiseAccount = "yiwise-demo"
)

var (
	surnames   = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高")
	givenNames = []string{"伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "军", "强", "婷", "晓明", "建华", "秀英", "志强", "丽娟", "海燕", "子涵"}
	prefixes   = []string{"138", "139", "137", "135", "136", "150", "151", "158", "159", "186", "187", "188", "177", "133", "189"}
	cities     = []string{"杭州", "上海", "南京", "苏州", "宁波", "合肥"}
)

// demoCustomers makes n customers with distinct realistic names and 11-digit mobile numbers.
func demoCustomers(r *rand.Rand, n int) []command.Customer {
	out := make([]command.Customer, 0, n)
	seen := map[string]bool{}
	for len(out) < n {
		phone := fmt.Sprintf("%s%08d", prefixes[r.IntN(len(prefixes))], r.IntN(100_000_000))
		if seen[phone] {
			continue
		}
		seen[phone] = true
		name := string(surnames[r.IntN(len(surnames))]) + givenNames[r.IntN(len(givenNames))]
		out = append(out, command.Customer{Name: name, Phone: phone,
			Properties: map[string]string{"城市": cities[r.IntN(len(cities))]}})
	}
	return out
}

// demoCommands are one task.create per vendor, with ids the simulators' getRobots and
// getPhones list: BYAI robot 14 (scene 34, recording 34) on line 1, Yiwise dialog
// flow 136 on line 276.
func demoCommands(customers int) []command.TaskCreate {
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x5eed))
	return []command.TaskCreate{
		{
			Account: BYAIAccount, Name: "新房推广（演示）", Mode: "manual", LineType: "mobile",
			CallerIDs: []command.ID{"1"}, Concurrency: 2,
			Script: command.Script(`{"robotDefId":"14","sceneDefId":"34","sceneRecordId":"34"}`),
			Remark: "callbridge dev demo", Customers: demoCustomers(r, customers), Start: true,
		},
		{
			Account: YiwiseAccount, Name: "房产推广回访（演示）", Mode: "manual", LineType: "mobile",
			CallerIDs: []command.ID{"276"}, Concurrency: 2,
			Script: command.Script(`{"dialogFlowId":"136"}`),
			Remark: "callbridge dev demo", Customers: demoCustomers(r, customers), Start: true,
		},
	}
}

// produceDemo sends the demo commands, printing a command line for each.
func produceDemo(ctx context.Context, w *kafka.Writer, prefix string, customers int, p *Printer) error {
	for _, c := range demoCommands(customers) {
		data, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("devenv: encode demo command: %w", err)
		}
		// A demo command the bridge would refuse is a bug here, not a demo of refusal.
		if err := schemas.Validate(event.TopicTaskCreate, data); err != nil {
			return fmt.Errorf("devenv: demo command for %s: %w", c.Account, err)
		}
		id := uuid.NewString()
		ev := cloudevents.NewEvent()
		ev.SetID(id)
		ev.SetSource("/callbridge/dev")
		ev.SetType(command.TypeTaskCreate)
		ev.SetTime(time.Now())
		ev.SetExtension("partitionkey", id)
		// RawMessage, not []byte: sdk-go marks []byte data as base64.
		if err := ev.SetData(cloudevents.ApplicationJSON, json.RawMessage(data)); err != nil {
			return fmt.Errorf("devenv: demo command data: %w", err)
		}
		msg, err := cekafka.ToKafka(ctx, ev, prefix+event.TopicTaskCreate)
		if err != nil {
			return fmt.Errorf("devenv: bind demo command: %w", err)
		}
		if err := w.WriteMessages(ctx, msg); err != nil {
			return fmt.Errorf("devenv: produce demo command to %s: %w", msg.Topic, err)
		}
		p.Line(KindCommand, event.TopicTaskCreate, c.Account,
			fmt.Sprintf("%q  %d customers, start  command %s", c.Name, len(c.Customers), shortID(id)), false)
	}
	return nil
}
