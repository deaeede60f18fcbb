package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/stretchr/testify/require"

	"github.com/praxisbote/praxisbote/connectors/provider"
	"github.com/praxisbote/praxisbote/connectors/sandbox"
	"github.com/praxisbote/praxisbote/connectors/sms"
	"github.com/praxisbote/praxisbote/connectors/whatsapp"
)

const (
	apiKey     = "d360-test-key"
	sevenKey   = "seven-test-key"
	secret     = "shared-secret"
	signing    = "platform-secret"
	hookToken  = "hook-token"
	patient    = "+491713920006"
	patientRaw = "491713920006"
)

// receiver is a webhook endpoint that records what arrives. failFirst makes
// the first N requests answer 500 to exercise the sandbox's retries.
type receiver struct {
	*httptest.Server
	mu        sync.Mutex
	reqs      []*http.Request
	bodies    [][]byte
	failFirst int
	calls     int
}

func newReceiver(t *testing.T, failFirst int) *receiver {
	t.Helper()
	rc := &receiver{failFirst: failFirst}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.calls++
		if rc.calls <= rc.failFirst {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		rc.reqs = append(rc.reqs, r)
		rc.bodies = append(rc.bodies, b)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) got() ([]*http.Request, [][]byte) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]*http.Request(nil), rc.reqs...), append([][]byte(nil), rc.bodies...)
}

// clock ticks one second per call, so every timestamp is predictable.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.t
	c.t = c.t.Add(time.Second)
	return now
}

var t0 = time.Date(2027, 1, 11, 12, 0, 0, 0, time.UTC) // 13:00 in Berlin

type env struct {
	sb      *sandbox.Server
	api     *httptest.Server
	wa      *whatsapp.Client
	sms     *sms.Client
	waHook  *receiver
	smsHook *receiver
	logs    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t *testing.T, mod func(*sandbox.Options)) *env {
	t.Helper()
	e := &env{waHook: newReceiver(t, 0), smsHook: newReceiver(t, 0), logs: &syncBuffer{}}
	o := sandbox.Options{
		APIKey:          apiKey,
		SevenAPIKey:     sevenKey,
		WebhookURL:      e.waHook.URL + "/webhooks/whatsapp",
		WebhookHeaders:  map[string]string{"X-Praxisbote-Secret": secret},
		SigningSecret:   signing,
		SevenWebhookURL: e.smsHook.URL + "/webhooks/seven?token=" + hookToken,
		Now:             (&clock{t: t0}).Now,
		WebhookBackoff:  time.Millisecond,
		Logger:          slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&o)
	}
	e.sb = sandbox.New(o)
	e.api = httptest.NewServer(e.sb.Handler())
	t.Cleanup(e.api.Close)
	var err error
	e.wa, err = whatsapp.New(whatsapp.Config{BaseURL: e.api.URL, APIKey: apiKey, Timeout: 2 * time.Second})
	require.NoError(t, err)
	e.sms, err = sms.New(sms.Config{BaseURL: e.api.URL, APIKey: sevenKey, Sender: "PraxisDrB", Timeout: 2 * time.Second})
	require.NoError(t, err)
	return e
}

func (e *env) wait(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	require.NoError(t, e.sb.Wait(ctx))
}

// statuses authenticates and parses every WhatsApp webhook received.
func (e *env) statuses(t *testing.T) []whatsapp.Status {
	t.Helper()
	reqs, bodies := e.waHook.got()
	var out []whatsapp.Status
	for i, r := range reqs {
		require.NoError(t, whatsapp.Authenticate(r, bodies[i],
			whatsapp.AuthConfig{SharedSecret: secret, SigningSecret: signing}))
		require.Equal(t, "/webhooks/whatsapp", r.URL.Path)
		require.Equal(t, "application/json", r.Header.Get("Content-Type"))
		n, err := whatsapp.ParseWebhook(bodies[i])
		require.NoError(t, err)
		out = append(out, n.Statuses...)
	}
	return out
}

var tmpl = whatsapp.Template{
	To: patient, Name: "termin_erinnerung", Language: "de",
	BodyParams:         []string{"Mittwoch, 13.01.", "14:00"},
	QuickReplyPayloads: []string{"CONFIRM:apt-10006-20270113T1400", "CANCEL:apt-10006-20270113T1400"},
}

