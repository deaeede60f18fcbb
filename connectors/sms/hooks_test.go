package sms_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
	_ "time/tzdata" // Berlin expectations must not depend on host zoneinfo

	"github.com/stretchr/testify/require"

	"github.com/praxisbote/praxisbote/connectors/provider"
	"github.com/praxisbote/praxisbote/connectors/sms"
)

const fixtureDir = "../../fixtures/webhooks/seven"

func berlin(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	return loc
}

func rfc(t time.Time) string { return t.Format(time.RFC3339) }

func TestParseHookFixtures(t *testing.T) {
	t.Parallel()
	loc := berlin(t)
	type want struct {
		event     string
		webhookAt string
		dlr       *sms.DLR // At compared separately as RFC 3339
		dlrAt     string
		state     sms.DeliveryState
		kind      *provider.Kind // nil: DLR.Err must be nil
		inbound   *sms.Inbound
		inAt      string
		senderE   string
	}
	permanent := provider.Permanent
	tests := map[string]want{
		"dlr_delivered.json": {
			event: "dlr", webhookAt: "2027-01-10T13:02:20+01:00",
			dlr:   &sms.DLR{MessageID: "77100000001", Status: "DELIVERED"},
			dlrAt: "2027-01-10T13:02:19+01:00", state: sms.StateDelivered,
		},
		"dlr_notdelivered.json": {
			event: "dlr", webhookAt: "2027-01-11T09:15:48+01:00",
			dlr:   &sms.DLR{MessageID: "77100000002", Status: "NOTDELIVERED"},
			dlrAt: "2027-01-11T09:15:47+01:00", state: sms.StateFailed, kind: &permanent,
		},
		"sms_mo_1.json": {
			event: "sms_mo", webhookAt: "2027-01-10T13:40:12+01:00",
			inbound: &sms.Inbound{ID: "9100001", Sender: "491713920005", System: "4917604069099", Text: "1"},
			inAt:    "2027-01-10T13:40:11+01:00", senderE: "+491713920005",
		},
		"sms_mo_stop.json": {
			event: "sms_mo", webhookAt: "2027-01-11T09:30:03+01:00",
			inbound: &sms.Inbound{ID: "9100002", Sender: "491713920005", System: "4917604069099", Text: "STOP"},
			inAt:    "2027-01-11T09:30:02+01:00", senderE: "+491713920005",
		},
	}
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	require.NoError(t, err)
	require.Len(t, files, len(tests), "every fixture needs expectations")
	for _, f := range files {
		name := filepath.Base(f)
		w, ok := tests[name]
		require.True(t, ok, "no expectations for %s", name)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			body, err := os.ReadFile(f)
			require.NoError(t, err)
			h, err := sms.ParseHook(body, loc)
			require.NoError(t, err)
			require.Equal(t, w.event, h.Event)
			require.Equal(t, w.webhookAt, rfc(h.WebhookAt))
			if w.dlr == nil {
				require.Nil(t, h.DLR)
			} else {
				require.NotNil(t, h.DLR)
				require.Equal(t, w.dlr.MessageID, h.DLR.MessageID)
				require.Equal(t, w.dlr.Status, h.DLR.Status)
				require.Equal(t, w.dlrAt, rfc(h.DLR.At))
				require.Equal(t, w.state, h.DLR.State())
				if w.kind == nil {
					require.NoError(t, h.DLR.Err())
				} else {
					require.Error(t, h.DLR.Err())
					require.Equal(t, *w.kind, provider.KindOf(h.DLR.Err()))
				}
			}
			if w.inbound == nil {
				require.Nil(t, h.Inbound)
			} else {
				require.NotNil(t, h.Inbound)
				got := *h.Inbound
				require.Equal(t, w.inAt, rfc(got.At))
				got.At = time.Time{}
				require.Equal(t, *w.inbound, got)
				require.Equal(t, w.senderE, got.SenderE164())
			}
		})
	}
}

