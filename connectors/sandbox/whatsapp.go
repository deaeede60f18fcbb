package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Wire types of the Cloud API, in the field order Meta uses, so that the
// bodies we post are byte-identical to real ones (see the fixture tests).

type waEnvelope struct {
	Object string    `json:"object"`
	Entry  []waEntry `json:"entry"`
}

type waEntry struct {
	ID      string     `json:"id"`
	Changes []waChange `json:"changes"`
}

type waChange struct {
	Value waValue `json:"value"`
	Field string  `json:"field"`
}

type waValue struct {
	MessagingProduct string      `json:"messaging_product"`
	Metadata         waMetadata  `json:"metadata"`
	Contacts         []waContact `json:"contacts,omitempty"`
	Messages         []waInbound `json:"messages,omitempty"`
	Statuses         []waStatus  `json:"statuses,omitempty"`
}

type waMetadata struct {
	DisplayPhoneNumber string `json:"display_phone_number"`
	PhoneNumberID      string `json:"phone_number_id"`
}

type waContact struct {
	Profile waProfile `json:"profile"`
	WaID    string    `json:"wa_id"`
}

type waProfile struct {
	Name string `json:"name"`
}

type waStatus struct {
	ID          string     `json:"id"`
	Status      string     `json:"status"`
	Timestamp   string     `json:"timestamp"`
	RecipientID string     `json:"recipient_id"`
	Pricing     *waPricing `json:"pricing,omitempty"`
	Errors      []waError  `json:"errors,omitempty"`
}

type waPricing struct {
	Billable     bool   `json:"billable"`
	PricingModel string `json:"pricing_model"`
	Category     string `json:"category"`
	Type         string `json:"type"`
}

type waError struct {
	Code      int         `json:"code"`
	Title     string      `json:"title"`
	Message   string      `json:"message"`
	ErrorData waErrorData `json:"error_data"`
	Href      string      `json:"href"`
}

type waErrorData struct {
	Details string `json:"details"`
}

type waInbound struct {
	From      string     `json:"from"`
	ID        string     `json:"id"`
	Timestamp string     `json:"timestamp"`
	Context   *waContext `json:"context,omitempty"`
	Type      string     `json:"type"`
	Text      *waText    `json:"text,omitempty"`
	Button    *waButton  `json:"button,omitempty"`
}

type waContext struct {
	From string `json:"from"`
	ID   string `json:"id"`
}

type waText struct {
	Body string `json:"body"`
}

type waButton struct {
	Payload string `json:"payload"`
	Text    string `json:"text"`
}

// errorTitles gives failed statuses the titles WhatsApp uses.
var errorTitles = map[int]string{
	131026: "Message undeliverable",
	131047: "Re-engagement message",
	131049: "This message was not delivered to maintain healthy ecosystem engagement.",
	131050: "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.",
	131051: "Unsupported message type",
	132015: "Template is Paused",
}

func (s *Server) envelope(v waValue) []byte {
	v.MessagingProduct = "whatsapp"
	v.Metadata = waMetadata{DisplayPhoneNumber: s.opts.DisplayPhoneNumber, PhoneNumberID: s.opts.PhoneNumberID}
	b := marshal(waEnvelope{
		Object: "whatsapp_business_account",
		Entry:  []waEntry{{ID: s.opts.WABAID, Changes: []waChange{{Value: v, Field: "messages"}}}},
	}, false)
	return b[:len(b)-1] // Meta sends one compact line without a newline
}

// statusBody builds one status webhook. category is the pricing category
// ("utility" for our templates, "service" inside the service window).
func (s *Server) statusBody(wamid, status string, at time.Time, recipient, category string, errCode int) []byte {
	st := waStatus{ID: wamid, Status: status, Timestamp: unixString(at), RecipientID: recipient}
	switch status {
	case "sent", "delivered":
		// Meta attaches pricing to sent and delivered, not to read or failed.
		p := &waPricing{Billable: true, PricingModel: "PMP", Category: category, Type: "regular"}
		if category == "service" {
			p.Billable, p.Type = false, "free_customer_service"
		}
		st.Pricing = p
	case "failed":
		title := errorTitles[errCode]
		if title == "" {
			title = "Message failed to send"
		}
		st.Errors = []waError{{
			Code: errCode, Title: title, Message: title,
			ErrorData: waErrorData{Details: detailsFor(errCode, title)},
			Href:      "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
		}}
	}
	return s.envelope(waValue{Statuses: []waStatus{st}})
}

func detailsFor(code int, title string) string {
	if code == 131026 {
		return "Message Undeliverable."
	}
	return title
}

// inboundBody builds one inbound-message webhook from a patient.
func (s *Server) inboundBody(m waInbound, profileName string) []byte {
	return s.envelope(waValue{
		Contacts: []waContact{{Profile: waProfile{Name: profileName}, WaID: m.From}},
		Messages: []waInbound{m},
	})
}

