package bus

import (
	"context"
	stdsql "database/sql"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testConfig polls faster than the default so the suite's many short reads
// do not add up, and resends nacked messages quickly because
// TestContinueAfterErrors nacks hundreds of times in a row.
func testConfig(consumerGroup string) SQLiteConfig {
	return SQLiteConfig{
		ConsumerGroup:  consumerGroup,
		PollInterval:   10 * time.Millisecond,
		ResendInterval: 5 * time.Millisecond,
	}
}

func openTestDB(t *testing.T) *stdsql.DB {
	t.Helper()
	db, err := OpenSQLite(filepath.Join(t.TempDir(), "bus.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// busyCounter collects the SQLITE_BUSY errors that watermill would otherwise
// hide: the subscriber logs and retries them, the suite's publishWithRetry
// retries publishes five times.
type busyCounter struct {
	watermill.NopLogger
	n    atomic.Int64
	mu   sync.Mutex
	errs []string

	// lostClaims counts claims the subscriber retried because another writer
	// held the lock; they are expected and only reported.
	lostClaims atomic.Int64
}

func (c *busyCounter) Error(msg string, err error, _ watermill.LogFields) {
	c.record(msg, err)
}

func (c *busyCounter) Debug(msg string, _ watermill.LogFields) {
	if strings.HasPrefix(msg, "Write lock taken") {
		c.lostClaims.Add(1)
	}
}

func (c *busyCounter) With(watermill.LogFields) watermill.LoggerAdapter { return c }

func (c *busyCounter) record(what string, err error) {
	if !isBusy(err) {
		return
	}
	c.n.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.errs) < 10 {
		c.errs = append(c.errs, what+": "+err.Error())
	}
}

func (c *busyCounter) check(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	assert.Zero(t, c.n.Load(), "SQLITE_BUSY errors, first ones: %q", c.errs)
	t.Logf("claims lost to another writer and retried: %d", c.lostClaims.Load())
}

type countingPublisher struct {
	message.Publisher
	busy *busyCounter
}

func (p countingPublisher) Publish(topic string, msgs ...*message.Message) error {
	err := p.Publisher.Publish(topic, msgs...)
	p.busy.record("publish", err)
	return err
}

func newTestPubSub(t *testing.T, db *stdsql.DB, busy *busyCounter, cfg SQLiteConfig) (message.Publisher, message.Subscriber) {
	t.Helper()
	pub, sub, err := NewSQLite(db, busy, cfg)
	require.NoError(t, err)
	return countingPublisher{Publisher: pub, busy: busy}, sub
}

// sqliteFeatures are what this Pub/Sub honours.
var sqliteFeatures = tests.Features{
	ConsumerGroups: true,
	// The offset moves in the transaction that delivered the message, and
	// only one subscriber of a group can hold that transaction (see
	// SQLiteOffsetsAdapter). As with watermill-sql's MySQL and PostgreSQL
	// adapters, which declare the same, a message whose ack deadline passes
	// or whose commit fails is delivered again.
	ExactlyOnceDelivery: true,
	// Offsets are assigned and committed in one order (single writer), and a
	// group's next message cannot be claimed before the previous is acked,
	// so order holds with any number of subscribers.
	GuaranteedOrder: true,
	// False because it is not a restriction here: true would only make the
	// order test use one subscriber instead of ten.
	GuaranteedOrderWithSingleSubscriber: false,
	Persistent:                          true,
	// A new subscriber continues from its group's offset; a replay from the
	// start needs a new group.
	NewSubscriberReceivesOldMessages: false,
	// The message's context is not stored, only UUID, payload and metadata.
	ContextPreserved: false,
	// No RestartServiceCommand: there is no server to restart, so the suite
	// skips TestReconnect.
}

func TestPubSub(t *testing.T) {
	db := openTestDB(t)
	busy := &busyCounter{}
	// Cleanup, not a deferred call: the suite's subtests are parallel and
	// only run after this function returns.
	t.Cleanup(func() { busy.check(t) })

	features := sqliteFeatures
	features.ForceShort = raceEnabled
	tests.TestPubSub(
		t,
		features,
		func(t *testing.T) (message.Publisher, message.Subscriber) {
			return newTestPubSub(t, db, busy, testConfig("test"))
		},
		func(t *testing.T, consumerGroup string) (message.Publisher, message.Subscriber) {
			return newTestPubSub(t, db, busy, testConfig(consumerGroup))
		},
	)
}

// TestPubSubAtLeastOnceOnClose runs the two suite tests that TestPubSub skips
// because ExactlyOnceDelivery is declared: they check that closing
// subscribers mid-stream loses no message, tolerating duplicates.
func TestPubSubAtLeastOnceOnClose(t *testing.T) {
	db := openTestDB(t)
	busy := &busyCounter{}
	t.Cleanup(func() { busy.check(t) })

	features := sqliteFeatures
	features.ExactlyOnceDelivery = false
	features.ForceShort = raceEnabled
	constructor := func(t *testing.T) (message.Publisher, message.Subscriber) {
		return newTestPubSub(t, db, busy, testConfig("test"))
	}

	for name, test := range map[string]func(*testing.T, tests.TestContext, tests.PubSubConstructor){
		"TestContinueAfterSubscribeClose": tests.TestContinueAfterSubscribeClose,
		"TestConcurrentClose":             tests.TestConcurrentClose,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, tests.TestContext{TestID: tests.NewTestID(), Features: features}, constructor)
		})
	}
}

