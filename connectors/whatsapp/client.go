// Package whatsapp talks to WhatsApp through 360dialog, which forwards the
// Meta Cloud API unchanged: outbound sends (templates and free text), inbound
// webhook parsing, and webhook authentication.
//
// Sends never retry on their own. A POST /messages that timed out may still
// have been delivered, so only the router, which knows the delivery state
// and idempotency keys, may decide to send again.
package whatsapp

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
const ProviderName = "whatsapp"

// DefaultBaseURL is 360dialog's Cloud API host.
const DefaultBaseURL = "https://waba-v2.360dialog.io"

// DefaultTimeout bounds one send when Config.Timeout is zero.
const DefaultTimeout = 20 * time.Second

// apiKeyHeader is how 360dialog authenticates clients.
const apiKeyHeader = "D360-API-KEY"

// Config configures a Client.
type Config struct {
	BaseURL    string        // default DefaultBaseURL
	APIKey     string        // 360dialog channel API key, required
	Timeout    time.Duration // per request; default DefaultTimeout
	HTTPClient *http.Client  // optional; never modified
}

// Client sends WhatsApp messages via 360dialog. It is safe for concurrent use.
type Client struct {
	rc      *resty.Client
	timeout time.Duration
	now     func() time.Time
}

// New validates cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.APIKey) == "" {
		return nil, errors.New("whatsapp: APIKey is required")
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
	// The timeout is applied per request through the context instead of
	// rc.SetTimeout, which would overwrite the caller's shared http.Client.
	rc.SetBaseURL(base).
		SetHeader(apiKeyHeader, cfg.APIKey).
		SetHeader("Accept", "application/json").
		SetRetryCount(0). // see package doc: no blind re-POST
		SetDebug(false)   // debug dumps would log patient numbers and texts
	return &Client{rc: rc, timeout: timeout, now: time.Now}, nil
}

// Template is one template message.
type Template struct {
	To                 string   // E.164 with leading '+'
	Name               string   // approved template name
	Language           string   // e.g. "de"
	BodyParams         []string // {{1}}, {{2}}, ... of the body
	QuickReplyPayloads []string // payload per quick-reply button, by index
}

// SendTemplate sends a template message and returns its wamid.
func (c *Client) SendTemplate(ctx context.Context, t Template) (string, error) {
	const op = "send_template"
	to, err := waID(op, t.To)
	if err != nil {
		return "", err
	}
	if t.Name == "" || t.Language == "" {
		return "", provider.Errorf(ProviderName, op, provider.Permanent, "template name and language are required")
	}
	// Meta rejects empty parameters (error 131008/100) only after the POST;
	// catching them here gives a clearer error and costs no request.
	for _, p := range t.BodyParams {
		if p == "" {
			return "", provider.Errorf(ProviderName, op, provider.Permanent, "empty body parameter")
		}
	}
	for _, p := range t.QuickReplyPayloads {
		if p == "" {
			return "", provider.Errorf(ProviderName, op, provider.Permanent, "empty quick-reply payload")
		}
	}
	var comps []component
	if len(t.BodyParams) > 0 {
		ps := make([]parameter, len(t.BodyParams))
		for i, p := range t.BodyParams {
			ps[i] = parameter{Type: "text", Text: p}
		}
		comps = append(comps, component{Type: "body", Parameters: ps})
	}
	for i, p := range t.QuickReplyPayloads {
		comps = append(comps, component{
			Type:       "button",
			SubType:    "quick_reply",
			Index:      strconv.Itoa(i), // Meta wants the index as a string
			Parameters: []parameter{{Type: "payload", Payload: p}},
		})
	}
	return c.send(ctx, op, outbound{
		MessagingProduct: "whatsapp",
		RecipientType:    "individual",
		To:               to,
		Type:             "template",
		Template: &templateBody{
			Name:       t.Name,
			Language:   language{Code: t.Language},
			Components: comps,
		},
	})
}

// SendText sends a free-form text. WhatsApp only allows it inside the
// 24-hour customer service window; outside it fails with NeedsTemplate.
func (c *Client) SendText(ctx context.Context, to, body string) (string, error) {
	const op = "send_text"
	id, err := waID(op, to)
	if err != nil {
		return "", err
	}
	if body == "" {
		return "", provider.Errorf(ProviderName, op, provider.Permanent, "empty text")
	}
	return c.send(ctx, op, outbound{
		MessagingProduct: "whatsapp",
		RecipientType:    "individual",
		To:               id,
		Type:             "text",
		Text:             &textBody{Body: body},
	})
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// waID turns E.164 into the digits-only form the Cloud API expects. An
// invalid number is Permanent: no retry can fix it.
func waID(op, to string) (string, error) {
	if !e164.MatchString(to) {
		return "", &provider.Error{Provider: ProviderName, Op: op, Kind: provider.Permanent,
			Code: "invalid_number", Message: "recipient is not E.164 with leading '+'"}
	}
	return to[1:], nil
}

func (c *Client) send(ctx context.Context, op string, msg outbound) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, err := c.rc.R().
		SetContext(ctx).
		SetHeader("Content-Type", "application/json").
		SetBody(msg).
		Post("/messages")
	if err != nil {
		// No (complete) response: connection refused, DNS, timeout, cancel.
		return "", &provider.Error{Provider: ProviderName, Op: op, Kind: provider.Transient, Err: err}
	}
	status := resp.StatusCode()
	body := resp.Body()
	if status >= 200 && status < 300 {
		var ok sendResponse
		if err := json.Unmarshal(body, &ok); err == nil && len(ok.Messages) > 0 && ok.Messages[0].ID != "" {
			return ok.Messages[0].ID, nil
		}
		// Accepted but unreadable: the message may be on its way. Resending
		// risks a duplicate, so this is Permanent; the router falls back or
		// alerts instead of repeating.
		return "", &provider.Error{Provider: ProviderName, Op: op, Kind: provider.Permanent,
			HTTPStatus: status, Code: "no_message_id", Message: "2xx response without messages[0].id"}
	}
	return "", parseError(op, status, resp.Header(), body, c.now())
}

