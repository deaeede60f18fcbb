package whatsapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/praxisbote/praxisbote/connectors/provider"
)

// Notification is one webhook POST flattened: Meta batches several
// statuses or messages, from several entries and changes, into one body.
type Notification struct {
	Statuses []Status
	Messages []InboundMessage
	// Errors are account-level problems reported in value.errors, outside
	// any single message (e.g. a webhook delivery problem).
	Errors []WebhookError
}

// Status is a delivery status of an outbound message.
type Status struct {
	MessageID     string    // wamid of our outbound message
	RecipientID   string    // wa_id, international digits without '+'
	Status        string    // sent, delivered, read, failed, ...
	Timestamp     time.Time // UTC
	ErrorCode     int       // errors[0].code, 0 if none
	ErrorTitle    string    // errors[0].title
	PhoneNumberID string    // our business number's id (metadata)
}

// RecipientE164 returns the recipient with a leading '+'. wa_id values are
// already international; parsing them as national German numbers would
// produce a wrong but "valid" landline.
func (s Status) RecipientE164() string { return plus(s.RecipientID) }

// Err returns nil unless the status is "failed"; then it returns the
// asynchronous failure as a classified *provider.Error (131026 is Permanent,
// 131047 NeedsTemplate, ...), so the router treats webhook failures and
// send-time failures alike.
func (s Status) Err() error {
	if s.Status != "failed" {
		return nil
	}
	e := &provider.Error{
		Provider: ProviderName,
		Op:       "status",
		Kind:     provider.WhatsAppKind(0, s.ErrorCode),
		Message:  s.ErrorTitle,
	}
	if s.ErrorCode != 0 {
		e.Code = strconv.Itoa(s.ErrorCode)
	}
	return e
}

// InboundMessage is a message a patient sent to the practice.
type InboundMessage struct {
	ID                    string    // wamid of the inbound message
	From                  string    // wa_id, international digits without '+'
	Timestamp             time.Time // UTC
	Type                  string    // text, button, interactive, reaction, image, ... (passed through)
	Text                  string    // text.body for type text
	ButtonPayload         string    // button.payload (template quick reply)
	ButtonText            string    // button.text
	InteractiveReplyID    string    // interactive.button_reply.id or list_reply.id
	InteractiveReplyTitle string    // ... .title
	ContextID             string    // context.id: the wamid this message answers
	ReactionEmoji         string    // reaction.emoji ("" = reaction removed)
	ReactionMessageID     string    // reaction.message_id
	ProfileName           string    // contacts[].profile.name of the sender
	PhoneNumberID         string    // our business number's id (metadata)
}

// FromE164 returns the sender with a leading '+'; see Status.RecipientE164.
func (m InboundMessage) FromE164() string { return plus(m.From) }

// WebhookError is an entry of value.errors.
type WebhookError struct {
	Code    int
	Title   string
	Message string
	Details string
}

// ErrNotWhatsApp is returned for JSON that is not a WhatsApp Business
// Account notification (e.g. a Page or Instagram webhook on the same URL).
var ErrNotWhatsApp = errors.New("whatsapp: not a whatsapp_business_account notification")

