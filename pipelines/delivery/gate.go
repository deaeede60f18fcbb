// Package delivery decides whether, on which channel and with which
// template a message goes out, and sends it: the consent gate runs at send
// time, never earlier, so a withdrawal between scheduling and sending wins.
package delivery

import (
	"sort"
	"time"

	"github.com/praxisbote/praxisbote/schemas"
	"github.com/praxisbote/praxisbote/store"
)

// Consent is the outcome of the consent gate for one channel and purpose.
type Consent struct {
	Granted bool
	// Event is the deciding event; zero when none exists.
	Event store.ConsentRecord
}

// Decide applies the rule "current consent = the latest event per
// (subject, channel, purpose)" to a patient's history (events recorded for
// the patient and for the patient's numbers). Ties in time go to the event
// recorded later.
func Decide(history []store.ConsentRecord, ch schemas.Channel, purpose schemas.Purpose) Consent {
	events := append([]store.ConsentRecord(nil), history...)
	sort.SliceStable(events, func(i, j int) bool {
		if !events[i].OccurredAt.Equal(events[j].OccurredAt) {
			return events[i].OccurredAt.Before(events[j].OccurredAt)
		}
		return events[i].ID < events[j].ID
	})
	var out Consent
	for _, e := range events {
		if e.Channel != ch || !covers(e.Purposes, purpose) {
			continue
		}
		out = Consent{Granted: e.Action == schemas.ConsentGranted, Event: e}
	}
	return out
}

func covers(list []schemas.Purpose, p schemas.Purpose) bool {
	for _, x := range list {
		if x == p {
			return true
		}
	}
	return false
}

// Eligible reports why an appointment may not be reminded at send time.
func Eligible(a store.Appointment, now time.Time) (bool, string) {
	switch a.Status {
	case schemas.StatusCancelled, schemas.StatusCancelRequested, schemas.StatusNoShow:
		return false, "appointment is " + string(a.Status)
	}
	if !a.Start.After(now) {
		return false, "appointment already past"
	}
	return true, ""
}

// Choose picks the channel of a message at send time: the patient's
// preferred channel if the patient consented to it for this purpose, else
// another available channel with consent. ok is false when no available
// channel has consent: then nothing is sent.
func Choose(history []store.ConsentRecord, preferred schemas.Channel, purpose schemas.Purpose, available []schemas.Channel) (schemas.Channel, bool) {
	order := []schemas.Channel{preferred}
	for _, c := range available {
		if c != preferred {
			order = append(order, c)
		}
	}
	for _, c := range order {
		if has(available, c) && Decide(history, c, purpose).Granted {
			return c, true
		}
	}
	return "", false
}

// Fallback picks the channel to try after failed failed permanently for
// this message: another available channel with consent, never one without.
func Fallback(history []store.ConsentRecord, failed schemas.Channel, purpose schemas.Purpose, available []schemas.Channel) (schemas.Channel, bool) {
	for _, c := range available {
		if c != failed && Decide(history, c, purpose).Granted {
			return c, true
		}
	}
	return "", false
}

func has(list []schemas.Channel, c schemas.Channel) bool {
	for _, x := range list {
		if x == c {
			return true
		}
	}
	return false
}
