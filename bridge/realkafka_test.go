package bridge_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// kafkaImage is the real broker the integration tests run against.
const kafkaImage = "apache/kafka:3.9.1"

// realKafka is a single-node KRaft broker in a container.
type realKafka struct{ addr string }

func (r realKafka) Addrs() []string { return []string{r.addr} }

// TestAgainstRealKafka runs the end-to-end cases of both halves against a real Kafka
// broker in a container instead of the in-process one. Without a Docker engine it is
// skipped with the reason.
func TestAgainstRealKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the real Kafka container")
	}
	testcontainers.SkipIfProviderIsNotHealthy(t)
	rk := startRealKafka(t)
	saved := newCluster
	newCluster = func(testing.TB) cluster { return rk }
	t.Cleanup(func() { newCluster = saved })

	for _, tc := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"inbound/documented webhooks", TestDocumentedWebhooksBecomeCloudEvents},
		{"inbound/duplicate delivery", TestDuplicateDeliveryToOneInstanceIsWrittenOnce},
		{"inbound/rejected requests", TestRejectedRequestsWriteNothing},
		{"inbound/dead letters", TestGarbageLandsOnTheDeadLetterTopic},
		{"outbound/task.create saga", TestTaskCreateSagaCallsEachVendorAsDocumented},
		{"outbound/every command", TestEveryCommandReachesTheVendorAsDocumented},
		{"outbound/duplicate command", TestTheSameCommandTwiceCallsTheVendorOnceAndPublishesTwoIdenticalResults},
		{"outbound/retries", TestVendor500TwiceThen200Succeeds},
		{"outbound/invalid commands", TestInvalidCommandsFailWithoutReachingTheVendor},
		{"outbound/not a CloudEvent", TestARecordThatIsNotACloudEventGoesToTheDeadLetterTopic},
		{"outbound/restart", TestARestartBetweenCreateAndStartResumesAtStart},
		{"outbound/rebalance", TestTwoInstancesWithARebalanceExecuteNoCommandTwice},
	} {
		t.Run(tc.name, tc.fn)
	}
}

// startRealKafka starts apache/kafka with its client listener published on a fixed
// local port, so the address it advertises is the one clients dial.
func startRealKafka(t *testing.T) realKafka {
	t.Helper()
	port := freePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	req := testcontainers.ContainerRequest{
		Image:        kafkaImage,
		ExposedPorts: []string{"9092/tcp"},
		Env: map[string]string{
			"KAFKA_NODE_ID":                                  "1",
			"KAFKA_PROCESS_ROLES":                            "broker,controller",
			"KAFKA_LISTENERS":                                "PLAINTEXT://:9092,CONTROLLER://:9093",
			"KAFKA_ADVERTISED_LISTENERS":                     fmt.Sprintf("PLAINTEXT://127.0.0.1:%d", port),
			"KAFKA_CONTROLLER_LISTENER_NAMES":                "CONTROLLER",
			"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP":           "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
			"KAFKA_CONTROLLER_QUORUM_VOTERS":                 "1@localhost:9093",
			"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR":         "1",
			"KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
			"KAFKA_TRANSACTION_STATE_LOG_MIN_ISR":            "1",
			"KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS":         "0",
			"KAFKA_NUM_PARTITIONS":                           "3",
		},
		HostConfigModifier: func(hc *container.HostConfig) {
			hc.PortBindings = network.PortMap{
				network.MustParsePort("9092/tcp"): {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: strconv.Itoa(port)}},
			}
		},
		WaitingFor: wait.ForListeningPort("9092/tcp").WithStartupTimeout(2 * time.Minute),
	}
	c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{ContainerRequest: req, Started: true})
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("start %s: %v", kafkaImage, err)
		}
		t.Skipf("could not start %s: %v", kafkaImage, err)
	}
	t.Cleanup(func() { _ = testcontainers.TerminateContainer(c) })
	return realKafka{addr: fmt.Sprintf("127.0.0.1:%d", port)}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