// parseError turns a non-2xx response into a classified *provider.Error.
// It understands the Graph API shape {"error":{...}}, 360dialog's own
// {"meta":{...}} shape and the On-Premises {"errors":[...]} shape.
func parseError(op string, status int, h http.Header, body []byte, now time.Time) *provider.Error {
	e := &provider.Error{
		Provider:   ProviderName,
		Op:         op,
		HTTPStatus: status,
		RetryAfter: provider.ParseRetryAfter(h.Get("Retry-After"), now),
	}
	code, msg, parsed := decodeErrorBody(body)
	if code != 0 {
		e.Code = strconv.Itoa(code)
	}
	e.Message = msg
	if !parsed && len(body) > 0 {
		e.Message = snippet(body)
	}
	e.Kind = provider.WhatsAppKind(status, code)
	if code == 0 && status == http.StatusBadRequest {
		e.Kind = kindFrom360Message(msg, e.Kind)
	}
	return e
}

// kindFrom360Message: 360dialog reports some gateway conditions as a bare
// HTTP 400 with only a developer message (see its "Error Code Reference").
// Treating those as Permanent would be wrong, so look at the words.
func kindFrom360Message(msg string, fallback provider.Kind) provider.Kind {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "rate limit"):
		return provider.Transient
	case strings.Contains(m, "payment"), strings.Contains(m, "has been disabled"):
		return provider.ChannelWide
	}
	return fallback
}

type graphErrorBody struct {
	Error json.RawMessage `json:"error"`
	Meta  *struct {
		HTTPCode         int    `json:"http_code"`
		DeveloperMessage string `json:"developer_message"`
	} `json:"meta"`
	Errors []struct {
		Code    int    `json:"code"`
		Title   string `json:"title"`
		Details string `json:"details"`
	} `json:"errors"`
}

type graphError struct {
	Message      string `json:"message"`
	Type         string `json:"type"`
	Code         int    `json:"code"`
	ErrorSubcode int    `json:"error_subcode"`
	ErrorData    struct {
		Details string `json:"details"`
	} `json:"error_data"`
	FBTraceID string `json:"fbtrace_id"`
}

func decodeErrorBody(body []byte) (code int, msg string, ok bool) {
	var b graphErrorBody
	if len(bytes.TrimSpace(body)) == 0 || json.Unmarshal(body, &b) != nil {
		return 0, "", false
	}
	if len(b.Error) > 0 && string(b.Error) != "null" {
		var ge graphError
		if json.Unmarshal(b.Error, &ge) == nil {
			msg = ge.Message
			if ge.ErrorData.Details != "" && ge.ErrorData.Details != ge.Message {
				msg = joinNonEmpty(msg, ge.ErrorData.Details)
			}
			if ge.FBTraceID != "" {
				// Meta support asks for the trace id; it contains no personal data.
				msg = joinNonEmpty(msg, "fbtrace_id="+ge.FBTraceID)
			}
			return ge.Code, msg, true
		}
		var s string
		if json.Unmarshal(b.Error, &s) == nil {
			return 0, s, true
		}
	}
	if len(b.Errors) > 0 {
		e := b.Errors[0]
		return e.Code, joinNonEmpty(e.Title, e.Details), true
	}
	if b.Meta != nil && b.Meta.DeveloperMessage != "" {
		return 0, b.Meta.DeveloperMessage, true
	}
	return 0, "", false
}

func joinNonEmpty(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + ": " + b
}

// snippet keeps error texts short: an HTML error page from a proxy is not
// worth storing in full.
func snippet(b []byte) string {
	const max = 200
	s := strings.TrimSpace(string(b))
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// Wire types of the Cloud API request and response.

type outbound struct {
	MessagingProduct string        `json:"messaging_product"`
	RecipientType    string        `json:"recipient_type"`
	To               string        `json:"to"`
	Type             string        `json:"type"`
	Template         *templateBody `json:"template,omitempty"`
	Text             *textBody     `json:"text,omitempty"`
}

type templateBody struct {
	Name       string      `json:"name"`
	Language   language    `json:"language"`
	Components []component `json:"components,omitempty"`
}

type language struct {
	Code string `json:"code"`
}

type component struct {
	Type       string      `json:"type"`
	SubType    string      `json:"sub_type,omitempty"`
	Index      string      `json:"index,omitempty"`
	Parameters []parameter `json:"parameters"`
}

type parameter struct {
	Type    string `json:"type"`
	Text    string `json:"text,omitempty"`
	Payload string `json:"payload,omitempty"`
}

type textBody struct {
	Body string `json:"body"`
}

type sendResponse struct {
	Messages []struct {
		ID string `json:"id"`
	} `json:"messages"`
}
