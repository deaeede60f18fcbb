package whatsapp_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/praxisbote/praxisbote/connectors/provider"
	"github.com/praxisbote/praxisbote/connectors/whatsapp"
)

// captured is what the stub server saw of one request.
type captured struct {
	method, path, apiKey, contentType string
	body                              []byte
}

// stub answers every request with status/body/headers and records it.
// The returned func snapshots the captured requests under the lock.
func stub(t *testing.T, status int, body string, hdr map[string]string) (*httptest.Server, func() []captured, *atomic.Int32) {
	t.Helper()
	var (
		mu   sync.Mutex
		reqs []captured
		hits atomic.Int32
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		reqs = append(reqs, captured{r.Method, r.URL.Path, r.Header.Get("D360-API-KEY"), r.Header.Get("Content-Type"), b})
		mu.Unlock()
		for k, v := range hdr {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []captured {
		mu.Lock()
		defer mu.Unlock()
		return append([]captured(nil), reqs...)
	}, &hits
}

func newClient(t *testing.T, base string) *whatsapp.Client {
	t.Helper()
	c, err := whatsapp.New(whatsapp.Config{BaseURL: base, APIKey: "key-123", Timeout: 2 * time.Second})
	require.NoError(t, err)
	return c
}

const okBody = `{"messaging_product":"whatsapp","contacts":[{"input":"491713920006","wa_id":"491713920006"}],"messages":[{"id":"wamid.TEST1","message_status":"accepted"}]}`

func TestNewRequiresAPIKey(t *testing.T) {
	t.Parallel()
	_, err := whatsapp.New(whatsapp.Config{})
	require.Error(t, err)
}

func TestSendPayloads(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		send     func(context.Context, *whatsapp.Client) (string, error)
		wantJSON string
	}{
		{
			name: "template with body params and quick replies",
			send: func(ctx context.Context, c *whatsapp.Client) (string, error) {
				return c.SendTemplate(ctx, whatsapp.Template{
					To: "+491713920001", Name: "termin_erinnerung", Language: "de",
					BodyParams:         []string{"Montag, 11.01.", "08:00"},
					QuickReplyPayloads: []string{"CONFIRM:apt-10001-20270111T0800", "CANCEL:apt-10001-20270111T0800"},
				})
			},
			wantJSON: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"491713920001","type":"template",
				"template":{"name":"termin_erinnerung","language":{"code":"de"},"components":[
				 {"type":"body","parameters":[{"type":"text","text":"Montag, 11.01."},{"type":"text","text":"08:00"}]},
				 {"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"CONFIRM:apt-10001-20270111T0800"}]},
				 {"type":"button","sub_type":"quick_reply","index":"1","parameters":[{"type":"payload","payload":"CANCEL:apt-10001-20270111T0800"}]}]}}`,
		},
		{
			name: "template without parameters",
			send: func(ctx context.Context, c *whatsapp.Client) (string, error) {
				return c.SendTemplate(ctx, whatsapp.Template{To: "+491713920006", Name: "hallo", Language: "de"})
			},
			wantJSON: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"491713920006","type":"template",
				"template":{"name":"hallo","language":{"code":"de"}}}`,
		},
		{
			name: "text",
			send: func(ctx context.Context, c *whatsapp.Client) (string, error) {
				return c.SendText(ctx, "+4917604069020", "Danke, Ihr Termin ist bestätigt.")
			},
			wantJSON: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"4917604069020","type":"text",
				"text":{"body":"Danke, Ihr Termin ist bestätigt."}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, reqs, _ := stub(t, http.StatusOK, okBody, nil)
			id, err := tt.send(t.Context(), newClient(t, srv.URL))
			require.NoError(t, err)
			require.Equal(t, "wamid.TEST1", id)
			all := reqs()
			require.Len(t, all, 1)
			got := all[0]
			require.Equal(t, http.MethodPost, got.method)
			require.Equal(t, "/messages", got.path)
			require.Equal(t, "key-123", got.apiKey)
			require.Equal(t, "application/json", got.contentType)
			require.JSONEq(t, tt.wantJSON, string(got.body))
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
		msgHas     string
	}{
		{
			name:   "131026 undeliverable",
			status: 400,
			body:   `{"error":{"message":"(#131026) Message undeliverable","type":"OAuthException","code":131026,"error_data":{"messaging_product":"whatsapp","details":"Message Undeliverable."},"fbtrace_id":"AbCd"}}`,
			kind:   provider.Permanent, code: "131026", msgHas: "fbtrace_id=AbCd",
		},
		{
			name:   "131047 re-engagement",
			status: 400,
			body:   `{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047,"error_data":{"details":"More than 24 hours have passed"}}}`,
			kind:   provider.NeedsTemplate, code: "131047", msgHas: "More than 24 hours",
		},
		{
			name:   "130429 with Retry-After",
			status: 429,
			body:   `{"error":{"message":"(#130429) Rate limit hit","code":130429}}`,
			hdr:    map[string]string{"Retry-After": "12"},
			kind:   provider.Transient, code: "130429", retryAfter: 12 * time.Second,
		},
		{
			name:   "131056 pair rate limit",
			status: 400,
			body:   `{"error":{"message":"(#131056) pair rate limit","code":131056}}`,
			kind:   provider.Transient, code: "131056",
		},
		{
			name:   "132015 paused template",
			status: 400,
			body:   `{"error":{"message":"(#132015) Template is paused","code":132015}}`,
			kind:   provider.ChannelWide, code: "132015",
		},
		{
			name:   "132001 template missing",
			status: 404,
			body:   `{"error":{"message":"(#132001) Template name does not exist in the translation","code":132001}}`,
			kind:   provider.Permanent, code: "132001",
		},
		{
			name:   "131042 payment",
			status: 400,
			body:   `{"error":{"message":"(#131042) Business eligibility payment issue","code":131042}}`,
			kind:   provider.ChannelWide, code: "131042",
		},
		{
			name:   "360dialog 401 meta shape",
			status: 401,
			body:   `{"meta":{"success":false,"http_code":401,"developer_message":"Invalid api_key"}}`,
			kind:   provider.ChannelWide, msgHas: "Invalid api_key",
		},
		{
			name:   "360dialog 400 rate limit text",
			status: 400,
			body:   `{"meta":{"success":false,"http_code":400,"developer_message":"You have exceeded the endpoint rate limit."}}`,
			kind:   provider.Transient, msgHas: "rate limit",
		},
		{
			name:   "360dialog 400 lack of payment",
			status: 400,
			body:   `{"meta":{"success":false,"http_code":400,"developer_message":"Could not send message due to lack of payment."}}`,
			kind:   provider.ChannelWide,
		},
		{
			name:   "on-premises errors shape",
			status: 400,
			body:   `{"meta":{"api_status":"stable","version":"2.41.2"},"errors":[{"code":1013,"title":"User is not valid","details":"invalid recipient"}]}`,
			kind:   provider.Permanent, code: "1013", msgHas: "User is not valid: invalid recipient",
		},
		{
			name:   "502 html",
			status: 502,
			body:   `<html>Bad Gateway</html>`,
			kind:   provider.Transient, msgHas: "Bad Gateway",
		},
		{
			name:   "503 Retry-After",
			status: 503,
			body:   ``,
			hdr:    map[string]string{"Retry-After": "3"},
			kind:   provider.Transient, retryAfter: 3 * time.Second,
		},
		{
			name:   "403 no body",
			status: 403,
			kind:   provider.ChannelWide,
		},
		{
			name:   "200 without id",
			status: 200,
			body:   `{"messaging_product":"whatsapp"}`,
			kind:   provider.Permanent, code: "no_message_id",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, _, hits := stub(t, tt.status, tt.body, tt.hdr)
			_, err := newClient(t, srv.URL).SendText(t.Context(), "+491713920006", "x")
			require.Error(t, err)
			var pe *provider.Error
			require.ErrorAs(t, err, &pe)
			require.Equal(t, tt.kind, pe.Kind, pe.Error())
			require.Equal(t, tt.status, pe.HTTPStatus)
			require.Equal(t, tt.code, pe.Code)
			require.Equal(t, tt.retryAfter, pe.RetryAfter)
			require.Equal(t, "whatsapp", pe.Provider)
			require.Equal(t, "send_text", pe.Op)
			require.Contains(t, pe.Message, tt.msgHas)
			// The client must never re-POST on its own.
			require.Equal(t, int32(1), hits.Load())
		})
	}
}

func TestSendValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		send func(context.Context, *whatsapp.Client) (string, error)
	}{
		{"no plus", func(ctx context.Context, c *whatsapp.Client) (string, error) {
			return c.SendText(ctx, "491713920006", "x")
		}},
		{"national", func(ctx context.Context, c *whatsapp.Client) (string, error) {
			return c.SendText(ctx, "+01713920006", "x")
		}},
		{"too short", func(ctx context.Context, c *whatsapp.Client) (string, error) {
			return c.SendText(ctx, "+49171", "x")
		}},
		{"spaces", func(ctx context.Context, c *whatsapp.Client) (string, error) {
			return c.SendText(ctx, "+49 171 3920006", "x")
		}},
		{"empty text", func(ctx context.Context, c *whatsapp.Client) (string, error) {
			return c.SendText(ctx, "+491713920006", "")
		}},
		{"template without name", func(ctx context.Context, c *whatsapp.Client) (string, error) {
			return c.SendTemplate(ctx, whatsapp.Template{To: "+491713920006", Language: "de"})
		}},
		{"empty body param", func(ctx context.Context, c *whatsapp.Client) (string, error) {
			return c.SendTemplate(ctx, whatsapp.Template{To: "+491713920006", Name: "n", Language: "de", BodyParams: []string{""}})
		}},
		{"empty payload", func(ctx context.Context, c *whatsapp.Client) (string, error) {
			return c.SendTemplate(ctx, whatsapp.Template{To: "+491713920006", Name: "n", Language: "de", QuickReplyPayloads: []string{""}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, _, hits := stub(t, http.StatusOK, okBody, nil)
			_, err := tt.send(t.Context(), newClient(t, srv.URL))
			require.Error(t, err)
			require.Equal(t, provider.Permanent, provider.KindOf(err))
			require.Zero(t, hits.Load(), "invalid input must not reach the API")
		})
	}
}

func TestSendNetworkErrors(t *testing.T) {
	t.Parallel()
	t.Run("connection refused", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		_, err := newClient(t, url).SendText(t.Context(), "+491713920006", "x")
		var pe *provider.Error
		require.ErrorAs(t, err, &pe)
		require.Equal(t, provider.Transient, pe.Kind)
		require.Zero(t, pe.HTTPStatus)
		require.Error(t, pe.Err)
	})
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		var hits atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) })
		c, err := whatsapp.New(whatsapp.Config{BaseURL: srv.URL, APIKey: "k", Timeout: 50 * time.Millisecond})
		require.NoError(t, err)
		_, err = c.SendText(t.Context(), "+491713920006", "x")
		require.Equal(t, provider.Transient, provider.KindOf(err))
		require.True(t, errors.Is(err, context.DeadlineExceeded), err.Error())
		// Under load the deadline may fire before the handler runs; what
		// matters is that a timed-out POST is never repeated.
		require.LessOrEqual(t, hits.Load(), int32(1))
	})
}

func TestSharedHTTPClientUntouched(t *testing.T) {
	t.Parallel()
	hc := &http.Client{Timeout: 7 * time.Second}
	srv, _, _ := stub(t, http.StatusOK, okBody, nil)
	c, err := whatsapp.New(whatsapp.Config{BaseURL: srv.URL, APIKey: "k", Timeout: time.Second, HTTPClient: hc})
	require.NoError(t, err)
	_, err = c.SendText(t.Context(), "+491713920006", "x")
	require.NoError(t, err)
	require.Equal(t, 7*time.Second, hc.Timeout)
}

// dropper accepts the request and hangs up without answering: the case
// where the message may or may not have gone out. resty would retry it if
// retries were enabled; the client must not.
func dropper(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestDroppedConnectionIsNotRetried(t *testing.T) {
	t.Parallel()
	srv, hits := dropper(t)
	_, err := newClient(t, srv.URL).SendTemplate(t.Context(), whatsapp.Template{To: "+491713920006", Name: "n", Language: "de"})
	require.Error(t, err)
	require.Equal(t, provider.Transient, provider.KindOf(err))
	require.Equal(t, int32(1), hits.Load())
}
