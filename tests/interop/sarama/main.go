// sarama_check — what an old Go client (Debian's sarama 1.22, built in GOPATH mode) sees
// from splicelogd. One scenario per run; the verdict is the exit status and the last line.
//
//	sarama_check BROKER simple-commit TOPIC GROUP OFFSET
//	    sarama's default configuration (Version 0.8.2): an OffsetManager commits OFFSET
//	    for partition 0 (OffsetCommit v1, the version sarama uses for every commit), then a
//	    fresh client reads it back (OffsetFetch v1). Exit 0 when it reads OFFSET.
//	sarama_check BROKER group TOPIC GROUP N
//	    a ConsumerGroup (Version 0.11: JoinGroup v1, SyncGroup v0, Fetch v4) consumes and marks N
//	    records, leaves, and a fresh client reads the group's offset back. Exit 0 when it is N.
//	sarama_check BROKER old-consumer TOPIC
//	    the default configuration's consumer (Fetch v0, removed in Kafka 4.0; ListOffsets v0 is answered)
//	    on partition 0. Exit 0 when sarama returns an error to the application, 1 when it
//	    delivers nothing and reports nothing within 10 s.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"strconv"
	"time"

	"github.com/Shopify/sarama"
)

func fail(format string, a ...interface{}) {
	fmt.Printf("FAIL: "+format+"\n", a...)
	os.Exit(1)
}

// committed reads GROUP's committed offset of TOPIC/0 with a fresh client.
func committed(broker, topic, group string, cfg *sarama.Config) int64 {
	client, err := sarama.NewClient([]string{broker}, cfg)
	if err != nil {
		fail("client: %v", err)
	}
	defer client.Close()
	om, err := sarama.NewOffsetManagerFromClient(group, client)
	if err != nil {
		fail("offset manager: %v", err)
	}
	defer om.Close()
	pom, err := om.ManagePartition(topic, 0)
	if err != nil {
		fail("manage partition: %v", err)
	}
	defer pom.AsyncClose()
	off, _ := pom.NextOffset()
	return off
}

func simpleCommit(broker, topic, group string, offset int64) {
	cfg := sarama.NewConfig() // Version 0.8.2.0: what an application gets by default
	client, err := sarama.NewClient([]string{broker}, cfg)
	if err != nil {
		fail("client: %v", err)
	}
	om, err := sarama.NewOffsetManagerFromClient(group, client)
	if err != nil {
		fail("offset manager: %v", err)
	}
	pom, err := om.ManagePartition(topic, 0)
	if err != nil {
		fail("manage partition: %v", err)
	}
	pom.MarkOffset(offset, "sarama")
	pom.AsyncClose()
	om.Close() // flushes the commit
	client.Close()
	got := committed(broker, topic, group, sarama.NewConfig())
	if got != offset {
		fail("committed offset %d, want %d: the commit was lost", got, offset)
	}
	fmt.Printf("OK: committed offset %d read back\n", got)
}

type handler struct {
	want, seen int
	done       context.CancelFunc
}

func (h *handler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *handler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		s.MarkMessage(m, "")
		h.seen++
		if h.seen >= h.want {
			h.done()
			return nil
		}
	}
	return nil
}

func group(broker, topic, grp string, n int) {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V0_11_0_0
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Return.Errors = true
	cg, err := sarama.NewConsumerGroup([]string{broker}, grp, cfg)
	if err != nil {
		fail("consumer group: %v", err)
	}
	go func() {
		for err := range cg.Errors() {
			fmt.Printf("consumer group error: %v\n", err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	h := &handler{want: n, done: cancel}
	if err := cg.Consume(ctx, []string{topic}, h); err != nil {
		fail("consume: %v", err)
	}
	cg.Close()
	if h.seen < n {
		fail("consumed %d records, want %d", h.seen, n)
	}
	got := committed(broker, topic, grp, cfg)
	if got != int64(n) {
		fail("committed offset %d, want %d: the group's commit was lost", got, n)
	}
	fmt.Printf("OK: consumed %d, committed offset %d read back\n", h.seen, got)
}

func oldConsumer(broker, topic string) {
	cfg := sarama.NewConfig()
	cfg.Consumer.Return.Errors = true
	consumer, err := sarama.NewConsumer([]string{broker}, cfg)
	if err != nil {
		fmt.Printf("OK: error reported: %v\n", err)
		return
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		fmt.Printf("OK: error reported: %v\n", err)
		return
	}
	defer pc.AsyncClose()
	select {
	case m := <-pc.Messages():
		fmt.Printf("OK: record at offset %d\n", m.Offset)
	case e := <-pc.Errors():
		fmt.Printf("OK: error reported: %v\n", e)
	case <-time.After(10 * time.Second):
		fail("no record and no error in 10 s")
	}
}

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: sarama_check BROKER simple-commit|group|old-consumer TOPIC ...")
		os.Exit(2)
	}
	sarama.Logger = log.New(os.Stderr, "[sarama] ", log.LstdFlags)
	broker, cmd, topic := os.Args[1], os.Args[2], os.Args[3]
	arg := func(i int) string {
		if len(os.Args) <= i {
			fmt.Fprintln(os.Stderr, "missing argument")
			os.Exit(2)
		}
		return os.Args[i]
	}
	switch cmd {
	case "simple-commit":
		off, _ := strconv.ParseInt(arg(5), 10, 64)
		simpleCommit(broker, topic, arg(4), off)
	case "group":
		n, _ := strconv.Atoi(arg(5))
		group(broker, topic, arg(4), n)
	case "old-consumer":
		oldConsumer(broker, topic)
	default:
		fmt.Fprintln(os.Stderr, "unknown scenario", cmd)
		os.Exit(2)
	}
}