// TestPlainWatermillSubscriber runs the adapters under watermill-sql's own
// publisher and subscriber, where the claim's transaction stays open until
// the ack and no lease is written, with several subscribers of one group:
// the claim alone must keep delivery exclusive and ordered, whether
// transactions begin deferred (a subscriber that loses the race fails its
// claim and retries) or immediate (it waits for the lock at BEGIN).
func TestPlainWatermillSubscriber(t *testing.T) {
	for name, pragmas := range map[string]string{
		"deferred":  "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)",
		"immediate": "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate",
	} {
		t.Run(name, func(t *testing.T) {
			db, err := stdsql.Open("sqlite", filepath.Join(t.TempDir(), "plain.db")+pragmas)
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			beginner := sql.BeginnerFromStdSQL(db)

			pub, err := sql.NewPublisher(beginner, sql.PublisherConfig{SchemaAdapter: SQLiteSchema{}, AutoInitializeSchema: true}, nil)
			require.NoError(t, err)
			defer pub.Close()

			var claimFailures atomic.Int64
			var subs []message.Subscriber
			for i := 0; i < 5; i++ {
				sub, err := sql.NewSubscriber(beginner, sql.SubscriberConfig{
					ConsumerGroup:    "g",
					PollInterval:     time.Millisecond,
					RetryInterval:    time.Millisecond,
					ResendInterval:   time.Millisecond,
					SchemaAdapter:    SQLiteSchema{},
					OffsetsAdapter:   SQLiteOffsetsAdapter{},
					InitializeSchema: true,
				}, &claimFailureCounter{n: &claimFailures})
				require.NoError(t, err)
				subs = append(subs, sub)
			}
			assertGroupConsumesInOrder(t, pub, subs, 200)
			t.Logf("claims lost to a concurrent subscriber and retried: %d", claimFailures.Load())
		})
	}
}

// TestGroupExclusiveAcrossHandles consumes one group through two *sql.DB on
// the same file, as two processes would: exclusivity must rest on what is
// in the database, the claim and the lease, not on anything in memory.
func TestGroupExclusiveAcrossHandles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	var subs []message.Subscriber
	var pub message.Publisher
	for i := 0; i < 2; i++ {
		db, err := OpenSQLite(path)
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		for j := 0; j < 3; j++ {
			p, sub, err := NewSQLite(db, nil, SQLiteConfig{ConsumerGroup: "g", PollInterval: time.Millisecond})
			require.NoError(t, err)
			defer p.Close()
			subs = append(subs, sub)
			pub = p
		}
	}
	assertGroupConsumesInOrder(t, pub, subs, 200)
}

// assertGroupConsumesInOrder publishes messages, consumes them through subs
// (all of one group) and checks each arrives exactly once, in order.
func assertGroupConsumesInOrder(t *testing.T, pub message.Publisher, subs []message.Subscriber, messages int) {
	t.Helper()
	const topic = "ordered"

	// Subscribing before publishing, and reading while publishing: with
	// watermill-sql's own subscriber, the claimant holds the write lock
	// until the ack, so publishing everything before reading would deadlock.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	received := make(chan *message.Message)
	for _, sub := range subs {
		defer sub.Close()
		msgs, err := sub.Subscribe(ctx, topic)
		require.NoError(t, err)
		go func() {
			for msg := range msgs {
				received <- msg
			}
		}()
	}
	gotAll := make(chan []string)
	go func() {
		var got []string
		timeout := time.After(30 * time.Second)
		for len(got) < messages {
			select {
			case msg := <-received:
				got = append(got, msg.UUID)
				msg.Ack()
			case <-timeout:
				gotAll <- got
				return
			}
		}
		gotAll <- got
	}()

	var published []string
	for i := 0; i < messages; i++ {
		msg := message.NewMessage(watermill.NewUUID(), []byte(fmt.Sprint(i)))
		published = append(published, msg.UUID)
		require.NoError(t, pub.Publish(topic, msg))
	}

	got := <-gotAll
	require.Len(t, got, messages, "not all messages received")
	select {
	case msg := <-received:
		t.Fatalf("message %s delivered after all were acked", msg.UUID)
	case <-time.After(100 * time.Millisecond):
	}
	// Not just no duplicates: the same order as published.
	assert.Equal(t, published, got)
}

