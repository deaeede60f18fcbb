package bus

import (
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
)

// SQLiteOffsetsAdapter is the sql.OffsetsAdapter for SQLite. It keeps, per
// topic, one row per consumer group: the offset the group has acked, and the
// group's current claim on the message after it.
//
// Within a consumer group it delivers one message at a time, to one
// subscriber, in offset order, and acked offsets only move forward. MySQL and
// PostgreSQL get this from SELECT ... FOR UPDATE on the group's row, held
// until the ack. SQLite has no row locks, only one write lock for the whole
// database, and holding that until the ack would stop every other writer,
// other topics and groups included, for as long as any handler runs. So:
//
//   - ConsumedMessageQuery, which watermill-sql runs after reading a message
//     and before handing it to the handler, claims it: it records the
//     subscriber and, with a LeaseDuration, a lease expiry in the group's row.
//   - NextOffsetQuery yields an offset beyond any message while the group has
//     an unexpired lease, so no other subscriber of the group reads a message
//     until the holder acks (which clears the lease), releases it, or lets it
//     expire.
//   - Reading the acked offset and claiming happen in one transaction, and
//     SQLite transactions are serializable: if two subscribers read the same
//     free row, the first claim to write wins, and the other's write fails
//     (SQLITE_BUSY, or SQLITE_BUSY_SNAPSHOT in WAL mode) because its read is
//     stale, so it never delivers the message. This holds across processes
//     and however the transaction was begun.
//   - AckMessageQuery takes the larger of the stored and the acked offset, so
//     the offset never moves backwards, even for a late ack.
//
// NewSQLite's subscriber commits the claim at once, so the lease is what
// keeps the group's other subscribers away. watermill-sql's own subscriber
// keeps the claim's transaction, and so the write lock, open until the ack;
// with it, leave LeaseDuration zero.
type SQLiteOffsetsAdapter struct {
	// GenerateMessagesOffsetsTableName overrides the name of a topic's
	// offsets table. Its result is put into SQL verbatim, so it must already
	// be a quoted identifier. Defaults to "watermill_offsets_<topic>".
	GenerateMessagesOffsetsTableName func(topic string) string

	// LeaseDuration is how long a committed claim keeps the group's other
	// subscribers away if its holder neither acks nor releases it, that is,
	// if the holder's process dies. It must outlast the holder's ack
	// deadline, or a slow handler's message is delivered a second time while
	// the first delivery is still running. Zero writes no lease, which is
	// right only when the claim's transaction stays open until the ack.
	LeaseDuration time.Duration
}

var _ sql.OffsetsAdapter = SQLiteOffsetsAdapter{}

// The claim and the ack start with these comments so that the transaction of
// NewSQLite's subscriber can tell them from a handler's statements; see
// leaseTx.
const (
	claimMarker = "/* bus:claim */ "
	ackMarker   = "/* bus:ack */ "
)

// claimConsumerArg is the position of the subscriber's ID among the claim's
// arguments, which leaseTx needs to release the claim.
const claimConsumerArg = 2

// noOffset is beyond any offset, so the group's SELECT finds nothing.
const noOffset = "9223372036854775807"

// SchemaInitializingQueries implements sql.OffsetsAdapter.
func (a SQLiteOffsetsAdapter) SchemaInitializingQueries(params sql.OffsetsSchemaInitializingQueriesParams) ([]sql.Query, error) {
	// lease_expires_at is in Unix milliseconds; NULL means no lease.
	// offset_consumed and consumed_by tell an operator which subscriber
	// claimed which message.
	return []sql.Query{{Query: `CREATE TABLE IF NOT EXISTS ` + a.MessagesOffsetsTable(params.Topic) + ` (
	"consumer_group" TEXT NOT NULL PRIMARY KEY,
	"offset_acked" INTEGER NOT NULL DEFAULT 0,
	"offset_consumed" INTEGER NOT NULL DEFAULT 0,
	"consumed_by" BLOB,
	"lease_expires_at" INTEGER
)`}}, nil
}

// BeforeSubscribingQueries implements sql.OffsetsAdapter. There are none:
// the claim is an upsert and needs no row to exist. A query here would be a
// write, and subscribing would then wait whenever another transaction holds
// the write lock. As it is, Subscribe takes no lock: its CREATE TABLE IF NOT
// EXISTS takes none once the tables exist.
func (a SQLiteOffsetsAdapter) BeforeSubscribingQueries(sql.BeforeSubscribingQueriesParams) ([]sql.Query, error) {
	return nil, nil
}

