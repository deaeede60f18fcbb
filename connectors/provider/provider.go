// Package provider holds the one error type that every messaging connector
// (WhatsApp via 360dialog, SMS via seven.io) returns, and the rules that sort
// provider failures into the few kinds the router acts on.
//
// The router does not care whether a failure was an HTTP 429, a Meta error
// code 130429 or a seven.io return code 600: it needs to know whether to try
// again later (Transient), give up on this message (Permanent), switch to a
// template because the 24-hour service window is closed (NeedsTemplate) or
// stop the whole channel and alert staff (ChannelWide). Connectors classify
// once, here, so that the router never parses provider codes itself.
package provider

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Kind says what the caller should do about a failed provider call.
type Kind int

// The zero Kind is Transient on purpose: an error nobody classified is
// retried (bounded by the router) rather than silently dropped.
const (
	// Transient failures may succeed when retried later: network errors,
	// timeouts, 5xx, rate limits.
	Transient Kind = iota
	// Permanent failures concern this one message or recipient; retrying the
	// same request will fail again.
	Permanent
	// NeedsTemplate means the free-form message was refused because the
	// customer service window is closed; a template message may still work.
	NeedsTemplate
	// ChannelWide failures affect every message on the channel (bad API key,
	// unpaid account, paused template): stop sending and tell a human.
	ChannelWide
)

// String returns the lower-case name used in logs and error texts.
func (k Kind) String() string {
	switch k {
	case Transient:
		return "transient"
	case Permanent:
		return "permanent"
	case NeedsTemplate:
		return "needs_template"
	case ChannelWide:
		return "channel_wide"
	default:
		return "kind(" + strconv.Itoa(int(k)) + ")"
	}
}

// Error describes one failed provider call.
type Error struct {
	Provider   string        // "whatsapp", "sms", ...
	Op         string        // operation, e.g. "send_template"
	Kind       Kind          // what to do about it
	HTTPStatus int           // 0 when no HTTP response arrived
	Code       string        // provider's own code ("131026", "900"), may be empty
	Message    string        // provider's explanation, never message content
	RetryAfter time.Duration // provider's hint for Transient errors; 0 = none
	Err        error         // underlying error (network, decoding), may be nil
}

// Error renders the non-empty parts upspin-style, most general first:
// "whatsapp send_template: permanent: http 400: code 131026: Message undeliverable".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Provider)
	if e.Op != "" {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(e.Op)
	}
	add := func(s string) {
		if s == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(s)
	}
	add(e.Kind.String())
	if e.HTTPStatus != 0 {
		add("http " + strconv.Itoa(e.HTTPStatus))
	}
	if e.Code != "" {
		add("code " + e.Code)
	}
	add(e.Message)
	if e.RetryAfter > 0 {
		add("retry after " + e.RetryAfter.String())
	}
	if e.Err != nil {
		add(e.Err.Error())
	}
	return b.String()
}

// Unwrap exposes the underlying error, so errors.Is(err, context.Canceled)
// keeps working through a provider error.
func (e *Error) Unwrap() error { return e.Err }

// KindOf reports the Kind of the first *Error in err's chain. Anything
// else, including network errors, timeouts and nil, is Transient: when we
// cannot tell, a bounded retry is safer than losing a reminder.
func KindOf(err error) Kind {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Kind
	}
	return Transient
}

// RetryAfterOf returns the provider's Retry-After hint from err's chain, or 0.
func RetryAfterOf(err error) time.Duration {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.RetryAfter
	}
	return 0
}

// KindForHTTPStatus classifies a bare HTTP status when the body carries no
// provider code we recognise.
func KindForHTTPStatus(status int) Kind {
	switch {
	case status == http.StatusUnauthorized, status == http.StatusForbidden,
		status == http.StatusPaymentRequired:
		// Credentials or billing: every further message fails the same way.
		return ChannelWide
	case status == http.StatusRequestTimeout, status == http.StatusTooEarly,
		status == http.StatusTooManyRequests:
		return Transient
	case status >= 400 && status < 500:
		return Permanent
	default:
		// 5xx and anything unexpected (1xx/3xx leaking through a proxy).
		return Transient
	}
}

