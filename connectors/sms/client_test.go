package sms_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/praxisbote/praxisbote/connectors/provider"
	"github.com/praxisbote/praxisbote/connectors/sms"
)

type seen struct {
	path, apiKey, contentType string
	form                      url.Values
}

func stub(t *testing.T, status int, body string, hdr map[string]string) (*httptest.Server, func() []seen, *atomic.Int32) {
	t.Helper()
	var (
		mu   sync.Mutex
		reqs []seen
		hits atomic.Int32
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_ = r.ParseForm()
		mu.Lock()
		reqs = append(reqs, seen{r.URL.Path, r.Header.Get("X-Api-Key"), r.Header.Get("Content-Type"), r.PostForm})
		mu.Unlock()
		for k, v := range hdr {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []seen {
		mu.Lock()
		defer mu.Unlock()
		return append([]seen(nil), reqs...)
	}, &hits
}

func newClient(t *testing.T, base, sender string) *sms.Client {
	t.Helper()
	c, err := sms.New(sms.Config{BaseURL: base, APIKey: "seven-key", Sender: sender, Timeout: 2 * time.Second})
	require.NoError(t, err)
	return c
}

const okJSON = `{"success":"100","total_price":0.075,"balance":12.3,"debug":"false","sms_type":"direct",
 "messages":[{"id":"77100000001","sender":"Praxis","recipient":"491713920005","text":"x","encoding":"gsm","label":null,
 "parts":1,"udh":null,"is_binary":false,"price":0.075,"success":true,"error":null,"error_text":null}]}`

func TestNewRequiresAPIKey(t *testing.T) {
	t.Parallel()
	_, err := sms.New(sms.Config{})
	require.Error(t, err)
}

func TestSendForm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		sender string
		msg    sms.SMS
		want   url.Values
	}{
		{
			name:   "all fields",
			sender: "PraxisDrB",
			msg:    sms.SMS{To: "+491713920005", Text: "Erinnerung: Termin am 12.01. um 11:00 Uhr. Antwort 1 = bestätigen", ForeignID: "dlv-42"},
			want: url.Values{"to": {"491713920005"}, "text": {"Erinnerung: Termin am 12.01. um 11:00 Uhr. Antwort 1 = bestätigen"},
				"from": {"PraxisDrB"}, "foreign_id": {"dlv-42"}, "json": {"1"}},
		},
		{
			name: "no sender, no foreign id",
			msg:  sms.SMS{To: "+4917604069020", Text: "Hallo"},
			want: url.Values{"to": {"4917604069020"}, "text": {"Hallo"}, "json": {"1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, reqs, _ := stub(t, 200, okJSON, nil)
			id, err := newClient(t, srv.URL, tt.sender).Send(t.Context(), tt.msg)
			require.NoError(t, err)
			require.Equal(t, "77100000001", id)
			all := reqs()
			require.Len(t, all, 1)
			require.Equal(t, "/api/sms", all[0].path)
			require.Equal(t, "seven-key", all[0].apiKey)
			require.Contains(t, all[0].contentType, "application/x-www-form-urlencoded")
			require.Equal(t, tt.want, all[0].form)
		})
	}
}

func TestSendErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int
		body       string
		hdr        map[string]string
		kind       provider.Kind
		code       string
		retryAfter time.Duration
	}{
		{name: "bare 900 auth", status: 200, body: "900", kind: provider.ChannelWide, code: "900"},
		{name: "bare 902 no api access", status: 200, body: "902\n", kind: provider.ChannelWide, code: "902"},
		{name: "bare 500 out of credit", status: 200, body: "500", kind: provider.ChannelWide, code: "500"},
		{name: "bare 202 invalid recipient", status: 200, body: "202", kind: provider.Permanent, code: "202"},
		{name: "bare 201 invalid sender/country", status: 200, body: "201", kind: provider.Permanent, code: "201"},
		{name: "bare 401 text too long", status: 200, body: "401", kind: provider.Permanent, code: "401"},
		{name: "bare 11 carrier", status: 200, body: "11", kind: provider.Transient, code: "11"},
		{name: "bare 600 carrier", status: 200, body: "600", kind: provider.Transient, code: "600"},
		{name: "bare 700 unknown", status: 200, body: "700", kind: provider.Transient, code: "700"},
		{name: "json success 900", status: 200, body: `{"success":"900","messages":[]}`, kind: provider.ChannelWide, code: "900"},
		{name: "json numeric success 500", status: 200, body: `{"success":500}`, kind: provider.ChannelWide, code: "500"},
		{name: "message-level error", status: 200,
			body: `{"success":"100","messages":[{"id":null,"success":false,"error":"202","error_text":"Invalid recipient"}]}`,
			kind: provider.Permanent, code: "202"},
		{name: "http 401", status: 401, body: `{"error":"unauthorized"}`, kind: provider.ChannelWide},
		{name: "http 401 with unknown bare code", status: 401, body: "123", kind: provider.ChannelWide, code: "123"},
		{name: "http 429 retry-after", status: 429, body: "", hdr: map[string]string{"Retry-After": "4"}, kind: provider.Transient, retryAfter: 4 * time.Second},
		{name: "http 503", status: 503, body: "<html>down</html>", kind: provider.Transient},
		{name: "http 500 body 500 is not credit", status: 500, body: "500", kind: provider.Transient},
		{name: "2xx unreadable", status: 200, body: "<html>", kind: provider.Permanent, code: "unreadable_response"},
		{name: "accepted without id", status: 200, body: `{"success":"100","messages":[{"success":true}]}`, kind: provider.Permanent, code: "no_message_id"},
		{name: "accepted without messages", status: 200, body: `{"success":"100"}`, kind: provider.Permanent, code: "no_message_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, _, hits := stub(t, tt.status, tt.body, tt.hdr)
			_, err := newClient(t, srv.URL, "").Send(t.Context(), sms.SMS{To: "+491713920005", Text: "x"})
			var pe *provider.Error
			require.ErrorAs(t, err, &pe)
			require.Equal(t, tt.kind, pe.Kind, pe.Error())
			require.Equal(t, tt.code, pe.Code)
			require.Equal(t, tt.status, pe.HTTPStatus)
			require.Equal(t, tt.retryAfter, pe.RetryAfter)
			require.Equal(t, "sms", pe.Provider)
			require.Equal(t, int32(1), hits.Load(), "Send must not retry")
		})
	}
}