func TestWhatsAppSendTemplate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	id, err := e.wa.SendTemplate(t.Context(), tmpl)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(id, "wamid."), id)
	e.wait(t)

	msgs := e.sb.Messages()
	require.Equal(t, []sandbox.Message{{
		ID: id, Channel: "whatsapp", To: patient, Type: "template",
		TemplateName: "termin_erinnerung", Language: "de",
		BodyParams:     []string{"Mittwoch, 13.01.", "14:00"},
		ButtonPayloads: []string{"CONFIRM:apt-10006-20270113T1400", "CANCEL:apt-10006-20270113T1400"},
		At:             t0,
	}}, msgs)

	sts := e.statuses(t)
	require.Len(t, sts, 3)
	for i, want := range []string{"sent", "delivered", "read"} {
		require.Equal(t, want, sts[i].Status)
		require.Equal(t, id, sts[i].MessageID)
		require.Equal(t, patientRaw, sts[i].RecipientID)
		require.Equal(t, sandbox.DefaultPhoneNumberID, sts[i].PhoneNumberID)
		require.Equal(t, t0.Add(time.Duration(i+1)*time.Second), sts[i].Timestamp)
		require.NoError(t, sts[i].Err())
	}
	require.Zero(t, e.sb.WebhookFailures())

	// Logs carry only the last three digits of the number, never the text.
	logs := e.logs.String()
	require.Contains(t, logs, "…006")
	require.NotContains(t, logs, patientRaw)
	require.NotContains(t, logs, "Mittwoch")
	require.NotContains(t, logs, hookToken)
}

func TestWhatsAppTextAndUniqueIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *sandbox.Options) { o.StatusSteps = []string{} })
	seen := map[string]bool{}
	for i := range 5 {
		id, err := e.wa.SendText(t.Context(), patient, "Ihr Termin wurde verschoben.")
		require.NoError(t, err, i)
		require.False(t, seen[id])
		seen[id] = true
	}
	e.wait(t)
	require.Len(t, e.sb.Messages(), 5)
	require.Equal(t, "text", e.sb.Messages()[0].Type)
	require.Equal(t, "Ihr Termin wurde verschoben.", e.sb.Messages()[0].Text)
	reqs, _ := e.waHook.got()
	require.Empty(t, reqs, "empty StatusSteps posts no statuses")
}

func TestWhatsAppWrongKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	bad, err := whatsapp.New(whatsapp.Config{BaseURL: e.api.URL, APIKey: "wrong"})
	require.NoError(t, err)
	_, err = bad.SendTemplate(t.Context(), tmpl)
	var pe *provider.Error
	require.ErrorAs(t, err, &pe)
	require.Equal(t, provider.ChannelWide, pe.Kind)
	require.Equal(t, http.StatusUnauthorized, pe.HTTPStatus)
	require.Contains(t, pe.Message, "Invalid api_key")
	e.wait(t)
	require.Empty(t, e.sb.Messages())
	reqs, _ := e.waHook.got()
	require.Empty(t, reqs)
}

func TestWhatsAppFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		fault      sandbox.Fault
		code       string
		retryAfter time.Duration
	}{
		{"429 with Retry-After", sandbox.Fault{Rate: 1, Status: 429, RetryAfter: 2 * time.Second}, "130429", 2 * time.Second},
		{"503 default", sandbox.Fault{Rate: 1}, "131016", 0},
		{"502 sub-second retry rounds up", sandbox.Fault{Rate: 1, Status: 502, RetryAfter: 10 * time.Millisecond}, "131016", time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			e.sb.Fault(tt.fault)
			_, err := e.wa.SendTemplate(t.Context(), tmpl)
			var pe *provider.Error
			require.ErrorAs(t, err, &pe)
			require.Equal(t, provider.Transient, pe.Kind)
			require.Equal(t, tt.code, pe.Code)
			require.Equal(t, tt.retryAfter, pe.RetryAfter)
			require.Equal(t, tt.retryAfter, provider.RetryAfterOf(err))
			require.Empty(t, e.sb.Messages(), "a failed request sends nothing")

			e.sb.Fault(sandbox.Fault{})
			_, err = e.wa.SendTemplate(t.Context(), tmpl)
			require.NoError(t, err)
			e.wait(t)
			require.Len(t, e.sb.Messages(), 1)
		})
	}
}

