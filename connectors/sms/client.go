// Package sms sends SMS through seven.io and reads seven.io's webhooks
// (delivery reports "dlr" and inbound messages "sms_mo").
//
// As with WhatsApp, Send never retries: seven.io may have accepted an SMS
// whose response got lost, and only the router can decide to send again.
package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/praxisbote/praxisbote/connectors/provider"
)

// ProviderName is the Provider field of every *provider.Error from here.
const ProviderName = "sms"

// DefaultBaseURL is seven.io's gateway.
const DefaultBaseURL = "https://gateway.seven.io"

// DefaultTimeout bounds one send when Config.Timeout is zero.
const DefaultTimeout = 20 * time.Second

// Return codes that mean the SMS was accepted.
const (
	codeSent        = 100
	codeSentPartial = 101 // some recipients; we always send to one
)

// Config configures a Client.
type Config struct {
	BaseURL    string        // default DefaultBaseURL
	APIKey     string        // required
	Sender     string        // "from": alphanumeric (max 11) or a number; empty = account default
	Timeout    time.Duration // per request; default DefaultTimeout
	HTTPClient *http.Client  // optional; never modified
}

// Client sends SMS via seven.io. It is safe for concurrent use.
type Client struct {
	rc      *resty.Client
	sender  string
	timeout time.Duration
	now     func() time.Time
}

// New validates cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.APIKey) == "" {
		return nil, errors.New("sms: APIKey is required")
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	var rc *resty.Client
	if cfg.HTTPClient != nil {
		rc = resty.NewWithClient(cfg.HTTPClient)
	} else {
		rc = resty.New()
	}
	// Timeout per request via context: SetTimeout would modify a shared client.
	rc.SetBaseURL(base).
		SetHeader("X-Api-Key", cfg.APIKey).
		SetHeader("Accept", "application/json").
		SetRetryCount(0). // see package doc
		SetDebug(false)   // debug dumps would log numbers and texts
	return &Client{rc: rc, sender: cfg.Sender, timeout: timeout, now: time.Now}, nil
}

// SMS is one outbound text message.
type SMS struct {
	To        string // E.164 with leading '+'
	Text      string
	ForeignID string // echoed in delivery reports; our delivery id
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// Send submits one SMS and returns seven.io's message id.
func (c *Client) Send(ctx context.Context, m SMS) (string, error) {
	const op = "send"
	if !e164.MatchString(m.To) {
		return "", &provider.Error{Provider: ProviderName, Op: op, Kind: provider.Permanent,
			Code: "invalid_number", Message: "recipient is not E.164 with leading '+'"}
	}
	if m.Text == "" {
		return "", provider.Errorf(ProviderName, op, provider.Permanent, "empty text")
	}
	form := map[string]string{
		// seven.io documents international numbers as digits ("49171...");
		// it echoes them that way in responses and hooks.
		"to":   m.To[1:],
		"text": m.Text,
		"json": "1",
	}
	if c.sender != "" {
		form["from"] = c.sender
	}
	if m.ForeignID != "" {
		form["foreign_id"] = m.ForeignID
	}

	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, err := c.rc.R().SetContext(ctx).SetFormData(form).Post("/api/sms")
	if err != nil {
		return "", &provider.Error{Provider: ProviderName, Op: op, Kind: provider.Transient, Err: err}
	}
	return parseSendResponse(op, resp.StatusCode(), resp.Header(), resp.Body(), c.now())
}

// flexString accepts a JSON string or number: seven.io is not consistent
// about quoting codes and ids across endpoints and API versions.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n.String())
	return nil
}

type sendResponse struct {
	Success  flexString `json:"success"`
	Messages []struct {
		ID        flexString `json:"id"`
		Success   bool       `json:"success"`
		Error     flexString `json:"error"`
		ErrorText string     `json:"error_text"`
	} `json:"messages"`
}

func parseSendResponse(op string, status int, h http.Header, body []byte, now time.Time) (string, error) {
	perr := func(kind provider.Kind, code, msg string) error {
		return &provider.Error{Provider: ProviderName, Op: op, Kind: kind, HTTPStatus: status,
			Code: code, Message: msg, RetryAfter: provider.ParseRetryAfter(h.Get("Retry-After"), now)}
	}
	trimmed := bytes.TrimSpace(body)

	// seven.io answers most failures with HTTP 200 and a bare return code
	// ("900"), even when json=1 was requested. A 5xx stays Transient
	// whatever its body says: "500" from a failing proxy is not "no credit".
	if code, err := strconv.Atoi(string(trimmed)); err == nil && status < 500 {
		return "", codeError(op, status, code, h, now)
	}
	if status < 200 || status >= 300 {
		msg := ""
		if len(trimmed) > 0 {
			msg = snippet(trimmed)
		}
		return "", perr(provider.KindForHTTPStatus(status), "", msg)
	}
	var r sendResponse
	if err := json.Unmarshal(trimmed, &r); err != nil {
		// 2xx we cannot read: it may have been sent, so do not invite a
		// resend (same reasoning as in package whatsapp).
		return "", perr(provider.Permanent, "unreadable_response", snippet(trimmed))
	}
	code, err := strconv.Atoi(string(r.Success))
	if err != nil {
		return "", perr(provider.Permanent, "unreadable_response", "success="+string(r.Success))
	}
	if code != codeSent && code != codeSentPartial {
		return "", codeError(op, status, code, h, now)
	}
	if len(r.Messages) == 0 {
		return "", perr(provider.Permanent, "no_message_id", "accepted without messages[]")
	}
	msg := r.Messages[0]
	if !msg.Success {
		if c, err := strconv.Atoi(string(msg.Error)); err == nil {
			e := codeError(op, status, c, h, now)
			if msg.ErrorText != "" {
				e.Message = msg.ErrorText
			}
			return "", e
		}
		return "", perr(provider.Permanent, string(msg.Error), msg.ErrorText)
	}
	if msg.ID == "" {
		return "", perr(provider.Permanent, "no_message_id", "accepted without messages[0].id")
	}
	return string(msg.ID), nil
}

func codeError(op string, status, code int, h http.Header, now time.Time) *provider.Error {
	kind := provider.SevenKind(code)
	if _, known := codeText[code]; !known && (status < 200 || status >= 300) {
		// An unknown code says less than a 401 or 400 around it.
		kind = provider.KindForHTTPStatus(status)
	}
	return &provider.Error{
		Provider:   ProviderName,
		Op:         op,
		Kind:       kind,
		HTTPStatus: status,
		Code:       strconv.Itoa(code),
		Message:    codeText[code],
		RetryAfter: provider.ParseRetryAfter(h.Get("Retry-After"), now),
	}
}

// codeText gives log-friendly names to seven.io return codes.
var codeText = map[int]string{
	11:  "carrier temporarily not available",
	201: "country code or sender invalid",
	202: "recipient number invalid",
	300: "authentication missing",
	301: "parameter to missing",
	304: "parameter type missing",
	305: "parameter text missing",
	306: "sender invalid",
	307: "parameter url missing",
	400: "invalid type",
	401: "text too long",
	402: "reload lock: same SMS within 180 seconds",
	403: "daily limit for this recipient reached",
	500: "not enough credits",
	600: "carrier failed",
	700: "unknown error",
	900: "authentication failed",
	901: "wrong message id",
	902: "API access disabled for this key",
	903: "server IP not allowed",
}

func snippet(b []byte) string {
	const max = 200
	s := string(b)
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}
