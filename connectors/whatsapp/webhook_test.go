package whatsapp_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"
	_ "time/tzdata" // the expected values are Berlin times; do not depend on the host's zoneinfo

	"github.com/stretchr/testify/require"

	"github.com/praxisbote/praxisbote/connectors/provider"
	"github.com/praxisbote/praxisbote/connectors/whatsapp"
)

const fixtureDir = "../../fixtures/webhooks/360dialog"

// Provider message ids of the seeded outbound deliveries (cases README).
const (
	w1 = "wamid.HBgMNDkxNzEzOTIwMDA2FQIAERgSNUZBNTc0RjcyNkU5NDI1NDU2AA=="
	w2 = "wamid.HBgMNDkxNzEzOTIwMDAxFQIAERgSQTEyNTkxNjgzQUNGMjE3QzM0AA=="
	w3 = "wamid.HBgNNDkxNzYwNDA2OTAyMBUCABEYEjE3QzUyNDUyQzFGRDg5Rjg1QQA="
	w4 = "wamid.HBgMNDkxNzEzOTIwMDA1FQIAERgSQ0UwOTMwNDUxOTRFN0JBQzY1AA=="
	w5 = "wamid.HBgMNDkxNzEzOTIwMDA3FQIAERgSRTc5NjkwRjlGMEUzMjdERUEyAA=="

	pnid = "115200000000001"
)

func berlin(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	return loc
}

// at turns an expected RFC 3339 value into the UTC instant ParseWebhook returns.
func at(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return ts.UTC()
}