func TestFaultRateIsSeeded(t *testing.T) {
	t.Parallel()
	pattern := func(seed uint64) []bool {
		e := newEnv(t, func(o *sandbox.Options) { o.StatusSteps = []string{} })
		e.sb.Fault(sandbox.Fault{Rate: 0.5, Seed: seed, Status: 429, RetryAfter: time.Second})
		var out []bool
		for range 40 {
			_, err := e.wa.SendText(t.Context(), patient, "x")
			out = append(out, err != nil)
			if err != nil {
				require.Equal(t, provider.Transient, provider.KindOf(err))
			}
		}
		return out
	}
	a, b, c := pattern(7), pattern(7), pattern(8)
	require.Equal(t, a, b, "same seed, same faults")
	require.NotEqual(t, a, c, "different seed, different faults")
	failed := 0
	for _, f := range a {
		if f {
			failed++
		}
	}
	require.Greater(t, failed, 5)
	require.Less(t, failed, 35)
}

func TestFaultOnlyHitsItsChannel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.sb.Fault(sandbox.Fault{Rate: 1, Channel: "sms"})
	_, err := e.wa.SendText(t.Context(), patient, "x")
	require.NoError(t, err)
	_, err = e.sms.Send(t.Context(), sms.SMS{To: patient, Text: "x"})
	require.Equal(t, provider.Transient, provider.KindOf(err))
	require.Error(t, err)
	e.wait(t)
}

func TestFaultDelayTimesOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.sb.Fault(sandbox.Fault{Rate: 1, Delay: 2 * time.Second})
	c, err := whatsapp.New(whatsapp.Config{BaseURL: e.api.URL, APIKey: apiKey, Timeout: 50 * time.Millisecond})
	require.NoError(t, err)
	start := time.Now()
	_, err = c.SendText(t.Context(), patient, "x")
	require.Equal(t, provider.Transient, provider.KindOf(err))
	require.True(t, errors.Is(err, context.DeadlineExceeded), err.Error())
	require.Less(t, time.Since(start), time.Second)
}

func TestFailNumber(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.sb.FailNumber("+491713920005", 131026)
	id, err := e.wa.SendTemplate(t.Context(), whatsapp.Template{To: "+491713920005", Name: "termin_erinnerung", Language: "de"})
	require.NoError(t, err, "the API accepts; failure comes by webhook")
	e.wait(t)
	sts := e.statuses(t)
	require.Len(t, sts, 1)
	require.Equal(t, "failed", sts[0].Status)
	require.Equal(t, id, sts[0].MessageID)
	require.Equal(t, 131026, sts[0].ErrorCode)
	require.Equal(t, "Message undeliverable", sts[0].ErrorTitle)
	require.Equal(t, provider.Permanent, provider.KindOf(sts[0].Err()))

	// Other numbers are unaffected, and the rule can be lifted.
	e.sb.FailNumber("+491713920005", 0)
	_, err = e.wa.SendText(t.Context(), "+491713920005", "x")
	require.NoError(t, err)
	e.wait(t)
	require.Len(t, e.statuses(t), 4)
}

func TestWebhookRetries(t *testing.T) {
	t.Parallel()
	flaky := newReceiver(t, 2)
	sb := sandbox.New(sandbox.Options{APIKey: apiKey, WebhookURL: flaky.URL, StatusSteps: []string{"sent"},
		WebhookBackoff: time.Millisecond})
	api := httptest.NewServer(sb.Handler())
	t.Cleanup(api.Close)
	c, err := whatsapp.New(whatsapp.Config{BaseURL: api.URL, APIKey: apiKey})
	require.NoError(t, err)
	_, err = c.SendText(t.Context(), patient, "x")
	require.NoError(t, err)
	require.NoError(t, sb.Wait(t.Context()))
	reqs, _ := flaky.got()
	require.Len(t, reqs, 1, "delivered once after two failures")
	require.Equal(t, 2, sb.WebhookFailures())

	// A receiver that never recovers: the sandbox gives up after the
	// retries and Wait still returns.
	dead := newReceiver(t, 1000)
	sb2 := sandbox.New(sandbox.Options{APIKey: apiKey, WebhookURL: dead.URL, StatusSteps: []string{"sent", "delivered"},
		WebhookRetries: 2, WebhookBackoff: time.Millisecond})
	api2 := httptest.NewServer(sb2.Handler())
	t.Cleanup(api2.Close)
	c2, err := whatsapp.New(whatsapp.Config{BaseURL: api2.URL, APIKey: apiKey})
	require.NoError(t, err)
	_, err = c2.SendText(t.Context(), patient, "x")
	require.NoError(t, err)
	require.NoError(t, sb2.Wait(t.Context()))
	require.Equal(t, 6, sb2.WebhookFailures(), "2 statuses x 3 attempts")
}