func TestSendNumericID(t *testing.T) {
	t.Parallel()
	srv, _, _ := stub(t, 200, `{"success":100,"messages":[{"id":77100000003,"success":true}]}`, nil)
	id, err := newClient(t, srv.URL, "").Send(t.Context(), sms.SMS{To: "+491713920005", Text: "x"})
	require.NoError(t, err)
	require.Equal(t, "77100000003", id)
}

func TestSendValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  sms.SMS
	}{
		{"no plus", sms.SMS{To: "491713920005", Text: "x"}},
		{"national", sms.SMS{To: "01713920005", Text: "x"}},
		{"empty text", sms.SMS{To: "+491713920005"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, _, hits := stub(t, 200, okJSON, nil)
			_, err := newClient(t, srv.URL, "").Send(t.Context(), tt.msg)
			require.Equal(t, provider.Permanent, provider.KindOf(err))
			require.Error(t, err)
			require.Zero(t, hits.Load())
		})
	}
}

func TestSendTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Consume the body so the server notices the client hanging up.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	c, err := sms.New(sms.Config{BaseURL: srv.URL, APIKey: "k", Timeout: 50 * time.Millisecond})
	require.NoError(t, err)
	_, err = c.Send(t.Context(), sms.SMS{To: "+491713920005", Text: "x"})
	require.Error(t, err)
	require.Equal(t, provider.Transient, provider.KindOf(err))
	require.True(t, errors.Is(err, context.DeadlineExceeded), err.Error())
}

func TestDroppedConnectionIsNotRetried(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			_ = conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	_, err := newClient(t, srv.URL, "").Send(t.Context(), sms.SMS{To: "+491713920005", Text: "x"})
	require.Error(t, err)
	require.Equal(t, provider.Transient, provider.KindOf(err))
	require.Equal(t, int32(1), hits.Load(), "a POST that may have been delivered must not be repeated")
}
