// sarama_admin — Debian's sarama 1.22 (GOPATH mode) configured as a Kafka 2.1 client
// (Version: sarama.V2_1_0_0) against splicelogd: a producer, a consumer group and ClusterAdmin.
// Each scenario prints "PASS name" or "FAIL name: why"; the last line counts them and the
// exit status is 0 only when every scenario passed.
//
//	sarama_admin BROKER TOPIC GROUP
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/Shopify/sarama"
)

var passed, failed int

func check(name string, err error) bool {
	if err != nil {
		fmt.Printf("FAIL %s: %v\n", name, err)
		failed++
		return false
	}
	fmt.Printf("PASS %s\n", name)
	passed++
	return true
}

func config() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_1_0_0
	cfg.ClientID = "sarama-admin"
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Metadata.Retry.Max = 10
	cfg.Metadata.Retry.Backoff = 200 * time.Millisecond
	return cfg
}

type handler struct {
	want, seen int
	done       chan struct{}
}

func (h *handler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *handler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		s.MarkMessage(m, "")
		h.seen++
		if h.seen == h.want {
			close(h.done)
		}
	}
	return nil
}

func main() {
	if len(os.Args) != 4 {
		fmt.Println("usage: sarama_admin BROKER TOPIC GROUP")
		os.Exit(2)
	}
	broker, topic, group := os.Args[1], os.Args[2], os.Args[3]
	addrs := []string{broker}
	cfg := config()

	admin, err := sarama.NewClusterAdmin(addrs, cfg)
	if !check("connect (ApiVersions, Metadata v5)", err) {
		fmt.Printf("%d passed, %d failed\n", passed, failed)
		os.Exit(1)
	}
	defer admin.Close()

	retention := "3600000"
	check("CreateTopic with a config", admin.CreateTopic(topic, &sarama.TopicDetail{
		NumPartitions: 2, ReplicationFactor: 1,
		ConfigEntries: map[string]*string{"retention.ms": &retention}}, false))
	err = admin.CreateTopic(topic+"-rf3", &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 3}, false)
	if err == nil || !containsErr(err, sarama.ErrInvalidReplicationFactor) {
		check("CreateTopic replication factor 3 refused", fmt.Errorf("got %v", err))
	} else {
		check("CreateTopic replication factor 3 refused", nil)
	}
	topics, err := admin.ListTopics()
	if err == nil {
		if d, ok := topics[topic]; !ok || d.NumPartitions != 2 {
			err = fmt.Errorf("%s missing or wrong: %+v", topic, d)
		} else if v := d.ConfigEntries["retention.ms"]; v == nil || *v != retention {
			err = fmt.Errorf("retention.ms not reported: %v", v)
		}
	}
	check("ListTopics (with DescribeConfigs)", err)
	md, err := admin.DescribeTopics([]string{topic})
	if err == nil && (len(md) != 1 || len(md[0].Partitions) != 2 || md[0].Err != sarama.ErrNoError) {
		err = fmt.Errorf("unexpected metadata %+v", md)
	}
	check("DescribeTopics", err)
	check("CreatePartitions 2 -> 3", admin.CreatePartitions(topic, 3, nil, false))
	md, err = admin.DescribeTopics([]string{topic})
	if err == nil && (len(md) != 1 || len(md[0].Partitions) != 3) {
		err = fmt.Errorf("%d partitions after CreatePartitions", len(md[0].Partitions))
	}
	check("DescribeTopics sees 3 partitions", err)
	rb := "1048576"
	check("AlterConfig retention.bytes", admin.AlterConfig(sarama.TopicResource, topic,
		map[string]*string{"retention.bytes": &rb}, false))
	entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic})
	if err == nil {
		found := false
		for _, e := range entries {
			if e.Name == "retention.bytes" && e.Value == rb {
				found = true
			}
		}
		if !found {
			err = fmt.Errorf("retention.bytes=%s not described: %+v", rb, entries)
		}
	}
	check("DescribeConfig topic", err)
	// sarama 1.22 numbers BrokerResource 5 (Kafka's broker is 4, its ClusterResource)
	entries, err = admin.DescribeConfig(sarama.ConfigResource{Type: sarama.ClusterResource, Name: "0"})
	if err == nil && len(entries) == 0 {
		err = fmt.Errorf("no broker configs")
	}
	check("DescribeConfig broker", err)
	brokers, ctrl, err := admin.DescribeCluster()
	// sarama 1.22 asks Metadata v0 here, which has no controller id: -1, from Kafka too
	if err == nil && (len(brokers) != 1 || brokers[0].ID() != 0 || ctrl != -1) {
		err = fmt.Errorf("%d brokers, controller %d", len(brokers), ctrl)
	}
	check("DescribeCluster", err)

	// produce, then consume in a group
	producer, err := sarama.NewSyncProducer(addrs, cfg)
	if check("SyncProducer", err) {
		var perr error
		for i := 0; i < 30 && perr == nil; i++ {
			_, _, perr = producer.SendMessage(&sarama.ProducerMessage{Topic: topic,
				Key: sarama.StringEncoder(fmt.Sprintf("k%d", i)), Value: sarama.StringEncoder(fmt.Sprintf("v%d", i))})
		}
		check("produce 30 keyed records (Produce v7)", perr)
		producer.Close()
	}
	cg, err := sarama.NewConsumerGroup(addrs, group, cfg)
	if check("NewConsumerGroup", err) {
		h := &handler{want: 30, done: make(chan struct{})}
		ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
		go func() {
			for ctx.Err() == nil {
				if err := cg.Consume(ctx, []string{topic}, h); err != nil {
					return
				}
			}
		}()
		select {
		case <-h.done:
			check("consume 30 records in a group", nil)
		case <-ctx.Done():
			check("consume 30 records in a group", fmt.Errorf("saw %d", h.seen))
		}
		groups, err := admin.ListConsumerGroups()
		if err == nil {
			if _, ok := groups[group]; !ok {
				err = fmt.Errorf("%s not listed: %v", group, groups)
			}
		}
		check("ListConsumerGroups", err)
		desc, err := admin.DescribeConsumerGroups([]string{group})
		if err == nil && (len(desc) != 1 || desc[0].State != "Stable" || len(desc[0].Members) != 1) {
			err = fmt.Errorf("unexpected description %+v", desc)
		}
		check("DescribeConsumerGroups", err)
		cancel()
		cg.Close()
		time.Sleep(500 * time.Millisecond)
		offs, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: {0, 1, 2}})
		if err == nil {
			var sum int64
			for p := int32(0); p < 3; p++ {
				if b := offs.GetBlock(topic, p); b != nil && b.Offset > 0 {
					sum += b.Offset
				}
			}
			if sum != 30 {
				err = fmt.Errorf("committed offsets sum to %d, want 30", sum)
			}
		}
		check("ListConsumerGroupOffsets", err)
	}
	check("DeleteRecords below offset 1", admin.DeleteRecords(topic, map[int32]int64{0: 1}))
	check("DeleteTopic", admin.DeleteTopic(topic))
	topics, err = admin.ListTopics()
	if err == nil {
		if _, ok := topics[topic]; ok {
			err = fmt.Errorf("%s still listed", topic)
		}
	}
	check("ListTopics after DeleteTopic", err)
	fmt.Printf("%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}

func containsErr(err error, want sarama.KError) bool {
	if err == want {
		return true
	}
	if te, ok := err.(*sarama.TopicError); ok && te.Err == want {
		return true
	}
	return false
}