func TestConfigWebhook(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *sandbox.Options) { o.WebhookURL = ""; o.WebhookHeaders = nil; o.SigningSecret = "" })
	hook := newReceiver(t, 0)
	post := func(key, body string) int {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.api.URL+"/v1/configs/webhook", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("D360-API-KEY", key)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusUnauthorized, post("wrong", `{"url":"`+hook.URL+`"}`))
	require.Equal(t, http.StatusBadRequest, post(apiKey, `{"headers":{}}`))
	require.Equal(t, http.StatusOK, post(apiKey, `{"url":"`+hook.URL+`/wa","headers":{"X-Praxisbote-Secret":"from-config"}}`))

	_, err := e.wa.SendText(t.Context(), patient, "x")
	require.NoError(t, err)
	e.wait(t)
	reqs, bodies := hook.got()
	require.Len(t, reqs, 3)
	for i, r := range reqs {
		require.Equal(t, "/wa", r.URL.Path)
		require.NoError(t, whatsapp.Authenticate(r, bodies[i], whatsapp.AuthConfig{SharedSecret: "from-config"}))
		require.Empty(t, r.Header.Get("x-360dialog-signature"))
	}
}

func TestMessagesValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tests := []struct {
		name string
		body string
		want int
	}{
		{"sticker type", `{"messaging_product":"whatsapp","to":"491713920006","type":"sticker"}`, 400},
		{"missing product", `{"to":"491713920006","type":"text","text":{"body":"x"}}`, 400},
		{"bad to", `{"messaging_product":"whatsapp","to":"0171","type":"text","text":{"body":"x"}}`, 400},
		{"template without language", `{"messaging_product":"whatsapp","to":"491713920006","type":"template","template":{"name":"x"}}`, 400},
		{"empty text", `{"messaging_product":"whatsapp","to":"491713920006","type":"text","text":{"body":""}}`, 400},
		{"not json", `hello`, 400},
		{"interactive ok", `{"messaging_product":"whatsapp","to":"+4917604069020","type":"interactive","interactive":{"type":"button","body":{"text":"Termin absagen?"},"action":{"buttons":[{"type":"reply","reply":{"id":"CANCEL:apt-10020-20270202T1530","title":"Termin absagen"}}]}}}`, 200},
	}
	// The group returns only when its parallel subtests are done.
	t.Run("requests", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.api.URL+"/messages", strings.NewReader(tt.body))
				require.NoError(t, err)
				req.Header.Set("D360-API-KEY", apiKey)
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				defer resp.Body.Close()
				require.Equal(t, tt.want, resp.StatusCode)
				if tt.want == 400 {
					var body struct {
						Error struct {
							Code int `json:"code"`
						} `json:"error"`
					}
					require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
					require.Equal(t, 100, body.Error.Code)
				}
			})
		}
	})
	e.wait(t)
	var interactive []sandbox.Message
	for _, m := range e.sb.Messages() {
		if m.Type == "interactive" {
			interactive = append(interactive, m)
		}
	}
	require.Len(t, interactive, 1)
	require.Equal(t, "+4917604069020", interactive[0].To)
	require.Equal(t, []string{"CANCEL:apt-10020-20270202T1530"}, interactive[0].ButtonPayloads)
	require.Equal(t, "Termin absagen?", interactive[0].Text)
}

