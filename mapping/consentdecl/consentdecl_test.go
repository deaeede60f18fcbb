package consentdecl

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/praxisbote/praxisbote/schemas"
)

var at = time.Date(2027, 1, 8, 19, 15, 30, 0, time.FixedZone("CET", 3600))

func form(text string, answers ...Answer) Form {
	return Form{PatientExternalID: "10006", Source: schemas.SourceAnamnesisForm, TextVersion: text, OccurredAt: at, Answers: answers}
}

func TestDefaultTextsExcludeRecall(t *testing.T) {
	t.Parallel()
	ps, ok := DefaultTexts().Purposes("EW-2026-11")
	require.True(t, ok)
	require.Equal(t, []schemas.Purpose{schemas.PurposeAppointmentReminder, schemas.PurposeAppointmentChange}, ps)
	require.NotContains(t, ps, schemas.PurposeRecall)
	require.NoError(t, DefaultTexts().Validate())
}

func TestPurposesReturnsCopy(t *testing.T) {
	t.Parallel()
	texts := DefaultTexts()
	ps, _ := texts.Purposes("EW-2026-11")
	ps[0] = schemas.PurposeRecall
	again, _ := texts.Purposes("EW-2026-11")
	require.Equal(t, schemas.PurposeAppointmentReminder, again[0])
}

func TestValidate(t *testing.T) {
	t.Parallel()
	require.Error(t, Texts{"X": {"marketing"}}.Validate())
	require.Error(t, Texts{"X": {}}.Validate())
	require.Error(t, Texts{" ": {schemas.PurposeRecall}}.Validate())
	require.Error(t, Words{Yes: []string{"ja"}, No: []string{"JA"}}.Validate())
	require.NoError(t, DefaultWords().Validate())
}

func TestWordsRead(t *testing.T) {
	t.Parallel()
	w := DefaultWords()
	for _, s := range []string{"ja", " JA ", "Yes", "1", "true"} {
		g, ok := w.Read(s)
		require.True(t, ok, s)
		require.True(t, g, s)
	}
	for _, s := range []string{"nein", "No", "0", "FALSE"} {
		g, ok := w.Read(s)
		require.True(t, ok, s)
		require.False(t, g, s)
	}
	for _, s := range []string{"", "vielleicht", "ja, aber"} {
		_, ok := w.Read(s)
		require.False(t, ok, s)
	}
}

func TestEventsGrantAndRefusal(t *testing.T) {
	t.Parallel()
	evs, probs := DefaultTexts().Events(form("EW-2026-11",
		Answer{Channel: schemas.ChannelWhatsApp, Granted: true, Line: 22, Evidence: "e-wa"},
		Answer{Channel: schemas.ChannelSMS, Granted: false, Line: 25, Evidence: "e-sms"},
	))
	require.Empty(t, probs)
	require.Len(t, evs, 2)
	require.Equal(t, schemas.ConsentGranted, evs[0].Action)
	require.Equal(t, schemas.ChannelWhatsApp, evs[0].Channel)
	require.Equal(t, "e-wa", evs[0].Evidence)
	require.Equal(t, 22, evs[0].Line)
	require.Equal(t, schemas.ConsentWithdrawn, evs[1].Action)
	require.Equal(t, at, evs[1].OccurredAt)
	require.Equal(t, evs[0].Purposes, evs[1].Purposes)
	// No shared backing array between events.
	evs[0].Purposes[0] = schemas.PurposeRecall
	require.Equal(t, schemas.PurposeAppointmentReminder, evs[1].Purposes[0])
}

func TestEventsUnknownOrMissingText(t *testing.T) {
	t.Parallel()
	for _, text := range []string{"EW-1999-01", ""} {
		evs, probs := DefaultTexts().Events(form(text,
			Answer{Channel: schemas.ChannelWhatsApp, Granted: true},
			Answer{Channel: schemas.ChannelSMS, Granted: false},
		))
		require.Len(t, probs, 1, text)
		require.Len(t, evs, 1, "only the refusal is recorded")
		require.Equal(t, schemas.ConsentWithdrawn, evs[0].Action)
		require.Equal(t, schemas.ChannelSMS, evs[0].Channel)
		require.Equal(t, schemas.Purposes, evs[0].Purposes)
	}
}

func TestEventsUndated(t *testing.T) {
	t.Parallel()
	f := form("EW-2026-11", Answer{Channel: schemas.ChannelWhatsApp, Granted: true})
	f.OccurredAt = time.Time{}
	evs, probs := DefaultTexts().Events(f)
	require.Empty(t, evs)
	require.Len(t, probs, 1)
}

func TestEventsConflictAndRepeat(t *testing.T) {
	t.Parallel()
	evs, probs := DefaultTexts().Events(form("EW-2026-11",
		Answer{Channel: schemas.ChannelWhatsApp, Granted: true, Evidence: "first"},
		Answer{Channel: schemas.ChannelSMS, Granted: true},
		Answer{Channel: schemas.ChannelWhatsApp, Granted: false},
		Answer{Channel: schemas.ChannelSMS, Granted: true},
	))
	require.Len(t, probs, 2)
	require.Len(t, evs, 1)
	require.Equal(t, schemas.ChannelSMS, evs[0].Channel)
}

func TestQuoteCutsLongValues(t *testing.T) {
	t.Parallel()
	require.Equal(t, `"EW-2026-11"`, Quote("EW-2026-11"))
	require.Equal(t, `"abcdefghijklmnopqrstuvwx"…`, Quote("abcdefghijklmnopqrstuvwxyz"))
}
