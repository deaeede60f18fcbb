// Package bus provides the Pub/Sub that backs praxisbote's Watermill router:
// watermill-sql (github.com/ThreeDotsLabs/watermill-sql/v4) on a SQLite
// database opened through modernc.org/sqlite, so that messages live in the
// same file as the rest of the application's data and need no broker.
//
// watermill-sql ships adapters for MySQL and PostgreSQL only. SQLiteSchema and
// SQLiteOffsetsAdapter teach it SQLite; NewSQLite wires them into a publisher
// and a subscriber made for sharing the database with the rest of the
// application; OpenSQLite opens the database with the settings they assume.
//
// # Handlers and the write lock
//
// SQLite has one write lock for the whole database. NewSQLite's subscriber
// holds it only for the moments it claims and acks a message, not while the
// handler runs (see SQLiteOffsetsAdapter), so a slow handler delays only the
// next message of its own consumer group.
//
// The exception is the message's transaction, sql.TxFromContext(msg.Context()).
// Writes through it are committed together with the ack, and rolled back if
// the message is not acked, but the first of them takes the write lock until
// the ack. Hence:
//
//   - Write through the message's transaction late in the handler, and do
//     nothing slow after the first write.
//   - Once a handler has written through it, it must not write to the
//     database any other way (the shared *sql.DB, a publisher given a fresh
//     context): that would wait for the lock its own transaction holds, and
//     fail after busy_timeout.
//   - To publish produced messages in the same transaction, give them the
//     incoming message's context (out.SetContext(in.Context())). The
//     publisher from NewSQLite then inserts them through it, so they appear
//     exactly when the incoming message is acked.
package bus