func TestReplies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *sandbox.Options) { o.ProfileName = "Erika" })
	id, err := e.wa.SendTemplate(t.Context(), tmpl)
	require.NoError(t, err)
	e.wait(t)
	_, before := e.waHook.got()

	rid, err := e.sb.Reply(t.Context(), patient, "Ja", id)
	require.NoError(t, err)
	bid, err := e.sb.ReplyButton(t.Context(), patient, tmpl.QuickReplyPayloads[0], "Termin bestätigen", id)
	require.NoError(t, err)
	fid, err := e.sb.Reply(t.Context(), patient, "Danke", "")
	require.NoError(t, err)
	require.NotEqual(t, rid, bid)

	reqs, bodies := e.waHook.got()
	require.Len(t, bodies, len(before)+3, "replies are delivered before the call returns")
	var got []whatsapp.InboundMessage
	for i := len(before); i < len(bodies); i++ {
		require.NoError(t, whatsapp.Authenticate(reqs[i], bodies[i], whatsapp.AuthConfig{SharedSecret: secret, SigningSecret: signing}))
		n, err := whatsapp.ParseWebhook(bodies[i])
		require.NoError(t, err)
		require.Len(t, n.Messages, 1)
		got = append(got, n.Messages[0])
	}
	common := whatsapp.InboundMessage{From: patientRaw, ProfileName: "Erika", PhoneNumberID: sandbox.DefaultPhoneNumberID}
	want := []whatsapp.InboundMessage{common, common, common}
	want[0].ID, want[0].Type, want[0].Text, want[0].ContextID = rid, "text", "Ja", id
	want[1].ID, want[1].Type, want[1].ButtonPayload, want[1].ButtonText, want[1].ContextID = bid, "button", tmpl.QuickReplyPayloads[0], "Termin bestätigen", id
	want[2].ID, want[2].Type, want[2].Text = fid, "text", "Danke"
	for i := range got {
		require.False(t, got[i].Timestamp.IsZero())
		got[i].Timestamp = time.Time{}
	}
	require.Equal(t, want, got)

	// Validation and missing target.
	_, err = e.sb.Reply(t.Context(), patientRaw, "Ja", "")
	require.Error(t, err, "from must have '+'")
	nohook := sandbox.New(sandbox.Options{})
	_, err = nohook.Reply(t.Context(), patient, "Ja", "")
	require.Error(t, err)
	_, err = nohook.SMSReply(t.Context(), patient, "1")
	require.Error(t, err)
}

func TestSMSSend(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	id, err := e.sms.Send(t.Context(), sms.SMS{To: "+491713920005", Text: "Erinnerung: Termin 12.01. 11:00", ForeignID: "dlv-1"})
	require.NoError(t, err)
	require.NotEmpty(t, id)
	e.wait(t)
	require.Equal(t, []sandbox.Message{{
		ID: id, Channel: "sms", To: "+491713920005", Type: "sms",
		Text: "Erinnerung: Termin 12.01. 11:00", From: "PraxisDrB", ForeignID: "dlv-1", At: t0,
	}}, e.sb.Messages())

	reqs, bodies := e.smsHook.got()
	require.Len(t, reqs, 1)
	require.NoError(t, sms.AuthenticateHook(reqs[0], hookToken))
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	h, err := sms.ParseHook(bodies[0], loc)
	require.NoError(t, err)
	require.Equal(t, "dlr", h.Event)
	require.Equal(t, id, h.DLR.MessageID)
	require.Equal(t, "DELIVERED", h.DLR.Status)
	require.Equal(t, sms.StateDelivered, h.DLR.State())
	require.True(t, t0.Add(time.Second).Equal(h.DLR.At), h.DLR.At)
	require.Equal(t, "2027-01-11T13:00:01+01:00", h.DLR.At.Format(time.RFC3339))
	require.NotContains(t, e.logs.String(), "491713920005")
}