func TestParseWebhookFixtures(t *testing.T) {
	t.Parallel()
	type want struct {
		statuses []whatsapp.Status
		messages []whatsapp.InboundMessage
		berlin   []string // every timestamp, statuses first, as RFC 3339 in Europe/Berlin
	}
	st := func(id, status, ts, rcpt string) whatsapp.Status {
		return whatsapp.Status{MessageID: id, Status: status, Timestamp: at(t, ts), RecipientID: rcpt, PhoneNumberID: pnid}
	}
	tests := map[string]want{
		"status_sent.json": {
			statuses: []whatsapp.Status{st(w1, "sent", "2027-01-11T13:00:01+01:00", "491713920006")},
			berlin:   []string{"2027-01-11T13:00:01+01:00"},
		},
		"status_delivered.json": {
			statuses: []whatsapp.Status{st(w1, "delivered", "2027-01-11T13:00:03+01:00", "491713920006")},
			berlin:   []string{"2027-01-11T13:00:03+01:00"},
		},
		"status_read.json": {
			statuses: []whatsapp.Status{st(w1, "read", "2027-01-11T13:05:20+01:00", "491713920006")},
			berlin:   []string{"2027-01-11T13:05:20+01:00"},
		},
		"status_order_1_read_arrives_first.json": {
			statuses: []whatsapp.Status{st(w5, "read", "2027-01-11T13:30:40+01:00", "491713920007")},
			berlin:   []string{"2027-01-11T13:30:40+01:00"},
		},
		"status_order_2_delivered_arrives_second.json": {
			statuses: []whatsapp.Status{st(w5, "delivered", "2027-01-11T13:30:38+01:00", "491713920007")},
			berlin:   []string{"2027-01-11T13:30:38+01:00"},
		},
		"status_batch_two_statuses.json": {
			statuses: []whatsapp.Status{
				st(w2, "delivered", "2027-01-09T13:00:06+01:00", "491713920001"),
				st(w3, "read", "2027-01-31T18:43:55+01:00", "4917604069020"),
			},
			berlin: []string{"2027-01-09T13:00:06+01:00", "2027-01-31T18:43:55+01:00"},
		},
		"status_failed_131026.json": {
			statuses: []whatsapp.Status{func() whatsapp.Status {
				s := st(w4, "failed", "2027-01-10T13:00:04+01:00", "491713920005")
				s.ErrorCode = 131026
				s.ErrorTitle = "Message undeliverable"
				return s
			}()},
			berlin: []string{"2027-01-10T13:00:04+01:00"},
		},
		"inbound_text_ja.json": {
			messages: []whatsapp.InboundMessage{{
				ID:   "wamid.HBgMNDkxNzEzOTIwMDA2FQIAEhgUMjczOERCNkU2Q0Q1NENBRUQ4NkYA",
				From: "491713920006", Timestamp: at(t, "2027-01-11T13:07:41+01:00"),
				Type: "text", Text: "Ja", ProfileName: "Erika", PhoneNumberID: pnid,
			}},
			berlin: []string{"2027-01-11T13:07:41+01:00"},
		},
		"inbound_text_stopp.json": {
			messages: []whatsapp.InboundMessage{{
				ID:   "wamid.HBgMNDkxNzEzOTIwMDA2FQIAEhgUN0UxQ0UzMTQyRTJEOEFBRDc2RjcA",
				From: "491713920006", Timestamp: at(t, "2027-01-11T13:09:12+01:00"),
				Type: "text", Text: "STOPP", ProfileName: "Erika", PhoneNumberID: pnid,
			}},
			berlin: []string{"2027-01-11T13:09:12+01:00"},
		},
		"inbound_button_confirm.json": {
			messages: []whatsapp.InboundMessage{{
				ID:   "wamid.HBgMNDkxNzEzOTIwMDAxFQIAEhgUODkxRkI2QzQxMDc3MEJGRTg0MEYA",
				From: "491713920001", Timestamp: at(t, "2027-01-09T13:21:05+01:00"),
				Type: "button", ButtonPayload: "CONFIRM:apt-10001-20270111T0800", ButtonText: "Termin bestätigen",
				ContextID: w2, ProfileName: "Jürgen M.", PhoneNumberID: pnid,
			}},
			berlin: []string{"2027-01-09T13:21:05+01:00"},
		},
		"inbound_interactive_button_reply.json": {
			messages: []whatsapp.InboundMessage{{
				ID:   "wamid.HBgNNDkxNzYwNDA2OTAyMBUCABIYFEQ0NTM1Q0ExRDVEOThCQUFBMTgzAA==",
				From: "4917604069020", Timestamp: at(t, "2027-01-31T18:44:30+01:00"),
				Type: "interactive", InteractiveReplyID: "CANCEL:apt-10020-20270202T1530", InteractiveReplyTitle: "Termin absagen",
				ContextID: w3, ProfileName: "Anja", PhoneNumberID: pnid,
			}},
			berlin: []string{"2027-01-31T18:44:30+01:00"},
		},
		"inbound_optin_anmelden.json": {
			messages: []whatsapp.InboundMessage{{
				ID:   "wamid.HBgMNDkxNzEzOTIwMDAyFQIAEhgUQzE2MkUwQjA5RkI4OUY0MjgzNEEA",
				From: "491713920002", Timestamp: at(t, "2027-01-08T10:02:17+01:00"),
				Type: "text", Text: "Anmelden PRAXIS-7F3K", ProfileName: "Käthe W.", PhoneNumberID: pnid,
			}},
			berlin: []string{"2027-01-08T10:02:17+01:00"},
		},
		"inbound_reaction.json": {
			messages: []whatsapp.InboundMessage{{
				ID:   "wamid.HBgMNDkxNzEzOTIwMDA3FQIAEhgUQTg3REJCRTFFMTFEQTEwQ0I3QTcA",
				From: "491713920007", Timestamp: at(t, "2027-01-11T13:31:02+01:00"),
				Type: "reaction", ReactionEmoji: "\U0001F44D", ReactionMessageID: w5,
				ProfileName: "Zo\u00e9", PhoneNumberID: pnid,
			}},
			berlin: []string{"2027-01-11T13:31:02+01:00"},
		},
	}

	// Every fixture must have expectations: a new file without a table row
	// fails here instead of silently going untested.
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	require.NoError(t, err)
	require.Len(t, files, len(tests))
	loc := berlin(t)

	for _, f := range files {
		name := filepath.Base(f)
		w, ok := tests[name]
		require.True(t, ok, "no expectations for %s", name)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			body, err := os.ReadFile(f)
			require.NoError(t, err)
			n, err := whatsapp.ParseWebhook(body)
			require.NoError(t, err)
			require.Equal(t, w.statuses, n.Statuses)
			require.Equal(t, w.messages, n.Messages)
			require.Empty(t, n.Errors)
			var got []string
			for _, s := range n.Statuses {
				got = append(got, s.Timestamp.In(loc).Format(time.RFC3339))
			}
			for _, m := range n.Messages {
				got = append(got, m.Timestamp.In(loc).Format(time.RFC3339))
			}
			require.Equal(t, w.berlin, got)
		})
	}
}

func TestStatusErrAndE164(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile(filepath.Join(fixtureDir, "status_failed_131026.json"))
	require.NoError(t, err)
	n, err := whatsapp.ParseWebhook(body)
	require.NoError(t, err)
	require.Len(t, n.Statuses, 1)
	s := n.Statuses[0]
	require.Equal(t, "+491713920005", s.RecipientE164())
	serr := s.Err()
	require.Error(t, serr)
	require.Equal(t, provider.Permanent, provider.KindOf(serr))
	var pe *provider.Error
	require.ErrorAs(t, serr, &pe)
	require.Equal(t, "131026", pe.Code)

	tests := []struct {
		name string
		s    whatsapp.Status
		kind provider.Kind
		ok   bool
	}{
		{"delivered has no error", whatsapp.Status{Status: "delivered"}, 0, true},
		{"131047 needs template", whatsapp.Status{Status: "failed", ErrorCode: 131047}, provider.NeedsTemplate, false},
		{"132015 channel wide", whatsapp.Status{Status: "failed", ErrorCode: 132015}, provider.ChannelWide, false},
		{"130429 transient", whatsapp.Status{Status: "failed", ErrorCode: 130429}, provider.Transient, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.s.Err()
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Equal(t, tt.kind, provider.KindOf(err))
		})
	}
	require.Equal(t, "+4917604069020", whatsapp.InboundMessage{From: "4917604069020"}.FromE164())
	require.Empty(t, whatsapp.InboundMessage{}.FromE164())
}

