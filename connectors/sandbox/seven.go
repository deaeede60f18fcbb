package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// seven.io wire types, in the key order of seven.io's documentation (and of
// the fixture files).

type sevenDLR struct {
	Data struct {
		MsgID     string `json:"msg_id"`
		Status    string `json:"status"`
		Timestamp string `json:"timestamp"`
	} `json:"data"`
	WebhookEvent     string `json:"webhook_event"`
	WebhookTimestamp string `json:"webhook_timestamp"`
}

type sevenMO struct {
	Data struct {
		ID          string `json:"id"`
		Sender      string `json:"sender"`
		System      string `json:"system"`
		Text        string `json:"text"`
		Time        string `json:"time"`
		MessageType string `json:"message_type"`
	} `json:"data"`
	WebhookEvent     string `json:"webhook_event"`
	WebhookTimestamp string `json:"webhook_timestamp"`
}

// seven.io writes wall-clock times without a zone; the two hook types use
// different formats for webhook_timestamp.
const (
	sevenLocal      = "2006-01-02 15:04:05"
	sevenLocalMicro = "2006-01-02 15:04:05.000000"
	sevenRFC3339    = "2006-01-02T15:04:05-07:00"
)

func (s *Server) dlrBody(msgID, status string, at, hookAt time.Time) []byte {
	var d sevenDLR
	d.Data.MsgID = msgID
	d.Data.Status = status
	d.Data.Timestamp = at.In(s.opts.Location).Format(sevenLocalMicro)
	d.WebhookEvent = "dlr"
	d.WebhookTimestamp = hookAt.In(s.opts.Location).Format(sevenRFC3339)
	return marshal(d, true)
}

func (s *Server) moBody(id, sender, text string, at, hookAt time.Time) []byte {
	var m sevenMO
	m.Data.ID = id
	m.Data.Sender = sender
	m.Data.System = s.opts.SevenInboundNumber
	m.Data.Text = text
	m.Data.Time = unixString(at.In(s.opts.Location))
	m.Data.MessageType = "SMS"
	m.WebhookEvent = "sms_mo"
	m.WebhookTimestamp = hookAt.In(s.opts.Location).Format(sevenLocal)
	return marshal(m, true)
}

func (s *Server) nextSevenID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.smsSeq++
	// Ids in their own range, clear of the fixtures' 77100000001/2.
	return strconv.FormatUint(77200000000+s.smsSeq, 10)
}

// handleSevenSMS emulates POST /api/sms. seven.io reports most failures
// as HTTP 200 with a bare return code, so the emulator does the same.
func (s *Server) handleSevenSMS(w http.ResponseWriter, r *http.Request) {
	plain := func(code string) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, code)
	}
	if !keyOK(r.Header.Get("X-Api-Key"), s.opts.SevenAPIKey) || r.Header.Get("X-Api-Key") == "" {
		plain("900")
		return
	}
	if s.injectFault(w, r, "sms", func(int) []byte { return nil }) {
		return
	}
	if err := r.ParseForm(); err != nil {
		plain("700")
		return
	}
	to := strings.TrimPrefix(strings.TrimSpace(r.PostForm.Get("to")), "+")
	text := r.PostForm.Get("text")
	switch {
	case to == "":
		plain("301")
		return
	case text == "":
		plain("305")
		return
	case !waDigits.MatchString(to):
		plain("202")
		return
	}
	msg := Message{
		ID:        s.nextSevenID(),
		Channel:   "sms",
		To:        "+" + to,
		Type:      "sms",
		Text:      text,
		From:      r.PostForm.Get("from"),
		ForeignID: r.PostForm.Get("foreign_id"),
		At:        s.opts.Now(),
	}
	s.mu.Lock()
	s.messages = append(s.messages, msg)
	fail := s.failSMS[msg.To]
	s.mu.Unlock()
	s.log.Info("sms accepted", "to", lastDigits(to), "id", msg.ID)

	status := "DELIVERED"
	if fail {
		status = "NOTDELIVERED"
	}
	if s.opts.SevenWebhookURL != "" {
		s.goAsync(func() {
			now := s.opts.Now()
			if err := s.post(context.Background(), s.opts.SevenWebhookURL, nil, s.dlrBody(msg.ID, status, now, now)); err != nil {
				s.log.Warn("dlr webhook dropped", "id", msg.ID, "err", err)
			}
		})
	}

	if r.PostForm.Get("json") != "1" {
		plain("100")
		return
	}
	type sentMsg struct {
		ID        string  `json:"id"`
		Sender    string  `json:"sender"`
		Recipient string  `json:"recipient"`
		Text      string  `json:"text"`
		Encoding  string  `json:"encoding"`
		Label     *string `json:"label"`
		Parts     int     `json:"parts"`
		Price     float64 `json:"price"`
		Success   bool    `json:"success"`
		Error     *string `json:"error"`
		ErrorText *string `json:"error_text"`
	}
	resp := struct {
		Success    string    `json:"success"`
		TotalPrice float64   `json:"total_price"`
		Balance    float64   `json:"balance"`
		Debug      string    `json:"debug"`
		SMSType    string    `json:"sms_type"`
		Messages   []sentMsg `json:"messages"`
	}{
		Success: "100", TotalPrice: 0.075, Balance: 100, Debug: "false", SMSType: "direct",
		Messages: []sentMsg{{ID: msg.ID, Sender: msg.From, Recipient: to, Text: text, Encoding: "gsm",
			Parts: 1, Price: 0.075, Success: true}},
	}
	writeJSON(w, http.StatusOK, marshal(resp, false))
}