// Request side.

type waOutbound struct {
	MessagingProduct string `json:"messaging_product"`
	RecipientType    string `json:"recipient_type"`
	To               string `json:"to"`
	Type             string `json:"type"`
	Template         *struct {
		Name     string `json:"name"`
		Language struct {
			Code string `json:"code"`
		} `json:"language"`
		Components []struct {
			Type       string `json:"type"`
			SubType    string `json:"sub_type"`
			Parameters []struct {
				Type    string `json:"type"`
				Text    string `json:"text"`
				Payload string `json:"payload"`
			} `json:"parameters"`
		} `json:"components"`
	} `json:"template"`
	Text *struct {
		Body string `json:"body"`
	} `json:"text"`
	Interactive *struct {
		Type string `json:"type"`
		Body struct {
			Text string `json:"text"`
		} `json:"body"`
		Action struct {
			Buttons []struct {
				Reply struct {
					ID    string `json:"id"`
					Title string `json:"title"`
				} `json:"reply"`
			} `json:"buttons"`
		} `json:"action"`
	} `json:"interactive"`
}

var waDigits = regexp.MustCompile(`^[1-9][0-9]{6,14}$`)

func graphError(status, code int, msg, details string) (int, []byte) {
	type errBody struct {
		Message   string `json:"message"`
		Type      string `json:"type"`
		Code      int    `json:"code"`
		ErrorData struct {
			MessagingProduct string `json:"messaging_product"`
			Details          string `json:"details"`
		} `json:"error_data"`
		FBTraceID string `json:"fbtrace_id"`
	}
	e := errBody{Message: msg, Type: "OAuthException", Code: code, FBTraceID: "SandboxTrace"}
	e.ErrorData.MessagingProduct = "whatsapp"
	e.ErrorData.Details = details
	return status, marshal(map[string]errBody{"error": e}, false)
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (s *Server) handleMessages(w http.ResponseWriter, r *http.Request) {
	if !keyOK(r.Header.Get("D360-API-KEY"), s.opts.APIKey) || r.Header.Get("D360-API-KEY") == "" {
		// The shape 360dialog's gateway uses for its own (non-Meta) errors.
		writeJSON(w, http.StatusUnauthorized,
			[]byte(`{"meta":{"success":false,"http_code":401,"developer_message":"Invalid api_key"}}`))
		return
	}
	if s.injectFault(w, r, "whatsapp", func(status int) []byte {
		if status == http.StatusTooManyRequests {
			_, b := graphError(status, 130429, "(#130429) Rate limit hit", "Cloud API message throughput has been reached.")
			return b
		}
		_, b := graphError(status, 131016, "(#131016) Service unavailable", "A service is temporarily unavailable.")
		return b
	}) {
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		badRequest(w, "unreadable body")
		return
	}
	var in waOutbound
	if err := json.Unmarshal(raw, &in); err != nil {
		badRequest(w, "body is not JSON")
		return
	}
	msg, category, verr := validate(in)
	if verr != "" {
		badRequest(w, verr)
		return
	}
	digits := strings.TrimPrefix(in.To, "+")
	msg.ID = s.newWamid(digits)
	msg.Channel = "whatsapp"
	msg.To = "+" + digits
	msg.At = s.opts.Now()

	s.mu.Lock()
	s.messages = append(s.messages, msg)
	failCode := s.failNumbers[msg.To]
	s.mu.Unlock()
	s.log.Info("whatsapp message accepted", "type", msg.Type, "to", lastDigits(digits), "id", msg.ID)

	steps := s.opts.StatusSteps
	if failCode != 0 {
		steps = []string{"failed"}
	}
	if len(steps) > 0 {
		// Steps of one message go out in order from one goroutine, as the
		// real platform posts them one after the other.
		s.goAsync(func() {
			for _, st := range steps {
				body := s.statusBody(msg.ID, st, s.opts.Now(), digits, category, failCode)
				if err := s.postWhatsApp(context.Background(), body); err != nil {
					s.log.Warn("status webhook dropped", "status", st, "id", msg.ID, "err", err)
				}
			}
		})
	}

	type contact struct {
		Input string `json:"input"`
		WaID  string `json:"wa_id"`
	}
	type sent struct {
		ID            string `json:"id"`
		MessageStatus string `json:"message_status,omitempty"`
	}
	resp := struct {
		MessagingProduct string    `json:"messaging_product"`
		Contacts         []contact `json:"contacts"`
		Messages         []sent    `json:"messages"`
	}{"whatsapp", []contact{{Input: in.To, WaID: digits}}, []sent{{ID: msg.ID}}}
	if msg.Type == "template" {
		resp.Messages[0].MessageStatus = "accepted"
	}
	writeJSON(w, http.StatusOK, marshal(resp, false))
}

// badRequest answers like Meta does for a malformed send: HTTP 400, code 100.
func badRequest(w http.ResponseWriter, details string) {
	status, b := graphError(http.StatusBadRequest, 100, "(#100) Invalid parameter", details)
	writeJSON(w, status, b)
}

// validate checks what Meta would reject outright and turns the request
// into a Message. It returns a reason when the request is invalid.
func validate(in waOutbound) (Message, string, string) {
	if in.MessagingProduct != "whatsapp" {
		return Message{}, "", "messaging_product must be whatsapp"
	}
	if !waDigits.MatchString(strings.TrimPrefix(in.To, "+")) {
		return Message{}, "", "invalid to"
	}
	m := Message{Type: in.Type}
	switch in.Type {
	case "template":
		if in.Template == nil || in.Template.Name == "" || in.Template.Language.Code == "" {
			return Message{}, "", "template.name and template.language.code are required"
		}
		m.TemplateName = in.Template.Name
		m.Language = in.Template.Language.Code
		for _, c := range in.Template.Components {
			for _, p := range c.Parameters {
				switch {
				case c.Type == "body" && p.Type == "text":
					m.BodyParams = append(m.BodyParams, p.Text)
				case c.Type == "button" && p.Type == "payload":
					m.ButtonPayloads = append(m.ButtonPayloads, p.Payload)
				}
			}
		}
		return m, "utility", ""
	case "text":
		if in.Text == nil || in.Text.Body == "" {
			return Message{}, "", "text.body is required"
		}
		m.Text = in.Text.Body
		return m, "service", ""
	case "interactive":
		if in.Interactive == nil || in.Interactive.Body.Text == "" {
			return Message{}, "", "interactive.body.text is required"
		}
		m.Text = in.Interactive.Body.Text
		for _, b := range in.Interactive.Action.Buttons {
			m.ButtonPayloads = append(m.ButtonPayloads, b.Reply.ID)
		}
		return m, "service", ""
	default:
		return Message{}, "", "type must be template, text or interactive"
	}
}

func (s *Server) handleConfigWebhook(w http.ResponseWriter, r *http.Request) {
	if !keyOK(r.Header.Get("D360-API-KEY"), s.opts.APIKey) || r.Header.Get("D360-API-KEY") == "" {
		writeJSON(w, http.StatusUnauthorized,
			[]byte(`{"meta":{"success":false,"http_code":401,"developer_message":"Invalid api_key"}}`))
		return
	}
	var in struct {
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&in); err != nil || in.URL == "" {
		writeJSON(w, http.StatusBadRequest,
			[]byte(`{"meta":{"success":false,"http_code":400,"developer_message":"url is required"}}`))
		return
	}
	s.mu.Lock()
	s.webhookURL = in.URL
	s.webhookHeaders = in.Headers
	s.mu.Unlock()
	s.log.Info("webhook configured", "url", redactURL(in.URL), "headers", len(in.Headers))
	writeJSON(w, http.StatusOK, marshal(map[string]string{"url": in.URL}, false))
}

// Reply posts an inbound text from the patient at from (E.164) and returns
// its wamid. contextID, if set, marks it as an answer to that message. The
// webhook is delivered before Reply returns.
func (s *Server) Reply(ctx context.Context, from, text, contextID string) (string, error) {
	return s.inbound(ctx, from, contextID, func(m *waInbound) {
		m.Type = "text"
		m.Text = &waText{Body: text}
	})
}

// ReplyButton posts the patient's tap on a template quick-reply button
// (type "button"), as WhatsApp reports it.
func (s *Server) ReplyButton(ctx context.Context, from, payload, buttonText, contextID string) (string, error) {
	return s.inbound(ctx, from, contextID, func(m *waInbound) {
		m.Type = "button"
		m.Button = &waButton{Payload: payload, Text: buttonText}
	})
}

func (s *Server) inbound(ctx context.Context, from, contextID string, fill func(*waInbound)) (string, error) {
	digits := strings.TrimPrefix(from, "+")
	if !strings.HasPrefix(from, "+") || !waDigits.MatchString(digits) {
		return "", errors.New("sandbox: from must be E.164 with '+'")
	}
	m := waInbound{From: digits, ID: s.newWamid(digits), Timestamp: unixString(s.opts.Now())}
	if contextID != "" {
		m.Context = &waContext{From: s.opts.DisplayPhoneNumber, ID: contextID}
	}
	fill(&m)
	s.log.Info("simulated whatsapp reply", "type", m.Type, "from", lastDigits(digits), "id", m.ID)
	if err := s.postWhatsApp(ctx, s.inboundBody(m, s.opts.ProfileName)); err != nil {
		return m.ID, err
	}
	return m.ID, nil
}
