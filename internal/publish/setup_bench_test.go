package publish

import (
	"context"
	"testing"
	"time"

	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/telemetry/telemetrytest"
)

// BenchmarkPublishCall is one BYAI call-finished event published as in production
// without an OTLP endpoint (span ids, no exporter; Prometheus metrics), Kafka aside.
func BenchmarkPublishCall(b *testing.B) {
	p := &Publisher{Writer: discard{}, Telemetry: telemetrytest.Production(b)}
	raw := []byte(`{"sceneInstance":{"callInstanceId":1,"callerPhone":"测试线路","jobName":"GG0112-YX NEW1","luyinOssUrl":"https://byrobot-prod.oss-cn-hangzhou.aliyuncs.com/RobotPhoneCommunicate/11/xxx.wav"}}`)
	outs := []event.Out{{
		Topic: event.TopicCallFinished, Type: event.TypeCallFinished, ID: "17823685-fe66-8841-a7ca-98f1cdfaab72",
		Subject: "call/1", Time: time.Date(2019, 1, 12, 8, 10, 11, 0, time.UTC), Key: "1",
		Data: &event.CallFinished{Vendor: "byai", Account: "a", CallID: "1", Status: "answered",
			Tags: []string{"无效用户"}, Concerns: []string{}, Transcript: []event.Utterance{{Speaker: "robot", Text: "喂，您好，这里是用户测试电话"}},
			Raw: raw},
	}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Publish(ctx, "byai", "a", outs); err != nil {
			b.Fatal(err)
		}
	}
}