// NextOffsetQuery implements sql.OffsetsAdapter.
func (a SQLiteOffsetsAdapter) NextOffsetQuery(params sql.NextOffsetQueryParams) (sql.Query, error) {
	table := a.MessagesOffsetsTable(params.Topic)
	return sql.Query{
		Query: `SELECT CASE
	WHEN EXISTS (SELECT 1 FROM ` + table + ` WHERE "consumer_group" = ? AND "lease_expires_at" > ?) THEN ` + noOffset + `
	ELSE COALESCE((SELECT "offset_acked" FROM ` + table + ` WHERE "consumer_group" = ?), 0)
END`,
		Args: []any{params.ConsumerGroup, time.Now().UnixMilli(), params.ConsumerGroup},
	}, nil
}

// ConsumedMessageQuery implements sql.OffsetsAdapter. It is the claim; see
// the type documentation.
func (a SQLiteOffsetsAdapter) ConsumedMessageQuery(params sql.ConsumedMessageQueryParams) (sql.Query, error) {
	var expires any // NULL: no lease
	if a.LeaseDuration > 0 {
		expires = time.Now().Add(a.LeaseDuration).UnixMilli()
	}
	return sql.Query{
		Query: claimMarker + `INSERT INTO ` + a.MessagesOffsetsTable(params.Topic) + ` ("consumer_group", "offset_consumed", "consumed_by", "lease_expires_at") VALUES (?, ?, ?, ?)
ON CONFLICT ("consumer_group") DO UPDATE SET
	"offset_consumed" = excluded."offset_consumed",
	"consumed_by" = excluded."consumed_by",
	"lease_expires_at" = excluded."lease_expires_at"`,
		Args: []any{params.ConsumerGroup, params.Row.Offset, params.ConsumerULID, expires},
	}, nil
}

// AckMessageQuery implements sql.OffsetsAdapter. Besides moving the offset
// it ends the claim, unless the claim is already on a later message: in SET,
// "offset_consumed" is the value before this statement.
func (a SQLiteOffsetsAdapter) AckMessageQuery(params sql.AckMessageQueryParams) (sql.Query, error) {
	return sql.Query{
		Query: ackMarker + `INSERT INTO ` + a.MessagesOffsetsTable(params.Topic) + ` ("consumer_group", "offset_acked", "offset_consumed") VALUES (?, ?, ?)
ON CONFLICT ("consumer_group") DO UPDATE SET
	"offset_acked" = MAX("offset_acked", excluded."offset_acked"),
	"offset_consumed" = MAX("offset_consumed", excluded."offset_consumed"),
	"consumed_by" = CASE WHEN "offset_consumed" <= excluded."offset_acked" THEN NULL ELSE "consumed_by" END,
	"lease_expires_at" = CASE WHEN "offset_consumed" <= excluded."offset_acked" THEN NULL ELSE "lease_expires_at" END`,
		Args: []any{params.ConsumerGroup, params.LastRow.Offset, params.LastRow.Offset},
	}, nil
}

// releaseQuery ends a claim that will not be acked (subscriber closing, ack
// deadline passed), so the group's next subscriber need not wait for the
// lease to expire. It leaves a claim that another subscriber has taken over
// alone.
func (a SQLiteOffsetsAdapter) releaseQuery(topic, consumerGroup string, consumer any) sql.Query {
	return sql.Query{
		Query: `UPDATE ` + a.MessagesOffsetsTable(topic) + ` SET "consumed_by" = NULL, "lease_expires_at" = NULL
WHERE "consumer_group" = ? AND "consumed_by" = ?`,
		Args: []any{consumerGroup, consumer},
	}
}

// MessagesOffsetsTable returns the quoted name of the topic's offsets table.
func (a SQLiteOffsetsAdapter) MessagesOffsetsTable(topic string) string {
	if a.GenerateMessagesOffsetsTableName != nil {
		return a.GenerateMessagesOffsetsTableName(topic)
	}
	return quoteIdent("watermill_offsets_" + topic)
}

func isClaim(query string) bool { return strings.HasPrefix(query, claimMarker) }
func isAck(query string) bool   { return strings.HasPrefix(query, ackMarker) }
