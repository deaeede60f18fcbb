package bus

import (
	stdsql "database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
)

// subscribeBatchSize is fixed at one. A batch is read under one transaction,
// so a larger batch would not shorten the time the write lock is held per
// message, and every row of a batch that is read but not acked before a crash
// or a close would be delivered again.
const subscribeBatchSize = 1

// SQLiteSchema is the sql.SchemaAdapter for SQLite: one table per topic,
// holding every message ever published to it, addressed by a monotonically
// increasing offset.
//
// Payloads are stored as BLOBs, so they need not be JSON. Metadata is stored
// as JSON text, so json_extract() can be used on it when debugging.
type SQLiteSchema struct {
	// GenerateMessagesTableName overrides the name of a topic's messages
	// table. Its result is put into SQL verbatim, so it must already be a
	// quoted identifier. Defaults to "watermill_<topic>".
	GenerateMessagesTableName func(topic string) string
}

var _ sql.SchemaAdapter = SQLiteSchema{}

// SchemaInitializingQueries implements sql.SchemaAdapter.
func (s SQLiteSchema) SchemaInitializingQueries(params sql.SchemaInitializingQueriesParams) ([]sql.Query, error) {
	// AUTOINCREMENT, not a bare INTEGER PRIMARY KEY: the latter reuses the
	// highest rowid once that row is deleted (by retention, say), and an
	// offset handed out twice would be skipped by every consumer group that
	// has already acked it.
	//
	// Offsets are also visible in the order they are assigned, which
	// PostgreSQL needs transaction ids to get right: SQLite has a single
	// writer, so the transaction that inserted offset N commits before any
	// other can insert N+1.
	return []sql.Query{{Query: `CREATE TABLE IF NOT EXISTS ` + s.MessagesTable(params.Topic) + ` (
	"offset" INTEGER PRIMARY KEY AUTOINCREMENT,
	"uuid" TEXT NOT NULL,
	"created_at" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
	"payload" BLOB,
	"metadata" TEXT
)`}}, nil
}

// InsertQuery implements sql.SchemaAdapter. All messages go into one
// statement, so a Publish call is atomic and its messages get consecutive
// offsets in argument order. SQLite caps a statement at 32766 parameters,
// which limits one call to 10922 messages.
func (s SQLiteSchema) InsertQuery(params sql.InsertQueryParams) (sql.Query, error) {
	if len(params.Msgs) == 0 {
		return sql.Query{}, fmt.Errorf("no messages to insert into topic %q", params.Topic)
	}

	args := make([]any, 0, 3*len(params.Msgs))
	for _, msg := range params.Msgs {
		metadata, err := json.Marshal(msg.Metadata)
		if err != nil {
			return sql.Query{}, fmt.Errorf("marshalling metadata of message %s: %w", msg.UUID, err)
		}
		// Metadata as a string, not []byte: SQLite would store bytes as a
		// BLOB, which its JSON functions read as JSONB and reject.
		args = append(args, msg.UUID, []byte(msg.Payload), string(metadata))
	}

	rows := strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", len(params.Msgs)), ", ")
	return sql.Query{
		Query: `INSERT INTO ` + s.MessagesTable(params.Topic) + ` ("uuid", "payload", "metadata") VALUES ` + rows,
		Args:  args,
	}, nil
}

// SelectQuery implements sql.SchemaAdapter. It returns the first message
// after the consumer group's acked offset; which message that is, and that no
// other subscriber of the group gets it too, is up to the offsets adapter.
func (s SQLiteSchema) SelectQuery(params sql.SelectQueryParams) (sql.Query, error) {
	next, err := params.OffsetsAdapter.NextOffsetQuery(sql.NextOffsetQueryParams{
		Topic:         params.Topic,
		ConsumerGroup: params.ConsumerGroup,
	})
	if err != nil {
		return sql.Query{}, err
	}

	return sql.Query{
		Query: `SELECT "offset", "uuid", "payload", "metadata" FROM ` + s.MessagesTable(params.Topic) +
			` WHERE "offset" > (` + next.Query + `) ORDER BY "offset" ASC LIMIT ` + fmt.Sprint(subscribeBatchSize),
		Args: next.Args,
	}, nil
}

// UnmarshalMessage implements sql.SchemaAdapter.
func (s SQLiteSchema) UnmarshalMessage(params sql.UnmarshalMessageParams) (sql.Row, error) {
	var r sql.Row
	if err := params.Row.Scan(&r.Offset, &r.UUID, &r.Payload, &r.Metadata); err != nil {
		return sql.Row{}, fmt.Errorf("scanning message row: %w", err)
	}

	msg := message.NewMessage(string(r.UUID), r.Payload)
	if len(r.Metadata) > 0 {
		if err := json.Unmarshal(r.Metadata, &msg.Metadata); err != nil {
			return sql.Row{}, fmt.Errorf("unmarshalling metadata of message %s: %w", msg.UUID, err)
		}
	}
	r.Msg = msg

	return r, nil
}

// SubscribeIsolationLevel implements sql.SchemaAdapter. SQLite transactions
// are always serializable and modernc.org/sqlite ignores the level; saying so
// keeps the intent readable and is what the offsets adapter relies on.
func (s SQLiteSchema) SubscribeIsolationLevel() stdsql.IsolationLevel {
	return stdsql.LevelSerializable
}

// MessagesTable returns the quoted name of the topic's messages table.
func (s SQLiteSchema) MessagesTable(topic string) string {
	if s.GenerateMessagesTableName != nil {
		return s.GenerateMessagesTableName(topic)
	}
	return quoteIdent("watermill_" + topic)
}

// quoteIdent quotes a name as an SQLite identifier. watermill-sql already
// rejects topics with quotes in them; quoting anyway keeps the adapters safe
// when their methods are called directly.
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