// SMSReply posts an inbound SMS (seven.io "sms_mo") from the patient at
// from (E.164) and returns its id. The hook is delivered before it returns.
func (s *Server) SMSReply(ctx context.Context, from, text string) (string, error) {
	digits := strings.TrimPrefix(from, "+")
	if !strings.HasPrefix(from, "+") || !waDigits.MatchString(digits) {
		return "", errors.New("sandbox: from must be E.164 with '+'")
	}
	if s.opts.SevenWebhookURL == "" {
		return "", errNoWebhook
	}
	s.mu.Lock()
	s.smsSeq++
	id := strconv.FormatUint(9200000+s.smsSeq, 10)
	s.mu.Unlock()
	now := s.opts.Now()
	s.log.Info("simulated sms reply", "from", lastDigits(digits), "id", id)
	return id, s.post(ctx, s.opts.SevenWebhookURL, nil, s.moBody(id, digits, text, now, now))
}

func (s *Server) anyKeyOK(r *http.Request) bool {
	k := r.Header.Get("D360-API-KEY")
	if k != "" && keyOK(k, s.opts.APIKey) {
		return true
	}
	k = r.Header.Get("X-Api-Key")
	return k != "" && keyOK(k, s.opts.SevenAPIKey)
}

// handleListMessages lets a demo or a manual tester see what was "sent".
func (s *Server) handleListMessages(w http.ResponseWriter, r *http.Request) {
	if !s.anyKeyOK(r) {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	writeJSON(w, http.StatusOK, marshal(s.Messages(), true))
}

// handleReply simulates a patient reply for manual demos of the
// standalone sandbox:
// {"channel":"whatsapp|sms","from":"+49…","text":"…","context_id":"…","button_payload":"…","button_text":"…"}.
func (s *Server) handleReply(w http.ResponseWriter, r *http.Request) {
	if !s.anyKeyOK(r) {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	var in struct {
		Channel       string `json:"channel"`
		From          string `json:"from"`
		Text          string `json:"text"`
		ContextID     string `json:"context_id"`
		ButtonPayload string `json:"button_payload"`
		ButtonText    string `json:"button_text"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&in); err != nil {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	var (
		id  string
		err error
	)
	switch {
	case in.Channel == "sms":
		id, err = s.SMSReply(r.Context(), in.From, in.Text)
	case in.ButtonPayload != "":
		id, err = s.ReplyButton(r.Context(), in.From, in.ButtonPayload, in.ButtonText, in.ContextID)
	default:
		id, err = s.Reply(r.Context(), in.From, in.Text, in.ContextID)
	}
	if err != nil {
		writeJSON(w, http.StatusBadGateway, marshal(map[string]string{"id": id, "error": err.Error()}, false))
		return
	}
	writeJSON(w, http.StatusOK, marshal(map[string]string{"id": id}, false))
}