func TestParseWebhookVariants(t *testing.T) {
	t.Parallel()
	wrap := func(value string) string {
		return `{"object":"whatsapp_business_account","entry":[{"id":"102300000000001","changes":[{"value":` + value + `,"field":"messages"}]}]}`
	}
	meta := `"messaging_product":"whatsapp","metadata":{"display_phone_number":"493023125100","phone_number_id":"115200000000001"}`
	msg := func(typ, extra string) string {
		return wrap(`{` + meta + `,"contacts":[{"profile":{"name":"X"},"wa_id":"491713920009"}],"messages":[{"from":"491713920009","id":"wamid.X","timestamp":"1799669261","type":"` + typ + `"` + extra + `}]}`)
	}
	tests := []struct {
		name     string
		body     string
		wantErr  bool
		wantType string
		check    func(t *testing.T, n whatsapp.Notification)
	}{
		{name: "sticker", body: msg("sticker", `,"sticker":{"id":"123","mime_type":"image/webp","animated":false}`), wantType: "sticker"},
		{name: "image with caption", body: msg("image", `,"image":{"id":"1","caption":"Röntgen?","mime_type":"image/jpeg"}`), wantType: "image"},
		{name: "location", body: msg("location", `,"location":{"latitude":52.5,"longitude":13.4}`), wantType: "location"},
		{name: "future type", body: msg("hologram", `,"hologram":{"depth":3}`), wantType: "hologram"},
		{name: "unsupported", body: msg("unsupported", `,"errors":[{"code":131051,"title":"Message type unknown"}]`), wantType: "unsupported"},
		{
			name: "list reply", body: msg("interactive", `,"interactive":{"type":"list_reply","list_reply":{"id":"SLOT:1","title":"Di 10:00","description":"x"}}`),
			wantType: "interactive",
			check: func(t *testing.T, n whatsapp.Notification) {
				require.Equal(t, "SLOT:1", n.Messages[0].InteractiveReplyID)
				require.Equal(t, "Di 10:00", n.Messages[0].InteractiveReplyTitle)
			},
		},
		{
			name: "reaction removed", body: msg("reaction", `,"reaction":{"message_id":"wamid.Y","emoji":""}`),
			wantType: "reaction",
			check: func(t *testing.T, n whatsapp.Notification) {
				require.Equal(t, "wamid.Y", n.Messages[0].ReactionMessageID)
				require.Empty(t, n.Messages[0].ReactionEmoji)
			},
		},
		{
			name: "value errors",
			body: wrap(`{` + meta + `,"errors":[{"code":131000,"title":"Something went wrong","message":"Something went wrong","error_data":{"details":"x"}}]}`),
			check: func(t *testing.T, n whatsapp.Notification) {
				require.Equal(t, []whatsapp.WebhookError{{Code: 131000, Title: "Something went wrong", Message: "Something went wrong", Details: "x"}}, n.Errors)
			},
		},
		{
			name: "template status change is skipped",
			body: `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"value":{"event":"PAUSED","message_template_id":1},"field":"message_template_status_update"}]}]}`,
			check: func(t *testing.T, n whatsapp.Notification) {
				require.Empty(t, n.Statuses)
				require.Empty(t, n.Messages)
			},
		},
		{name: "not whatsapp", body: `{"object":"page","entry":[]}`, wantErr: true},
		{name: "invalid json", body: `{"object":`, wantErr: true},
		{name: "bad timestamp", body: wrap(`{` + meta + `,"statuses":[{"id":"wamid.Z","status":"sent","timestamp":"yesterday","recipient_id":"49"}]}`), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n, err := whatsapp.ParseWebhook([]byte(tt.body))
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			if tt.wantType != "" {
				require.Len(t, n.Messages, 1)
				m := n.Messages[0]
				require.Equal(t, tt.wantType, m.Type)
				require.Equal(t, "wamid.X", m.ID)
				require.Equal(t, "491713920009", m.From)
				require.Equal(t, "X", m.ProfileName)
				require.Equal(t, int64(1799669261), m.Timestamp.Unix())
			}
			if tt.check != nil {
				tt.check(t, n)
			}
		})
	}
	_, err := whatsapp.ParseWebhook([]byte(`{"object":"page"}`))
	require.ErrorIs(t, err, whatsapp.ErrNotWhatsApp)
}
