package app

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/praxisbote/praxisbote/store"
	"github.com/praxisbote/praxisbote/store/sqlite"
)

// ReplayResult says what a replay did with one delivery.
type ReplayResult struct {
	DeliveryID int64  `json:"delivery_id"`
	Queued     bool   `json:"queued"`
	Reason     string `json:"reason,omitempty"`
}

// Replay queues failed or dead deliveries again. Consent and the
// appointment are checked again when delivery handles them; a delivery the
// provider accepted (it has a provider message id) is never sent again.
func (a *App) Replay(ctx context.Context, ids []int64) ([]ReplayResult, error) {
	var out []ReplayResult
	for _, id := range ids {
		r := ReplayResult{DeliveryID: id}
		err := a.Store.Tx(ctx, func(q *sqlite.Q, tx *sql.Tx) error {
			d, err := q.Delivery(ctx, id)
			if err == store.ErrNotFound {
				r.Reason = "no such delivery"
				return nil
			}
			if err != nil {
				return err
			}
			if d.ProviderMessageID != "" {
				r.Reason = "the provider accepted it already (" + d.State + "); not sent twice"
				return nil
			}
			ok, err := q.ResetForReplay(ctx, id)
			if err != nil {
				return err
			}
			if !ok {
				r.Reason = "state " + d.State + " is not failed or dead"
				return nil
			}
			r.Queued = true
			return a.publishTx(tx, TopicDeliveryRequested, deliveryRequested{DeliveryID: id})
		})
		if err != nil {
			return out, fmt.Errorf("replay %d: %w", id, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// DeadSince lists the ids of dead deliveries that ended after since (zero:
// all).
func (a *App) DeadSince(ctx context.Context, since time.Time) ([]int64, error) {
	list, err := a.Store.Deliveries(ctx, sqlite.DeliveryFilter{PracticeID: a.Cfg.Practice.ID, States: []string{store.DeliveryDead}})
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, d := range list {
		if since.IsZero() || !d.UpdatedAt.Before(since) {
			ids = append(ids, d.ID)
		}
	}
	return ids, nil
}

// ChainReport is the outcome of checking a practice's consent ledger.
type ChainReport struct {
	PracticeID string   `json:"practice_id"`
	Events     int      `json:"events"`
	Head       string   `json:"head"`
	OK         bool     `json:"ok"`
	Problems   []string `json:"problems"`
}

// VerifyConsent recomputes every hash of the practice's consent chain and
// checks each link. An edited event breaks its own hash; a deleted or
// reordered one breaks the next link. Head is the newest hash: recorded
// outside the database (printed, in the audit file), it also exposes a
// deleted tail.
func (a *App) VerifyConsent(ctx context.Context, practice string) (ChainReport, error) {
	rep := ChainReport{PracticeID: practice, Problems: []string{}}
	chain, err := a.Store.ConsentChain(ctx, practice)
	if err != nil {
		return rep, err
	}
	prev := ""
	for _, e := range chain {
		if e.PrevHash != prev {
			rep.Problems = append(rep.Problems, fmt.Sprintf("event %d: does not follow the event before it (an event was deleted, inserted or reordered)", e.ID))
		}
		if got := sqlite.ConsentHash(e); got != e.Hash {
			rep.Problems = append(rep.Problems, fmt.Sprintf("event %d: content does not match its hash (edited)", e.ID))
		}
		prev = e.Hash
	}
	rep.Events = len(chain)
	rep.Head = prev
	n, head, err := a.Store.ConsentHead(ctx, practice)
	if err != nil {
		return rep, err
	}
	if n != len(chain) || head != prev {
		rep.Problems = append(rep.Problems, fmt.Sprintf("the chain has %d events ending in %.12s, but %d ending in %.12s were recorded (events deleted or added at the end)",
			len(chain), prev, n, head))
	}
	rep.OK = len(rep.Problems) == 0
	return rep, nil
}