// ParseWebhook flattens a Meta Cloud API webhook body. Changes other than
// field "messages" (template status updates, account updates) are skipped,
// and message types it does not know are returned with only the common
// fields set, so that new WhatsApp features never make a webhook fail.
func ParseWebhook(body []byte) (Notification, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return Notification{}, fmt.Errorf("whatsapp: decode webhook: %w", err)
	}
	if env.Object != "whatsapp_business_account" {
		return Notification{}, ErrNotWhatsApp
	}
	var n Notification
	for _, e := range env.Entry {
		for _, ch := range e.Changes {
			if ch.Field != "" && ch.Field != "messages" {
				continue
			}
			v := ch.Value
			pnid := v.Metadata.PhoneNumberID
			for _, s := range v.Statuses {
				ts, err := unixString(s.Timestamp)
				if err != nil {
					return Notification{}, fmt.Errorf("whatsapp: status %s: %w", s.ID, err)
				}
				st := Status{
					MessageID:     s.ID,
					RecipientID:   s.RecipientID,
					Status:        s.Status,
					Timestamp:     ts,
					PhoneNumberID: pnid,
				}
				if len(s.Errors) > 0 {
					st.ErrorCode = s.Errors[0].Code
					st.ErrorTitle = s.Errors[0].Title
				}
				n.Statuses = append(n.Statuses, st)
			}
			names := make(map[string]string, len(v.Contacts))
			for _, c := range v.Contacts {
				names[c.WaID] = c.Profile.Name
			}
			for _, m := range v.Messages {
				ts, err := unixString(m.Timestamp)
				if err != nil {
					return Notification{}, fmt.Errorf("whatsapp: message %s: %w", m.ID, err)
				}
				im := InboundMessage{
					ID:            m.ID,
					From:          m.From,
					Timestamp:     ts,
					Type:          m.Type,
					ProfileName:   names[m.From],
					PhoneNumberID: pnid,
				}
				if m.Context != nil {
					im.ContextID = m.Context.ID
				}
				if m.Text != nil {
					im.Text = m.Text.Body
				}
				if m.Button != nil {
					im.ButtonPayload = m.Button.Payload
					im.ButtonText = m.Button.Text
				}
				if m.Interactive != nil {
					r := m.Interactive.ButtonReply
					if r == nil {
						r = m.Interactive.ListReply
					}
					if r != nil {
						im.InteractiveReplyID = r.ID
						im.InteractiveReplyTitle = r.Title
					}
				}
				if m.Reaction != nil {
					im.ReactionEmoji = m.Reaction.Emoji
					im.ReactionMessageID = m.Reaction.MessageID
				}
				n.Messages = append(n.Messages, im)
			}
			for _, e := range v.Errors {
				n.Errors = append(n.Errors, WebhookError{
					Code: e.Code, Title: e.Title, Message: e.Message, Details: e.ErrorData.Details,
				})
			}
		}
	}
	return n, nil
}

// unixString parses Meta's timestamps: Unix seconds as a JSON string.
func unixString(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	secs, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad timestamp %q", s)
	}
	return time.Unix(secs, 0).UTC(), nil
}

func plus(digits string) string {
	if digits == "" {
		return ""
	}
	return "+" + digits
}

// Wire types of the webhook envelope; only the fields we use.

type envelope struct {
	Object string `json:"object"`
	Entry  []struct {
		ID      string `json:"id"`
		Changes []struct {
			Field string      `json:"field"`
			Value changeValue `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

type changeValue struct {
	Metadata struct {
		DisplayPhoneNumber string `json:"display_phone_number"`
		PhoneNumberID      string `json:"phone_number_id"`
	} `json:"metadata"`
	Contacts []struct {
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
		WaID string `json:"wa_id"`
	} `json:"contacts"`
	Statuses []struct {
		ID          string      `json:"id"`
		Status      string      `json:"status"`
		Timestamp   string      `json:"timestamp"`
		RecipientID string      `json:"recipient_id"`
		Errors      []wireError `json:"errors"`
	} `json:"statuses"`
	Messages []struct {
		From      string `json:"from"`
		ID        string `json:"id"`
		Timestamp string `json:"timestamp"`
		Type      string `json:"type"`
		Context   *struct {
			From string `json:"from"`
			ID   string `json:"id"`
		} `json:"context"`
		Text *struct {
			Body string `json:"body"`
		} `json:"text"`
		Button *struct {
			Payload string `json:"payload"`
			Text    string `json:"text"`
		} `json:"button"`
		Interactive *struct {
			Type        string `json:"type"`
			ButtonReply *reply `json:"button_reply"`
			ListReply   *reply `json:"list_reply"`
		} `json:"interactive"`
		Reaction *struct {
			MessageID string `json:"message_id"`
			Emoji     string `json:"emoji"`
		} `json:"reaction"`
	} `json:"messages"`
	Errors []wireError `json:"errors"`
}

type reply struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

type wireError struct {
	Code      int    `json:"code"`
	Title     string `json:"title"`
	Message   string `json:"message"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
}
