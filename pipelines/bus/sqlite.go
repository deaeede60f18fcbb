package bus

import (
	"context"
	stdsql "database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"

	// Registers the "sqlite" driver that OpenSQLite opens.
	_ "modernc.org/sqlite"
)

// busyTimeout bounds how long a writer waits for the write lock before
// failing with SQLITE_BUSY. The bus holds the lock only for single
// statements, except while a handler that has written through its message's
// transaction runs.
const busyTimeout = 10 * time.Second

// OpenSQLite opens the SQLite database file at path with modernc.org/sqlite,
// configured for the Pub/Sub and the rest of the application to share it
// from many goroutines:
//
//   - journal_mode WAL, so readers neither block nor are blocked by the one
//     writer;
//   - busy_timeout 10s, so a writer waits for the lock instead of failing at
//     once;
//   - _txlock=immediate, so every transaction that may write takes the lock
//     at BEGIN. A deferred transaction that reads and then writes fails with
//     SQLITE_BUSY_SNAPSHOT, without waiting, whenever someone else wrote in
//     between; an immediate one waits its turn under busy_timeout instead.
//     Read-only transactions (sql.TxOptions.ReadOnly) still begin deferred.
//   - synchronous NORMAL, which in WAL mode cannot corrupt the database and
//     loses at most the last commits on power loss, not on a process crash;
//   - foreign_keys on, which SQLite leaves off by default.
//
// The pool's size is left unlimited: a handler that writes through its
// message's transaction keeps that connection until the ack, and one that
// also reads through the pool would deadlock against a small limit.
func OpenSQLite(path string) (*stdsql.DB, error) {
	switch {
	case path == "", path == ":memory:", strings.HasPrefix(path, "file:"):
		// Every pooled connection to ":memory:" would get a database of its
		// own, and a "file:" URI would need its own escaping.
		return nil, fmt.Errorf("open sqlite: need a plain file path, got %q", path)
	case strings.Contains(path, "?"):
		// modernc.org/sqlite splits the DSN at the first '?'.
		return nil, fmt.Errorf("open sqlite: path %q contains '?'", path)
	}

	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")

	db, err := stdsql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// database/sql keeps two idle connections by default; with a handful of
	// subscribers polling, the rest were closed and reopened, pragmas and
	// all, on every poll.
	db.SetMaxIdleConns(16)

	// Surface an unusable path or a failing pragma now, not on first use.
	if err := db.Ping(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return db, nil
}

// SQLiteConfig configures NewSQLite.
type SQLiteConfig struct {
	// ConsumerGroup names the group the subscriber consumes in. Subscribers
	// of one group share an offset, so each message reaches one of them; each
	// group gets every message. The empty string is a valid group.
	ConsumerGroup string

	// PollInterval is how long the subscriber waits before looking again
	// after finding no message, and so the added latency of an idle topic.
	// A look is a read and takes no lock. Defaults to 50ms.
	PollInterval time.Duration

	// ResendInterval is how long the subscriber waits before delivering a
	// nacked message again. If the handler wrote through the message's
	// transaction, it waits holding the database write lock. Defaults to 1s,
	// as in watermill-sql.
	ResendInterval time.Duration

	// AckDeadline is how long a handler has to ack a message before the
	// subscriber gives up on it, rolls back what the handler wrote through
	// the message's transaction, and delivers it again. It also sets how long
	// the group waits for a message claimed by a process that died: the
	// claim's lease is AckDeadline plus 20s. Defaults to 30s. Must be
	// positive: with no deadline a hung handler would stall its group, and
	// hold the write lock if it had written, forever.
	AckDeadline time.Duration

	// AutoInitializeSchema makes the publisher and the subscriber create a
	// topic's tables on first use. Nil means true; a plain bool could not
	// tell "unset" from "off".
	AutoInitializeSchema *bool
}

func (c *SQLiteConfig) setDefaults() {
	if c.PollInterval == 0 {
		c.PollInterval = 50 * time.Millisecond
	}
	if c.ResendInterval == 0 {
		c.ResendInterval = time.Second
	}
	if c.AckDeadline == 0 {
		c.AckDeadline = 30 * time.Second
	}
	if c.AutoInitializeSchema == nil {
		autoInit := true
		c.AutoInitializeSchema = &autoInit
	}
}

// Validate reports whether the configuration is usable. NewSQLite applies
// defaults before validating, so a zero value is valid there.
func (c SQLiteConfig) Validate() error {
	var errs []error
	if c.PollInterval <= 0 {
		errs = append(errs, errors.New("PollInterval must be positive"))
	}
	if c.ResendInterval <= 0 {
		errs = append(errs, errors.New("ResendInterval must be positive"))
	}
	if c.AckDeadline <= 0 {
		errs = append(errs, errors.New("AckDeadline must be positive"))
	}
	if c.AutoInitializeSchema == nil {
		errs = append(errs, errors.New("AutoInitializeSchema is unset"))
	}
	return errors.Join(errs...)
}

// NewSQLite returns a watermill-sql publisher and subscriber on db, using
// SQLiteSchema and SQLiteOffsetsAdapter. db should come from OpenSQLite, or at
// least have a busy_timeout; see there. Create as many as needed on one db.
//
// Both differ from watermill-sql's own in how they hold the write lock (see
// the package documentation): the subscriber claims a message in a
// transaction of its own, committed before delivery, and acks it in another,
// together with what the handler wrote through the message's transaction.
// The publisher, when the first message's context carries the transaction of
// a message delivered from db, inserts through that transaction. The
// message's transaction is not a *sql.StdSQLTx; use it through the sql.Tx
// interface.
func NewSQLite(db *stdsql.DB, logger watermill.LoggerAdapter, cfg SQLiteConfig) (message.Publisher, message.Subscriber, error) {
	if db == nil {
		return nil, nil, errors.New("new sqlite pub/sub: db is nil")
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, nil, fmt.Errorf("new sqlite pub/sub: invalid config: %w", err)
	}
	if logger == nil {
		logger = watermill.NopLogger{}
	}

	schema := SQLiteSchema{}
	beginner := sql.BeginnerFromStdSQL(db)

	pub, err := sql.NewPublisher(beginner, sql.PublisherConfig{
		SchemaAdapter:        schema,
		AutoInitializeSchema: *cfg.AutoInitializeSchema,
	}, logger)
	if err != nil {
		return nil, nil, fmt.Errorf("new sqlite publisher: %w", err)
	}

	ackDeadline := cfg.AckDeadline
	offsets := SQLiteOffsetsAdapter{
		// Covers the ack deadline plus the longest the ack may then wait
		// for the lock, with a margin.
		LeaseDuration: ackDeadline + 2*busyTimeout,
	}
	sub, err := sql.NewSubscriber(leaseBeginner{Beginner: beginner}, sql.SubscriberConfig{
		ConsumerGroup:    cfg.ConsumerGroup,
		AckDeadline:      &ackDeadline,
		PollInterval:     cfg.PollInterval,
		ResendInterval:   cfg.ResendInterval,
		BackoffManager:   backoffManager{poll: cfg.PollInterval, retry: errorRetryInterval},
		SchemaAdapter:    schema,
		OffsetsAdapter:   offsets,
		InitializeSchema: *cfg.AutoInitializeSchema,
	}, logger)
	if err != nil {
		return nil, nil, fmt.Errorf("new sqlite subscriber: %w", err)
	}

	return &publisher{
			plain:    pub,
			db:       db,
			schema:   schema,
			autoInit: *cfg.AutoInitializeSchema,
		}, &subscriber{
			Subscriber: sub,
			sub: subscription{
				db:      db,
				group:   cfg.ConsumerGroup,
				offsets: offsets,
			},
		}, nil
}

type subscriber struct {
	*sql.Subscriber
	sub subscription
}

// Subscribe implements message.Subscriber. watermill-sql derives its
// transactions' contexts, and each message's, from the one given here, so
// this is how leaseBeginner learns the topic and the publisher learns which
// database a message's transaction is on.
func (s *subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	sub := s.sub
	sub.topic = topic
	return s.Subscriber.Subscribe(context.WithValue(ctx, subscriptionKey{}, sub), topic)
}

type publisher struct {
	plain    *sql.Publisher
	db       *stdsql.DB
	schema   SQLiteSchema
	autoInit bool

	// mu lets Close wait for publishes in progress on the transactional path;
	// plain does the same for its own.
	mu     sync.RWMutex
	closed bool
}

// Publish implements message.Publisher.
func (p *publisher) Publish(topic string, messages ...*message.Message) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return sql.ErrPublisherClosed
	}
	if len(messages) == 0 {
		return nil
	}

	// sql.TxFromContext alone cannot tell a transaction on this database
	// from one on another (PostgreSQL, another SQLite file); inserting into
	// the wrong one would fail or, worse, succeed.
	ctx := messages[0].Context()
	tx, ok := sql.TxFromContext(ctx)
	if sub, fromSubscriber := subscriptionFrom(ctx); !ok || !fromSubscriber || sub.db != p.db {
		return p.plain.Publish(topic, messages...)
	}

	if err := validateTopic(topic); err != nil {
		return err
	}
	if p.autoInit {
		// Created inside the transaction, not through db, which would wait
		// for the lock this transaction holds. Not cached: a rollback would
		// undo the table but not the cache entry. CREATE TABLE IF NOT
		// EXISTS on an existing table costs next to nothing.
		queries, err := p.schema.SchemaInitializingQueries(sql.SchemaInitializingQueriesParams{Topic: topic})
		if err != nil {
			return err
		}
		for _, q := range queries {
			if _, err := tx.ExecContext(ctx, q.Query, q.Args...); err != nil {
				return fmt.Errorf("initializing topic %s in the consuming transaction: %w", topic, err)
			}
		}
	}
	q, err := p.schema.InsertQuery(sql.InsertQueryParams{Topic: topic, Msgs: messages})
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, q.Query, q.Args...); err != nil {
		return fmt.Errorf("publishing to %s in the consuming transaction: %w", topic, err)
	}
	return nil
}

// Close implements message.Publisher.
func (p *publisher) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	return p.plain.Close()
}

// validateTopic applies watermill-sql's topic rule, which its publisher
// checks but does not export, to the transactional path: the topic becomes
// part of a table name.
func validateTopic(topic string) error {
	for _, r := range topic {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("-$:._", r):
		default:
			return fmt.Errorf("%s: %w", topic, sql.ErrInvalidTopicName)
		}
	}
	return nil
}
