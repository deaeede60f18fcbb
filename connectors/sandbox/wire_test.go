package sandbox

import (
	"os"
	"path/filepath"
	"testing"
	"time"
	_ "time/tzdata" // seven.io bodies are Berlin wall-clock time

	"github.com/stretchr/testify/require"
)

// The emulator must post exactly what the real providers post. These tests
// rebuild the fixture bodies (real webhook captures) from their values and
// compare bytes.

const (
	w1 = "wamid.HBgMNDkxNzEzOTIwMDA2FQIAERgSNUZBNTc0RjcyNkU5NDI1NDU2AA=="
	w2 = "wamid.HBgMNDkxNzEzOTIwMDAxFQIAERgSQTEyNTkxNjgzQUNGMjE3QzM0AA=="
	w4 = "wamid.HBgMNDkxNzEzOTIwMDA1FQIAERgSQ0UwOTMwNDUxOTRFN0JBQzY1AA=="
	w5 = "wamid.HBgMNDkxNzEzOTIwMDA3FQIAERgSRTc5NjkwRjlGMEUzMjdERUEyAA=="
)

func fixture(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../fixtures/webhooks", rel))
	require.NoError(t, err)
	return b
}

func TestWhatsAppBodiesMatchFixtures(t *testing.T) {
	t.Parallel()
	s := New(Options{})
	unix := func(sec int64) time.Time { return time.Unix(sec, 0) }
	tests := []struct {
		file  string
		build func() []byte
	}{
		{"360dialog/status_sent.json", func() []byte {
			return s.statusBody(w1, "sent", unix(1799668801), "491713920006", "utility", 0)
		}},
		{"360dialog/status_delivered.json", func() []byte {
			return s.statusBody(w1, "delivered", unix(1799668803), "491713920006", "utility", 0)
		}},
		{"360dialog/status_read.json", func() []byte {
			return s.statusBody(w1, "read", unix(1799669120), "491713920006", "utility", 0)
		}},
		{"360dialog/status_order_1_read_arrives_first.json", func() []byte {
			return s.statusBody(w5, "read", unix(1799670640), "491713920007", "utility", 0)
		}},
		{"360dialog/status_order_2_delivered_arrives_second.json", func() []byte {
			return s.statusBody(w5, "delivered", unix(1799670638), "491713920007", "utility", 0)
		}},
		{"360dialog/status_failed_131026.json", func() []byte {
			return s.statusBody(w4, "failed", unix(1799582404), "491713920005", "utility", 131026)
		}},
		{"360dialog/inbound_text_ja.json", func() []byte {
			return s.inboundBody(waInbound{From: "491713920006", ID: "wamid.HBgMNDkxNzEzOTIwMDA2FQIAEhgUMjczOERCNkU2Q0Q1NENBRUQ4NkYA",
				Timestamp: "1799669261", Type: "text", Text: &waText{Body: "Ja"}}, "Erika")
		}},
		{"360dialog/inbound_text_stopp.json", func() []byte {
			return s.inboundBody(waInbound{From: "491713920006", ID: "wamid.HBgMNDkxNzEzOTIwMDA2FQIAEhgUN0UxQ0UzMTQyRTJEOEFBRDc2RjcA",
				Timestamp: "1799669352", Type: "text", Text: &waText{Body: "STOPP"}}, "Erika")
		}},
		{"360dialog/inbound_optin_anmelden.json", func() []byte {
			return s.inboundBody(waInbound{From: "491713920002", ID: "wamid.HBgMNDkxNzEzOTIwMDAyFQIAEhgUQzE2MkUwQjA5RkI4OUY0MjgzNEEA",
				Timestamp: "1799398937", Type: "text", Text: &waText{Body: "Anmelden PRAXIS-7F3K"}}, "Käthe W.")
		}},
		{"360dialog/inbound_button_confirm.json", func() []byte {
			return s.inboundBody(waInbound{From: "491713920001", ID: "wamid.HBgMNDkxNzEzOTIwMDAxFQIAEhgUODkxRkI2QzQxMDc3MEJGRTg0MEYA",
				Timestamp: "1799497265", Context: &waContext{From: "493023125100", ID: w2}, Type: "button",
				Button: &waButton{Payload: "CONFIRM:apt-10001-20270111T0800", Text: "Termin bestätigen"}}, "Jürgen M.")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, string(fixture(t, tt.file)), string(tt.build()))
		})
	}
}

func TestSevenBodiesMatchFixtures(t *testing.T) {
	t.Parallel()
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	s := New(Options{Location: loc})
	local := func(v string) time.Time {
		ts, err := time.ParseInLocation("2006-01-02 15:04:05", v, loc)
		require.NoError(t, err)
		return ts
	}
	tests := []struct {
		file  string
		build func() []byte
	}{
		{"seven/dlr_delivered.json", func() []byte {
			return s.dlrBody("77100000001", "DELIVERED", local("2027-01-10 13:02:19"), local("2027-01-10 13:02:20"))
		}},
		{"seven/dlr_notdelivered.json", func() []byte {
			return s.dlrBody("77100000002", "NOTDELIVERED", local("2027-01-11 09:15:47"), local("2027-01-11 09:15:48"))
		}},
		{"seven/sms_mo_1.json", func() []byte {
			return s.moBody("9100001", "491713920005", "1", time.Unix(1799584811, 0), local("2027-01-10 13:40:12"))
		}},
		{"seven/sms_mo_stop.json", func() []byte {
			return s.moBody("9100002", "491713920005", "STOP", time.Unix(1799656202, 0), local("2027-01-11 09:30:03"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, string(fixture(t, tt.file)), string(tt.build()))
		})
	}
}

func TestHelpers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, got, want string
	}{
		{"last digits", lastDigits("491713920006"), "…006"},
		{"last digits short", lastDigits("12"), "…"},
		{"redact token", redactURL("https://user:pw@praxis.example/hooks/seven?token=abc#x"), "https://praxis.example/hooks/seven"},
		{"redact empty", redactURL(""), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, tt.got)
		})
	}
	s := New(Options{})
	seen := map[string]bool{}
	for range 1000 {
		id := s.newWamid("491713920006")
		require.Regexp(t, `^wamid\.[A-Za-z0-9+/=]+$`, id)
		require.False(t, seen[id], "duplicate wamid")
		seen[id] = true
	}
}
