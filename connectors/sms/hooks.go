package sms

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/praxisbote/praxisbote/connectors/provider"
)

// Hook is one seven.io webhook POST. Exactly one of DLR and Inbound is set
// for the events "dlr" and "sms_mo"; other events (voice, tracking, ...)
// come back with only Event set so the handler can acknowledge and ignore
// them.
type Hook struct {
	Event     string    // webhook_event
	WebhookAt time.Time // webhook_timestamp; zero if absent
	DLR       *DLR
	Inbound   *Inbound
}

// DLR is a delivery report for an SMS we sent.
type DLR struct {
	MessageID string    // msg_id, as returned by Send
	Status    string    // seven.io's value: DELIVERED, NOTDELIVERED, BUFFERED, ...
	At        time.Time // data.timestamp, read as practice-local time
}

// DeliveryState is the provider-neutral meaning of a DLR status.
type DeliveryState string

// Delivery states.
const (
	StateDelivered DeliveryState = "delivered"
	StateFailed    DeliveryState = "failed"
	StatePending   DeliveryState = "pending" // accepted, buffered, transmitted: wait for more
	StateUnknown   DeliveryState = "unknown"
)

// State maps seven.io's status to a DeliveryState.
func (d DLR) State() DeliveryState {
	switch strings.ToUpper(d.Status) {
	case "DELIVERED":
		return StateDelivered
	case "NOTDELIVERED", "EXPIRED", "REJECTED", "FAILED":
		return StateFailed
	case "ACCEPTED", "BUFFERED", "TRANSMITTED":
		return StatePending
	default:
		return StateUnknown
	}
}

// Err returns nil unless the report says the SMS failed. A failed SMS is
// Permanent: the network already tried, and repeating the same text to the
// same number has no better chance but costs money.
func (d DLR) Err() error {
	if d.State() != StateFailed {
		return nil
	}
	return &provider.Error{Provider: ProviderName, Op: "dlr", Kind: provider.Permanent,
		Code: d.Status, Message: "SMS not delivered"}
}

// Inbound is an SMS a patient sent to our seven.io inbound number.
type Inbound struct {
	ID     string    // seven.io's id of the inbound SMS
	Sender string    // patient's number, international digits without '+'
	System string    // our inbound number, digits without '+'
	Text   string    // message text
	At     time.Time // data.time (Unix seconds)
}

// SenderE164 returns the sender with a leading '+'. seven.io numbers are
// already international; a national German parse of "4917..." would yield
// a wrong but "valid" landline.
func (i Inbound) SenderE164() string {
	if i.Sender == "" {
		return ""
	}
	return "+" + strings.TrimPrefix(i.Sender, "+")
}

type hookWire struct {
	WebhookEvent     string `json:"webhook_event"`
	WebhookTimestamp string `json:"webhook_timestamp"`
	Data             struct {
		// dlr
		MsgID     flexString `json:"msg_id"`
		Status    string     `json:"status"`
		Timestamp string     `json:"timestamp"`
		// sms_mo
		ID     flexString `json:"id"`
		Sender string     `json:"sender"`
		System string     `json:"system"`
		Text   string     `json:"text"`
		Time   flexString `json:"time"`
	} `json:"data"`
}

// ParseHook decodes a seven.io webhook body. loc is the practice time zone:
// seven.io writes data.timestamp (and sometimes webhook_timestamp) as local
// wall-clock time without an offset.
func ParseHook(body []byte, loc *time.Location) (Hook, error) {
	if loc == nil {
		return Hook{}, errors.New("sms: ParseHook needs a time zone")
	}
	var w hookWire
	if err := json.Unmarshal(body, &w); err != nil {
		return Hook{}, fmt.Errorf("sms: decode hook: %w", err)
	}
	if w.WebhookEvent == "" {
		return Hook{}, errors.New("sms: hook without webhook_event")
	}
	h := Hook{Event: w.WebhookEvent}
	if w.WebhookTimestamp != "" {
		// Informational only; a format we do not know must not lose the hook.
		h.WebhookAt, _ = parseTimestamp(w.WebhookTimestamp, loc)
	}
	switch w.WebhookEvent {
	case "dlr":
		if w.Data.MsgID == "" {
			return Hook{}, errors.New("sms: dlr without msg_id")
		}
		at, err := parseTimestamp(w.Data.Timestamp, loc)
		if err != nil {
			return Hook{}, fmt.Errorf("sms: dlr %s: %w", w.Data.MsgID, err)
		}
		h.DLR = &DLR{MessageID: string(w.Data.MsgID), Status: w.Data.Status, At: at}
	case "sms_mo":
		secs, err := strconv.ParseInt(string(w.Data.Time), 10, 64)
		if err != nil {
			return Hook{}, fmt.Errorf("sms: sms_mo %s: bad time %q", w.Data.ID, w.Data.Time)
		}
		h.Inbound = &Inbound{
			ID:     string(w.Data.ID),
			Sender: w.Data.Sender,
			System: w.Data.System,
			Text:   w.Data.Text,
			At:     time.Unix(secs, 0).In(loc),
		}
	}
	return h, nil
}

// parseTimestamp reads RFC 3339 when an offset is given, else wall-clock
// time in loc ("2027-01-10 13:02:19.000000"; the fraction is optional).
func parseTimestamp(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.In(loc), nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return firstOccurrence(t), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad timestamp %q", s)
}

// firstOccurrence resolves a wall-clock time that occurs twice (the autumn
// hour) to its first occurrence, the project-wide rule (RFC 5545 §3.3.5).
// Go's time.Date may pick the second one. Spring-gap times need no help:
// Go already reads them with the offset before the gap.
func firstOccurrence(t time.Time) time.Time {
	_, off := t.Zone()
	_, offBefore := t.Add(-3 * time.Hour).Zone()
	if offBefore <= off {
		return t
	}
	cand := t.Add(-time.Duration(offBefore-off) * time.Second)
	y1, m1, d1 := t.Date()
	y2, m2, d2 := cand.Date()
	if y1 == y2 && m1 == m2 && d1 == d2 && t.Hour() == cand.Hour() && t.Minute() == cand.Minute() && t.Second() == cand.Second() {
		return cand
	}
	return t
}

// ErrUnauthenticated is wrapped by every AuthenticateHook failure.
var ErrUnauthenticated = errors.New("sms: hook not authenticated")

// AuthenticateHook checks the secret token we put into the hook URL when
// registering it with seven.io (…/hooks/seven?token=…). seven.io's own
// signature headers are not checked here. Keep the token out of access logs.
func AuthenticateHook(r *http.Request, token string) error {
	if token == "" {
		return errors.Join(ErrUnauthenticated, errors.New("no token configured"))
	}
	got := r.URL.Query().Get("token")
	if got == "" {
		return errors.Join(ErrUnauthenticated, errors.New("missing token"))
	}
	// Compare digests: ConstantTimeCompare leaks length differences.
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return errors.Join(ErrUnauthenticated, errors.New("wrong token"))
	}
	return nil
}