type claimFailureCounter struct {
	watermill.NopLogger
	n *atomic.Int64
}

func (c *claimFailureCounter) Error(_ string, err error, _ watermill.LogFields) {
	if isBusy(err) {
		c.n.Add(1)
	}
}

func (c *claimFailureCounter) With(watermill.LogFields) watermill.LoggerAdapter { return c }

// TestPublishFromHandler covers a router handler that produces a message in
// the incoming message's transaction: it must appear with the ack, not
// before.
func TestPublishFromHandler(t *testing.T) {
	db := openTestDB(t)
	pub, sub, err := NewSQLite(db, nil, testConfig("handler"))
	require.NoError(t, err)
	defer sub.Close()
	defer pub.Close()

	require.NoError(t, pub.Publish("in", message.NewMessage(watermill.NewUUID(), []byte("in"))))
	in, err := sub.Subscribe(context.Background(), "in")
	require.NoError(t, err)
	inMsg := receive(t, in)

	outMsg := message.NewMessage(watermill.NewUUID(), []byte("out"))
	outMsg.SetContext(inMsg.Context())
	require.NoError(t, pub.Publish("out", outMsg))
	// A read needs no lock in WAL mode; the uncommitted table is invisible.
	assert.False(t, tableExists(t, db, "watermill_out"), "produced message visible before the ack")

	require.True(t, inMsg.Ack())

	checkPub, checkSub, err := NewSQLite(db, nil, testConfig("check"))
	require.NoError(t, err)
	defer checkSub.Close()
	defer checkPub.Close()
	out, err := checkSub.Subscribe(context.Background(), "out")
	require.NoError(t, err)
	got := receive(t, out)
	assert.Equal(t, outMsg.UUID, got.UUID)
	assert.Equal(t, "out", string(got.Payload))
	got.Ack()
}

// TestHandlerDoesNotBlockWriters: while a message waits for its ack, the
// rest of the application and the bus can write.
func TestHandlerDoesNotBlockWriters(t *testing.T) {
	db := openTestDB(t)
	busy := &busyCounter{}
	pub, sub := newTestPubSub(t, db, busy, testConfig("slow"))
	defer sub.Close()
	defer pub.Close()

	require.NoError(t, pub.Publish("slow", message.NewMessage(watermill.NewUUID(), nil)))
	msgs, err := sub.Subscribe(context.Background(), "slow")
	require.NoError(t, err)
	msg := receive(t, msgs)
	defer msg.Ack()

	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := db.Exec(`CREATE TABLE app (v TEXT)`)
		assert.NoError(t, err)
		_, err = db.Exec(`INSERT INTO app VALUES ('x')`)
		assert.NoError(t, err)
		for i := 0; i < 10; i++ {
			assert.NoError(t, pub.Publish("other", message.NewMessage(watermill.NewUUID(), nil)))
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("writers waited for an unacked message")
	}
	busy.check(t)
}

// TestHandlerWritesFollowTheAck: what a handler writes through the message's
// transaction is committed by the ack, and rolled back if the message is not
// acked, which then goes to the group's next subscriber without waiting for
// its lease to expire.
func TestHandlerWritesFollowTheAck(t *testing.T) {
	db := openTestDB(t)
	_, err := db.Exec(`CREATE TABLE app (v TEXT)`)
	require.NoError(t, err)
	count := func() (n int) {
		require.NoError(t, db.QueryRow(`SELECT count(*) FROM app`).Scan(&n))
		return n
	}
	handle := func(sub message.Subscriber, value string) *message.Message {
		msgs, err := sub.Subscribe(context.Background(), "work")
		require.NoError(t, err)
		msg := receive(t, msgs)
		tx, ok := sql.TxFromContext(msg.Context())
		require.True(t, ok)
		_, err = tx.ExecContext(msg.Context(), `INSERT INTO app VALUES (?)`, value)
		require.NoError(t, err)
		return msg
	}

	pub, first, err := NewSQLite(db, nil, testConfig("g"))
	require.NoError(t, err)
	defer pub.Close()
	published := message.NewMessage(watermill.NewUUID(), nil)
	require.NoError(t, pub.Publish("work", published))

	msg := handle(first, "abandoned")
	require.NoError(t, first.Close()) // without acking
	assert.Zero(t, count(), "write of an unacked message committed")

	_, second, err := NewSQLite(db, nil, testConfig("g"))
	require.NoError(t, err)
	defer second.Close()
	start := time.Now()
	msg = handle(second, "acked")
	assert.Less(t, time.Since(start), 5*time.Second, "claim not released on close")
	assert.Equal(t, published.UUID, msg.UUID)
	require.True(t, msg.Ack())
	assert.Eventually(t, func() bool { return count() == 1 }, 5*time.Second, 10*time.Millisecond)
}

