package inbound

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDetect(t *testing.T) {
	t.Parallel()
	cases := map[string]Intent{
		"Ja": IntentConfirm, "ja!": IntentConfirm, " 1 ": IntentConfirm, "Termin bestätigen": IntentConfirm, "JA 👍": IntentConfirm,
		"2": IntentCancel, "Nein": IntentCancel, "absagen": IntentCancel,
		"STOP": IntentStop, "STOPP": IntentStop, "Stopp.": IntentStop, "stop bitte": IntentStop, "Abmelden": IntentStop, "🛑 STOP 🛑": IntentStop,
		"Anmelden PRAXIS-7F3K": IntentOptIn, "anmelden praxis-7f3k": IntentOptIn,
		"Anmelden PRAXIS-0000": IntentUnknown, "Anmelden": IntentUnknown,
		"Kann ich auch um 10 kommen?": IntentUnknown, "👍": IntentNone, "verschieben": IntentReschedule,
	}
	for text, want := range cases {
		t.Run(text, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, want, Detect(text, "PRAXIS-7F3K"))
		})
	}
}

func TestPayload(t *testing.T) {
	t.Parallel()
	in, ref := Payload("CONFIRM:apt-10001-20270111T0800")
	require.Equal(t, IntentConfirm, in)
	require.Equal(t, "apt-10001-20270111T0800", ref)
	in, ref = Payload("CANCEL:apt-10020-20270202T1530")
	require.Equal(t, IntentCancel, in)
	require.Equal(t, "apt-10020-20270202T1530", ref)
	in, _ = Payload("whatever")
	require.Equal(t, IntentUnknown, in)
}
