package provider_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/praxisbote/praxisbote/connectors/provider"
)

func TestKindString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind provider.Kind
		want string
	}{
		{provider.Transient, "transient"},
		{provider.Permanent, "permanent"},
		{provider.NeedsTemplate, "needs_template"},
		{provider.ChannelWide, "channel_wide"},
		{provider.Kind(42), "kind(42)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, tt.kind.String())
		})
	}
}

func TestErrorText(t *testing.T) {
	t.Parallel()
	base := errors.New("dial tcp: connection refused")
	tests := []struct {
		name string
		err  *provider.Error
		want string
	}{
		{
			name: "full",
			err: &provider.Error{Provider: "whatsapp", Op: "send_template", Kind: provider.Permanent,
				HTTPStatus: 400, Code: "131026", Message: "Message undeliverable"},
			want: "whatsapp send_template: permanent: http 400: code 131026: Message undeliverable",
		},
		{
			name: "network",
			err:  &provider.Error{Provider: "sms", Op: "send", Kind: provider.Transient, Err: base},
			want: "sms send: transient: dial tcp: connection refused",
		},
		{
			name: "retry after",
			err: &provider.Error{Provider: "whatsapp", Op: "send_text", Kind: provider.Transient,
				HTTPStatus: 429, RetryAfter: 7 * time.Second},
			want: "whatsapp send_text: transient: http 429: retry after 7s",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, tt.err.Error())
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

var _ net.Error = timeoutErr{}

func TestKindOfAndUnwrap(t *testing.T) {
	t.Parallel()
	perm := &provider.Error{Provider: "whatsapp", Kind: provider.Permanent}
	chw := &provider.Error{Provider: "sms", Kind: provider.ChannelWide, Err: context.Canceled}
	rl := &provider.Error{Provider: "whatsapp", Kind: provider.Transient, RetryAfter: 3 * time.Second}
	tests := []struct {
		name       string
		err        error
		want       provider.Kind
		retryAfter time.Duration
	}{
		{"nil", nil, provider.Transient, 0},
		{"unknown error", errors.New("boom"), provider.Transient, 0},
		{"net timeout", &net.OpError{Op: "dial", Err: timeoutErr{}}, provider.Transient, 0},
		{"deadline", context.DeadlineExceeded, provider.Transient, 0},
		{"provider permanent", perm, provider.Permanent, 0},
		{"wrapped provider", fmt.Errorf("router: %w", perm), provider.Permanent, 0},
		{"channel wide", chw, provider.ChannelWide, 0},
		{"retry after", fmt.Errorf("x: %w", rl), provider.Transient, 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, provider.KindOf(tt.err))
			require.Equal(t, tt.retryAfter, provider.RetryAfterOf(tt.err))
		})
	}
	require.ErrorIs(t, chw, context.Canceled, "Unwrap must expose the cause")
}

func TestWhatsAppKind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		code   int
		want   provider.Kind
	}{
		{"network (no response)", 0, 0, provider.Transient},
		{"500", 500, 0, provider.Transient},
		{"503 with unknown code", 503, 999999, provider.Transient},
		{"429", 429, 0, provider.Transient},
		{"130429 rate limit as 400", 400, 130429, provider.Transient},
		{"131056 pair rate limit", 400, 131056, provider.Transient},
		{"131026 undeliverable", 400, 131026, provider.Permanent},
		{"131026 via webhook", 0, 131026, provider.Permanent},
		{"100 invalid number", 400, 100, provider.Permanent},
		{"132000 param mismatch", 400, 132000, provider.Permanent},
		{"132001 template missing", 404, 132001, provider.Permanent},
		{"other 4xx", 422, 0, provider.Permanent},
		{"400 unknown code", 400, 123456, provider.Permanent},
		{"131047 window closed", 400, 131047, provider.NeedsTemplate},
		{"401", 401, 0, provider.ChannelWide},
		{"403", 403, 0, provider.ChannelWide},
		{"190 token expired", 401, 190, provider.ChannelWide},
		{"permission range 2xx code", 403, 250, provider.ChannelWide},
		{"132015 paused template", 400, 132015, provider.ChannelWide},
		{"131042 payment", 400, 131042, provider.ChannelWide},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, provider.WhatsAppKind(tt.status, tt.code))
		})
	}
}

func TestSevenKind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code int
		want provider.Kind
	}{
		{11, provider.Transient},
		{600, provider.Transient},
		{700, provider.Transient},
		{201, provider.Permanent},
		{202, provider.Permanent},
		{301, provider.Permanent},
		{305, provider.Permanent},
		{401, provider.Permanent}, // text too long, not credit
		{402, provider.Permanent},
		{403, provider.Permanent},
		{300, provider.ChannelWide},
		{306, provider.ChannelWide},
		{500, provider.ChannelWide}, // out of credit
		{900, provider.ChannelWide},
		{902, provider.ChannelWide},
		{903, provider.ChannelWide},
		{12345, provider.Transient},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, provider.SevenKind(tt.code))
		})
	}
}

func TestKindForHTTPStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		want   provider.Kind
	}{
		{400, provider.Permanent},
		{401, provider.ChannelWide},
		{402, provider.ChannelWide},
		{403, provider.ChannelWide},
		{404, provider.Permanent},
		{408, provider.Transient},
		{429, provider.Transient},
		{500, provider.Transient},
		{502, provider.Transient},
		{503, provider.Transient},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, provider.KindForHTTPStatus(tt.status))
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2027, 1, 11, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"30", 30 * time.Second},
		{" 2 ", 2 * time.Second},
		{"0", 0},
		{"-5", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, provider.ParseRetryAfter(tt.in, now))
		})
	}
}

func TestErrorf(t *testing.T) {
	t.Parallel()
	err := provider.Errorf("whatsapp", "send_text", provider.Permanent, "invalid number %q", "0171")
	require.Equal(t, provider.Permanent, provider.KindOf(err))
	require.Equal(t, `whatsapp send_text: permanent: invalid number "0171"`, err.Error())
}