func TestOpenSQLitePragmas(t *testing.T) {
	db := openTestDB(t)
	// Several connections: pragmas other than journal_mode are per
	// connection, so each new one must get them from the DSN.
	conns := make([]*stdsql.Conn, 3)
	for i := range conns {
		conn, err := db.Conn(context.Background())
		require.NoError(t, err)
		defer conn.Close()
		conns[i] = conn
	}
	for _, conn := range conns {
		for pragma, want := range map[string]string{
			"journal_mode": "wal",
			"busy_timeout": "10000",
			"synchronous":  "1", // NORMAL
			"foreign_keys": "1",
		} {
			var got string
			require.NoError(t, conn.QueryRowContext(context.Background(), "PRAGMA "+pragma).Scan(&got))
			assert.Equal(t, want, got, pragma)
		}
	}
}

func TestOpenSQLiteRejectsUnsafePaths(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db", filepath.Join(t.TempDir(), "a?b.db")} {
		_, err := OpenSQLite(path)
		assert.Error(t, err, path)
	}
}

func TestSQLiteConfig(t *testing.T) {
	var cfg SQLiteConfig
	assert.Error(t, cfg.Validate(), "zero value without defaults")

	cfg.setDefaults()
	require.NoError(t, cfg.Validate())
	assert.Equal(t, 50*time.Millisecond, cfg.PollInterval)
	assert.Equal(t, time.Second, cfg.ResendInterval)
	assert.Equal(t, 30*time.Second, cfg.AckDeadline)
	require.NotNil(t, cfg.AutoInitializeSchema)
	assert.True(t, *cfg.AutoInitializeSchema)

	off := false
	cfg = SQLiteConfig{AutoInitializeSchema: &off}
	cfg.setDefaults()
	assert.False(t, *cfg.AutoInitializeSchema, "an explicit false must survive defaults")

	cfg.AckDeadline = -time.Second
	assert.Error(t, cfg.Validate())
}

// TestOffsets exercises the offsets adapter's queries directly: acks only
// move forward, and a lease hides the group's messages until acked or
// released.
func TestOffsets(t *testing.T) {
	db := openTestDB(t)
	a := SQLiteOffsetsAdapter{LeaseDuration: time.Hour}
	exec := func(q sql.Query) {
		t.Helper()
		_, err := db.Exec(q.Query, q.Args...)
		require.NoError(t, err)
	}
	next := func() (offset int64) {
		t.Helper()
		q, err := a.NextOffsetQuery(sql.NextOffsetQueryParams{Topic: "t", ConsumerGroup: "g"})
		require.NoError(t, err)
		require.NoError(t, db.QueryRow(q.Query, q.Args...).Scan(&offset))
		return offset
	}
	ack := func(offset int64) {
		t.Helper()
		q, err := a.AckMessageQuery(sql.AckMessageQueryParams{Topic: "t", ConsumerGroup: "g", LastRow: sql.Row{Offset: offset}})
		require.NoError(t, err)
		exec(q)
	}
	claim := func(offset int64, consumer string) {
		t.Helper()
		q, err := a.ConsumedMessageQuery(sql.ConsumedMessageQueryParams{Topic: "t", ConsumerGroup: "g", Row: sql.Row{Offset: offset}, ConsumerULID: []byte(consumer)})
		require.NoError(t, err)
		exec(q)
	}

	queries, err := a.SchemaInitializingQueries(sql.OffsetsSchemaInitializingQueriesParams{Topic: "t"})
	require.NoError(t, err)
	for _, q := range queries {
		exec(q)
	}
	assert.EqualValues(t, 0, next(), "new group starts at the beginning")

	ack(5)
	ack(3)
	assert.EqualValues(t, 5, next(), "ack moved the offset back")

	claim(6, "a")
	assert.Equal(t, int64(math.MaxInt64), next(), "claimed group still offers a message")
	ack(6)
	assert.EqualValues(t, 6, next(), "ack did not end the claim")

	claim(7, "a")
	exec(a.releaseQuery("t", "g", []byte("b")))
	assert.Equal(t, int64(math.MaxInt64), next(), "released someone else's claim")
	exec(a.releaseQuery("t", "g", []byte("a")))
	assert.EqualValues(t, 6, next(), "release did not end the claim")
}

func receive(t *testing.T, msgs <-chan *message.Message) *message.Message {
	t.Helper()
	select {
	case msg, ok := <-msgs:
		require.True(t, ok, "channel closed")
		return msg
	case <-time.After(10 * time.Second):
		t.Fatal("no message received")
		return nil
	}
}

func tableExists(t *testing.T, db *stdsql.DB, name string) bool {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, name).Scan(&n))
	return n > 0
}