// whatsAppCodes maps Meta Cloud API error codes (error.code in API
// responses, statuses[].errors[].code in webhooks) to a Kind. Codes not
// listed fall back to the HTTP status.
// Source: developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes.
var whatsAppCodes = map[int]Kind{
	// Throttling and temporary platform trouble.
	1:      Transient, // API Unknown
	2:      Transient, // API Service (temporary downtime)
	4:      Transient, // API Too Many Calls
	80007:  Transient, // WABA rate limit
	130429: Transient, // Cloud API throughput reached
	131000: Transient, // Something went wrong
	131016: Transient, // Service unavailable
	131048: Transient, // Spam rate limit hit (quality-based, lifts over time)
	131056: Transient, // Pair rate limit: too many messages to the same user
	131057: Transient, // Account in maintenance mode
	133004: Transient, // Server temporarily unavailable

	// This message or this recipient.
	100:    Permanent, // Invalid parameter (e.g. invalid phone number)
	131008: Permanent, // Required parameter missing
	131009: Permanent, // Parameter value invalid
	131021: Permanent, // Recipient cannot be sender
	131026: Permanent, // Message undeliverable (no WhatsApp, old app, blocked)
	131030: Permanent, // Recipient not in allowed list (test numbers)
	131050: Permanent, // User stopped marketing messages
	131051: Permanent, // Unsupported message type
	131052: Permanent, // Media download error
	131053: Permanent, // Media upload error
	130472: Permanent, // User's number is part of an experiment
	132000: Permanent, // Template parameter count mismatch
	132001: Permanent, // Template does not exist (in this language)
	132005: Permanent, // Translated text too long
	132007: Permanent, // Template format character policy violated
	132012: Permanent, // Template parameter format mismatch

	// The 24-hour customer service window is closed.
	131047: NeedsTemplate, // Re-engagement message
	470:    NeedsTemplate, // Same condition, On-Premises code still seen via some BSPs

	// The whole channel is unusable until a human acts.
	3:      ChannelWide, // API Method: capability or permission issue
	10:     ChannelWide, // Permission denied
	190:    ChannelWide, // Access token expired
	368:    ChannelWide, // Temporarily blocked for policy violations
	131031: ChannelWide, // Business account locked
	131037: ChannelWide, // Display name not approved
	131042: ChannelWide, // Business eligibility: payment issue
	131045: ChannelWide, // Incorrect certificate / number not registered
	132015: ChannelWide, // Template paused for low quality
	132016: ChannelWide, // Template disabled
	133010: ChannelWide, // Phone number not registered
}

// WhatsAppKind classifies a WhatsApp (Meta Cloud API) failure. A known Meta
// code wins over the HTTP status because Meta reports most conditions,
// including rate limits, as HTTP 400. code 0 means "no code": Meta's code 0
// (AuthException) always arrives with HTTP 401, which classifies the same.
// httpStatus 0 means "no HTTP response" (asynchronous webhook errors).
func WhatsAppKind(httpStatus, code int) Kind {
	if code != 0 {
		if k, ok := whatsAppCodes[code]; ok {
			return k
		}
		if code >= 200 && code <= 299 {
			return ChannelWide // API Permission range
		}
	}
	if httpStatus == 0 {
		return Transient
	}
	return KindForHTTPStatus(httpStatus)
}

// seven.io return codes that are failures. 100 (sent) and 101 (sent to
// some recipients) are successes and not listed.
// Sources: seven.io HTTP API docs as mirrored by seven-io/go-client and
// seven-io/js-client (ERROR_CODES).
var sevenCodes = map[int]Kind{
	11:  Transient, // SMS carrier temporarily not available
	600: Transient, // Carrier failed
	700: Transient, // Unknown error

	201: Permanent, // Country code / sender invalid for this recipient
	202: Permanent, // Recipient number invalid
	301: Permanent, // Parameter to missing
	304: Permanent, // Parameter type missing
	305: Permanent, // Parameter text missing
	307: Permanent, // Parameter url missing
	400: Permanent, // Invalid type
	401: Permanent, // Text too long (not "out of credit", that is 500)
	// 402 reload lock: the same SMS went to the same number within 180 s.
	// The first one was accepted, so repeating would double-send.
	402: Permanent,
	// 403: daily limit for this recipient reached; it will not lift within a
	// reminder's useful lifetime, so do not keep retrying.
	403: Permanent,
	901: Permanent, // Wrong message id (status/delete calls)

	300: ChannelWide, // Authentication missing
	306: ChannelWide, // Sender invalid: a configuration problem, every SMS fails
	500: ChannelWide, // Not enough credits
	900: ChannelWide, // Authentication failed (wrong API key)
	902: ChannelWide, // API access disabled for this key
	903: ChannelWide, // Server IP not allowed
}

// SevenKind classifies a seven.io return code. Unknown codes are Transient.
// Do not call it with the success codes 100 and 101.
func SevenKind(code int) Kind {
	if k, ok := sevenCodes[code]; ok {
		return k
	}
	return Transient
}

// ParseRetryAfter reads a Retry-After header value, either delay-seconds or
// an HTTP date (RFC 9110 §10.2.3), relative to now. It returns 0 for an
// empty, malformed or past value.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// Errorf is a small convenience for connectors building an Error without an
// HTTP response (validation, decoding).
func Errorf(providerName, op string, kind Kind, format string, args ...any) *Error {
	return &Error{Provider: providerName, Op: op, Kind: kind, Message: fmt.Sprintf(format, args...)}
}