func TestSMSErrors(t *testing.T) {
	t.Parallel()
	t.Run("wrong key", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		bad, err := sms.New(sms.Config{BaseURL: e.api.URL, APIKey: "wrong"})
		require.NoError(t, err)
		_, err = bad.Send(t.Context(), sms.SMS{To: patient, Text: "x"})
		var pe *provider.Error
		require.ErrorAs(t, err, &pe)
		require.Equal(t, provider.ChannelWide, pe.Kind)
		require.Equal(t, "900", pe.Code)
		require.Empty(t, e.sb.Messages())
	})
	t.Run("fault 429", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		e.sb.Fault(sandbox.Fault{Rate: 1, Status: 429, RetryAfter: 3 * time.Second})
		_, err := e.sms.Send(t.Context(), sms.SMS{To: patient, Text: "x"})
		require.Equal(t, provider.Transient, provider.KindOf(err))
		require.Equal(t, 3*time.Second, provider.RetryAfterOf(err))
		require.Empty(t, e.sb.Messages())
	})
	t.Run("a WhatsApp failure rule leaves SMS alone", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		e.sb.FailNumber(patient, 131026)
		id, err := e.sms.Send(t.Context(), sms.SMS{To: patient, Text: "x"})
		require.NoError(t, err)
		e.wait(t)
		_, bodies := e.smsHook.got()
		require.Len(t, bodies, 1)
		h, err := sms.ParseHook(bodies[0], time.UTC)
		require.NoError(t, err)
		require.Equal(t, id, h.DLR.MessageID)
		require.Equal(t, "DELIVERED", h.DLR.Status)
	})
	t.Run("fail SMS gives NOTDELIVERED", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		e.sb.FailSMS(patient, true)
		id, err := e.sms.Send(t.Context(), sms.SMS{To: patient, Text: "x"})
		require.NoError(t, err)
		e.wait(t)
		_, bodies := e.smsHook.got()
		require.Len(t, bodies, 1)
		h, err := sms.ParseHook(bodies[0], time.UTC)
		require.NoError(t, err)
		require.Equal(t, id, h.DLR.MessageID)
		require.Equal(t, "NOTDELIVERED", h.DLR.Status)
		require.Equal(t, provider.Permanent, provider.KindOf(h.DLR.Err()))
	})
}

func TestSMSReply(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	id, err := e.sb.SMSReply(t.Context(), "+491713920005", "1")
	require.NoError(t, err)
	reqs, bodies := e.smsHook.got()
	require.Len(t, reqs, 1)
	require.NoError(t, sms.AuthenticateHook(reqs[0], hookToken))
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	h, err := sms.ParseHook(bodies[0], loc)
	require.NoError(t, err)
	require.Equal(t, "sms_mo", h.Event)
	require.Equal(t, &sms.Inbound{ID: id, Sender: "491713920005", System: sandbox.DefaultSevenInboundNumber, Text: "1",
		At: t0.In(loc)}, h.Inbound)
	require.Equal(t, "+491713920005", h.Inbound.SenderE164())
	require.Equal(t, "2027-01-11T13:00:00+01:00", h.WebhookAt.Format(time.RFC3339))
}

func TestStandaloneServe(t *testing.T) {
	t.Parallel()
	hook := newReceiver(t, 0)
	sb := sandbox.New(sandbox.Options{APIKey: apiKey, SevenAPIKey: sevenKey, WebhookURL: hook.URL,
		SevenWebhookURL: hook.URL + "/seven?token=" + hookToken})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- sb.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()

	c, err := whatsapp.New(whatsapp.Config{BaseURL: base, APIKey: apiKey})
	require.NoError(t, err)
	id, err := c.SendText(t.Context(), patient, "x")
	require.NoError(t, err)

	// Demo endpoints.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/_sandbox/messages", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp.Body.Close()
	req.Header.Set("D360-API-KEY", apiKey)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	var listed []sandbox.Message
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&listed))
	resp.Body.Close()
	require.Len(t, listed, 1)
	require.Equal(t, id, listed[0].ID)

	for _, body := range []string{
		`{"channel":"whatsapp","from":"+491713920006","text":"Ja","context_id":"` + id + `"}`,
		`{"channel":"whatsapp","from":"+491713920006","button_payload":"CONFIRM:x","button_text":"OK"}`,
		`{"channel":"sms","from":"+491713920005","text":"1"}`,
	} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/_sandbox/reply", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("X-Api-Key", sevenKey)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		resp.Body.Close()
	}

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not stop")
	}
	reqs, _ := hook.got()
	require.Len(t, reqs, 3+3, "3 statuses (flushed at shutdown) + 3 replies")

	require.Error(t, sb.ListenAndServe(t.Context(), "256.0.0.1:bad"))
}