func TestParseHookEdgeCases(t *testing.T) {
	t.Parallel()
	loc := berlin(t)
	dlr := func(ts string) string {
		return `{"data":{"msg_id":77100000009,"status":"DELIVERED","timestamp":"` + ts + `"},"webhook_event":"dlr","webhook_timestamp":"garbage"}`
	}
	tests := []struct {
		name    string
		body    string
		wantErr bool
		wantAt  string
		wantEvt string
	}{
		{name: "numeric msg_id, no fraction", body: dlr("2027-01-10 13:02:19"), wantAt: "2027-01-10T13:02:19+01:00", wantEvt: "dlr"},
		{name: "summer time", body: dlr("2027-07-01 08:00:00.000000"), wantAt: "2027-07-01T08:00:00+02:00", wantEvt: "dlr"},
		{name: "spring gap reads with offset before the gap", body: dlr("2027-03-28 02:30:00"), wantAt: "2027-03-28T03:30:00+02:00", wantEvt: "dlr"},
		{name: "autumn double hour reads first occurrence", body: dlr("2027-10-31 02:30:00"), wantAt: "2027-10-31T02:30:00+02:00", wantEvt: "dlr"},
		{name: "after the double hour", body: dlr("2027-10-31 03:30:00"), wantAt: "2027-10-31T03:30:00+01:00", wantEvt: "dlr"},
		{name: "explicit offset", body: dlr("2027-01-10T12:02:19Z"), wantAt: "2027-01-10T13:02:19+01:00", wantEvt: "dlr"},
		{name: "other event passes", body: `{"data":{"id":"1"},"webhook_event":"voice_status","webhook_timestamp":"2027-01-10 13:40:12"}`, wantEvt: "voice_status"},
		{name: "bad dlr timestamp", body: dlr("yesterday"), wantErr: true},
		{name: "dlr without msg_id", body: `{"data":{"status":"DELIVERED","timestamp":"2027-01-10 13:02:19"},"webhook_event":"dlr"}`, wantErr: true},
		{name: "sms_mo bad time", body: `{"data":{"id":"1","sender":"49","text":"x","time":"soon"},"webhook_event":"sms_mo"}`, wantErr: true},
		{name: "no event", body: `{"data":{}}`, wantErr: true},
		{name: "not json", body: `token=abc`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := sms.ParseHook([]byte(tt.body), loc)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantEvt, h.Event)
			if tt.wantAt != "" {
				require.NotNil(t, h.DLR)
				require.Equal(t, "77100000009", h.DLR.MessageID)
				require.Equal(t, tt.wantAt, rfc(h.DLR.At))
				require.True(t, h.WebhookAt.IsZero(), "unparseable webhook_timestamp is dropped, not fatal")
			} else {
				require.Nil(t, h.DLR)
				require.Nil(t, h.Inbound)
			}
		})
	}
	_, err := sms.ParseHook([]byte(dlr("2027-01-10 13:02:19")), nil)
	require.Error(t, err, "a missing time zone must not silently become UTC")

	// sms_mo with a numeric time also parses.
	h, err := sms.ParseHook([]byte(`{"data":{"id":5,"sender":"491713920005","system":"4917604069099","text":"Ja","time":1799584811},"webhook_event":"sms_mo"}`), loc)
	require.NoError(t, err)
	require.Equal(t, "5", h.Inbound.ID)
	require.Equal(t, "2027-01-10T13:40:11+01:00", rfc(h.Inbound.At))
}

func TestDLRState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status string
		want   sms.DeliveryState
		failed bool
	}{
		{"DELIVERED", sms.StateDelivered, false},
		{"delivered", sms.StateDelivered, false},
		{"NOTDELIVERED", sms.StateFailed, true},
		{"EXPIRED", sms.StateFailed, true},
		{"REJECTED", sms.StateFailed, true},
		{"FAILED", sms.StateFailed, true},
		{"BUFFERED", sms.StatePending, false},
		{"TRANSMITTED", sms.StatePending, false},
		{"ACCEPTED", sms.StatePending, false},
		{"UNKNOWN", sms.StateUnknown, false},
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			t.Parallel()
			d := sms.DLR{Status: tt.status}
			require.Equal(t, tt.want, d.State())
			if tt.failed {
				require.Equal(t, provider.Permanent, provider.KindOf(d.Err()))
			} else {
				require.NoError(t, d.Err())
			}
		})
	}
}

func TestAuthenticateHook(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		url    string
		config string
		ok     bool
	}{
		{"ok", "/hooks/seven?token=t0ken-xyz", "t0ken-xyz", true},
		{"ok among other params", "/hooks/seven?a=1&token=t0ken-xyz", "t0ken-xyz", true},
		{"wrong", "/hooks/seven?token=t0ken-xy", "t0ken-xyz", false},
		{"missing", "/hooks/seven", "t0ken-xyz", false},
		{"empty", "/hooks/seven?token=", "t0ken-xyz", false},
		{"not configured", "/hooks/seven?token=", "", false},
		{"not configured, any token", "/hooks/seven?token=x", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, tt.url, nil)
			err := sms.AuthenticateHook(r, tt.config)
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, sms.ErrUnauthenticated)
		})
	}
}
