package bus

import (
	"context"
	stdsql "database/sql"
	"errors"
	"fmt"

	"github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
)

// StdTx returns the database/sql transaction behind the one a handler gets
// from sql.TxFromContext, so that a handler can write through a store
// written against database/sql. For a message of this package's subscriber
// that is the ack transaction, begun here if no statement began it yet:
// the handler's writes then commit exactly with the message's ack.
func StdTx(ctx context.Context, tx sql.Tx) (*stdsql.Tx, error) {
	switch t := tx.(type) {
	case *leaseTx:
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.done {
			return nil, stdsql.ErrTxDone
		}
		if t.claimTx != nil {
			return nil, errors.New("bus: message is not claimed yet")
		}
		return t.beginAck()
	case *sql.StdSQLTx:
		return t.Tx, nil
	default:
		return nil, fmt.Errorf("bus: no database/sql transaction behind %T", tx)
	}
}
