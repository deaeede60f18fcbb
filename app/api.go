package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/praxisbote/praxisbote/store"
	"github.com/praxisbote/praxisbote/store/sqlite"
)

// DeliveryView is a delivery as support staff see it: ids and states, no
// number and no name.
type DeliveryView struct {
	ID                int64  `json:"id"`
	Practice          string `json:"practice"`
	Appointment       string `json:"appointment"`
	Patient           string `json:"patient"`
	Channel           string `json:"channel"`
	Purpose           string `json:"purpose"`
	State             string `json:"state"`
	Reason            string `json:"reason,omitempty"`
	Attempts          int    `json:"attempts"`
	ProviderCode      string `json:"provider_code,omitempty"`
	ProviderMessageID string `json:"provider_message_id,omitempty"`
	ReplayCount       int    `json:"replay_count"`
	FallbackOf        int64  `json:"fallback_of,omitempty"`
	SentAt            string `json:"sent_at,omitempty"`
	DeliveredAt       string `json:"delivered_at,omitempty"`
	UpdatedAt         string `json:"updated_at"`
}

// FormatTime writes an instant in the practice zone, empty for zero.
func FormatTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format(time.RFC3339)
}

// DeliveryViews lists deliveries for people, newest first.
func (a *App) DeliveryViews(ctx context.Context, f sqlite.DeliveryFilter) ([]DeliveryView, error) {
	if f.PracticeID == "" {
		f.PracticeID = a.Cfg.Practice.ID
	}
	ds, err := a.Store.Deliveries(ctx, f)
	if err != nil {
		return nil, err
	}
	loc := a.Cfg.Location()
	out := []DeliveryView{}
	for _, d := range ds {
		v := DeliveryView{ID: d.ID, Practice: d.PracticeID, Channel: string(d.Channel), Purpose: string(d.Purpose), State: d.State, Reason: d.Reason,
			Attempts: d.Attempts, ProviderCode: d.ProviderCode, ProviderMessageID: d.ProviderMessageID, ReplayCount: d.ReplayCount, FallbackOf: d.FallbackOf,
			SentAt: FormatTime(d.SentAt, loc), DeliveredAt: FormatTime(d.DeliveredAt, loc), UpdatedAt: FormatTime(d.UpdatedAt, loc)}
		if d.AppointmentID != 0 {
			appt, err := a.Store.Appointment(ctx, d.AppointmentID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			v.Appointment, v.Patient = appt.ExternalID, appt.PatientExt
		}
		out = append(out, v)
	}
	return out, nil
}

// InboxView is a message in the staff inbox.
type InboxView struct {
	ID         int64  `json:"id"`
	Channel    string `json:"channel"`
	ReceivedAt string `json:"received_at"`
	Type       string `json:"type"`
	Text       string `json:"text"`
	Intent     string `json:"intent"`
	Patient    string `json:"patient,omitempty"`
}

// InboxViews lists the staff inbox with the patient resolved where the
// number is known (a shared family number shows no patient).
func (a *App) InboxViews(ctx context.Context) ([]InboxView, error) {
	msgs, err := a.Store.Inbox(ctx, a.Cfg.Practice.ID)
	if err != nil {
		return nil, err
	}
	out := []InboxView{}
	for _, m := range msgs {
		v := InboxView{ID: m.ID, Channel: string(m.Channel), ReceivedAt: FormatTime(m.ReceivedAt, a.Cfg.Location()), Type: m.Type, Text: m.Body, Intent: m.Intent}
		if m.PatientID != 0 {
			if p, err := a.Store.Patient(ctx, m.PatientID); err == nil {
				v.Patient = p.PatientRef.ExternalID + " " + p.FamilyName + ", " + p.GivenName
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// apiToken reads the support API token from PRAXISBOTE_API_TOKEN or from
// a 0600 file in the data dir, created on first use.
func apiToken(dir string) (string, error) {
	if v := os.Getenv("PRAXISBOTE_API_TOKEN"); v != "" {
		return v, nil
	}
	p := filepath.Join(dir, "api.token")
	if b, err := os.ReadFile(p); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	s := hex.EncodeToString(buf)
	if err := os.WriteFile(p, []byte(s+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("api token: %w", err)
	}
	return s, nil
}

// APIToken is the bearer token of the support API.
func (a *App) APIToken() string { return a.apiToken }

// authorized checks the bearer token in constant time (over digests, so
// not even the length leaks).
func (a *App) authorized(r *http.Request) bool {
	got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(a.apiToken))
	return a.apiToken != "" && subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

func (a *App) api(h func(w http.ResponseWriter, r *http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !a.authorized(r) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		v, err := h(w, r)
		if err != nil {
			var bad badRequest
			if errors.As(err, &bad) {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			a.Log.Error("api", "path", r.URL.Path, "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
}

type badRequest struct{ error }

// registerAPI adds the support API: the same operations as the CLI.
func (a *App) registerAPI(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/deliveries", a.api(func(w http.ResponseWriter, r *http.Request) (any, error) {
		f := sqlite.DeliveryFilter{PracticeID: r.URL.Query().Get("practice")}
		if s := r.URL.Query().Get("status"); s != "" {
			f.States = []string{s}
		}
		return a.DeliveryViews(r.Context(), f)
	}))
	mux.HandleFunc("POST /api/deliveries/replay", a.api(func(w http.ResponseWriter, r *http.Request) (any, error) {
		var req struct {
			IDs   []int64 `json:"ids"`
			Dead  bool    `json:"dead"`
			Since string  `json:"since"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return nil, badRequest{fmt.Errorf("body: %w", err)}
		}
		if (len(req.IDs) == 0) == !req.Dead {
			return nil, badRequest{errors.New(`give either "ids" or "dead": true`)}
		}
		ids := req.IDs
		if req.Dead {
			var from time.Time
			if req.Since != "" {
				d, err := time.ParseDuration(req.Since)
				if err != nil {
					return nil, badRequest{fmt.Errorf("since: %w", err)}
				}
				from = time.Now().Add(-d)
			}
			var err error
			if ids, err = a.DeadSince(r.Context(), from); err != nil {
				return nil, err
			}
		}
		return a.Replay(r.Context(), ids)
	}))
	mux.HandleFunc("GET /api/inbox", a.api(func(w http.ResponseWriter, r *http.Request) (any, error) {
		return a.InboxViews(r.Context())
	}))
	mux.HandleFunc("GET /api/consent/verify", a.api(func(w http.ResponseWriter, r *http.Request) (any, error) {
		return a.VerifyConsent(r.Context(), a.Cfg.Practice.ID)
	}))
	mux.HandleFunc("GET /api/ingest", a.api(func(w http.ResponseWriter, r *http.Request) (any, error) {
		return a.Store.IngestLog(r.Context(), a.Cfg.Practice.ID)
	}))
}
