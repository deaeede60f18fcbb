// Package sandbox emulates the two messaging providers praxisbote talks
// to, 360dialog (WhatsApp Cloud API) and seven.io (SMS), in process or as a
// standalone server, so that demos and tests run without real numbers, real
// money or the internet.
//
// The emulator accepts sends like the real APIs, records them, and then
// posts the webhooks a real provider would post (statuses, delivery
// reports, patient replies) in the real wire format. It deliberately shares
// no code with the connectors: a bug in a connector's reading of the wire
// format must not be mirrored by the emulator and so hidden.
//
// Webhooks are delivered asynchronously, as in production; Wait blocks
// until all of them have arrived, which makes tests deterministic.
package sandbox

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"
)

// Defaults match the practice values of the test cases.
const (
	DefaultPhoneNumberID      = "115200000000001"
	DefaultDisplayPhoneNumber = "493023125100"
	DefaultWABAID             = "102300000000001"
	DefaultSevenInboundNumber = "4917604069099"
	DefaultProfileName        = "Sandbox Patient"
)

// DefaultStatusSteps are the statuses posted for every accepted WhatsApp message.
var DefaultStatusSteps = []string{"sent", "delivered", "read"}

// Options configures a Server. Only APIKey and the webhook URLs matter for
// most uses.
type Options struct {
	APIKey          string            // D360-API-KEY clients must send; empty accepts any key
	SevenAPIKey     string            // X-Api-Key for /api/sms; empty accepts any key
	WebhookURL      string            // where WhatsApp webhooks go (also settable via /v1/configs/webhook)
	WebhookHeaders  map[string]string // extra headers on every WhatsApp webhook (e.g. the shared secret)
	SigningSecret   string            // if set, WhatsApp webhooks carry x-360dialog-signature
	SevenWebhookURL string            // where seven.io hooks go, including any ?token=

	Now                func() time.Time // clock for webhook timestamps; default time.Now
	PhoneNumberID      string           // default DefaultPhoneNumberID
	DisplayPhoneNumber string           // default DefaultDisplayPhoneNumber
	WABAID             string           // entry[].id; default DefaultWABAID
	SevenInboundNumber string           // "system" of sms_mo hooks; default DefaultSevenInboundNumber
	ProfileName        string           // contacts[].profile.name of replies; default DefaultProfileName
	// StatusSteps are posted in order after each accepted WhatsApp send.
	// nil means DefaultStatusSteps; an empty non-nil slice posts none.
	StatusSteps []string
	// Location is the zone of seven.io's zone-less timestamps; default
	// Europe/Berlin (UTC if the host has no zoneinfo).
	Location *time.Location

	WebhookRetries int           // retries after a failed webhook POST; default 3
	WebhookBackoff time.Duration // first retry delay, doubling; default 50ms
	HTTPClient     *http.Client  // for webhook POSTs; default 5 s timeout
	Logger         *slog.Logger  // default discards
}

// Message is one outbound message the sandbox accepted.
type Message struct {
	ID             string    // wamid or seven.io msg_id
	Channel        string    // "whatsapp" or "sms"
	To             string    // E.164 with '+'
	Type           string    // template, text, interactive (whatsapp) or sms
	TemplateName   string    // template.name
	Language       string    // template.language.code
	BodyParams     []string  // body parameters of a template
	ButtonPayloads []string  // quick-reply payloads, or interactive reply button ids
	Text           string    // text body, interactive body text, or SMS text
	From           string    // SMS sender ("from")
	ForeignID      string    // SMS foreign_id
	At             time.Time // when accepted (Options.Now)
}

// Fault makes a share of API requests fail before they are processed, to
// drive retry logic. Decisions come from a generator seeded with Seed, so a
// test sees the same sequence every run.
type Fault struct {
	Rate       float64       // 0..1; 1 fails every request
	Status     int           // HTTP status; default 503
	RetryAfter time.Duration // sent as Retry-After (whole seconds) when > 0
	Delay      time.Duration // hold the request this long first (client timeouts)
	Seed       uint64
	Channel    string // "whatsapp", "sms" or "" for both
	// Mixed draws each failure from a mix like a bad day at a provider:
	// 500, 503, 429 with Retry-After 1s, and a response held back past
	// Delay (a client timeout). Status and RetryAfter are then ignored.
	Mixed bool
}

// Server is the emulator. Create it with New.
type Server struct {
	opts Options
	log  *slog.Logger
	hc   *http.Client

	mu             sync.Mutex
	messages       []Message
	webhookURL     string
	webhookHeaders map[string]string
	failNumbers    map[string]int // E.164 -> WhatsApp error code
	failSMS        map[string]bool
	fault          Fault
	rng            *rand.Rand
	seq            uint64
	smsSeq         uint64
	pending        int
	waiters        []chan struct{}
	failures       int
}

// New returns a Server with defaults filled in.
func New(o Options) *Server {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PhoneNumberID == "" {
		o.PhoneNumberID = DefaultPhoneNumberID
	}
	if o.DisplayPhoneNumber == "" {
		o.DisplayPhoneNumber = DefaultDisplayPhoneNumber
	}
	if o.WABAID == "" {
		o.WABAID = DefaultWABAID
	}
	if o.SevenInboundNumber == "" {
		o.SevenInboundNumber = DefaultSevenInboundNumber
	}
	if o.ProfileName == "" {
		o.ProfileName = DefaultProfileName
	}
	if o.StatusSteps == nil {
		o.StatusSteps = DefaultStatusSteps
	}
	if o.WebhookRetries == 0 {
		o.WebhookRetries = 3
	}
	if o.WebhookRetries < 0 {
		o.WebhookRetries = 0
	}
	if o.WebhookBackoff <= 0 {
		o.WebhookBackoff = 50 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Second}
	}
	if o.Location == nil {
		loc, err := time.LoadLocation("Europe/Berlin")
		if err != nil {
			o.Logger.Warn("no zoneinfo for Europe/Berlin; seven.io timestamps in UTC", "err", err)
			loc = time.UTC
		}
		o.Location = loc
	}
	headers := make(map[string]string, len(o.WebhookHeaders))
	for k, v := range o.WebhookHeaders {
		headers[k] = v
	}
	return &Server{
		opts:           o,
		log:            o.Logger.With("component", "sandbox"),
		hc:             hc,
		webhookURL:     o.WebhookURL,
		webhookHeaders: headers,
		failNumbers:    map[string]int{},
		failSMS:        map[string]bool{},
		rng:            rand.New(rand.NewPCG(0, 0)),
	}
}

// Handler serves the emulated APIs:
//
//	POST /messages            360dialog / Cloud API send
//	POST /v1/configs/webhook  360dialog webhook target {"url","headers"}
//	POST /api/sms             seven.io send (form-encoded)
//	GET  /_sandbox/messages   recorded outbound messages (JSON)
//	POST /_sandbox/reply      simulate a patient reply (JSON), for manual demos
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /messages", s.handleMessages)
	mux.HandleFunc("POST /v1/configs/webhook", s.handleConfigWebhook)
	mux.HandleFunc("POST /api/sms", s.handleSevenSMS)
	mux.HandleFunc("GET /_sandbox/messages", s.handleListMessages)
	mux.HandleFunc("POST /_sandbox/reply", s.handleReply)
	return mux
}

// Messages returns a copy of all accepted outbound messages, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		m.BodyParams = append([]string(nil), m.BodyParams...)
		m.ButtonPayloads = append([]string(nil), m.ButtonPayloads...)
		out[i] = m
	}
	return out
}

// FailNumber makes WhatsApp sends to the E.164 number to fail the way
// WhatsApp fails undeliverable messages: the API accepts (and returns a
// wamid), then a "failed" status with errors[0].code = code follows. code 0
// removes the rule. SMS to the number are unaffected (a number that is not
// on WhatsApp usually still takes SMS); see FailSMS.
func (s *Server) FailNumber(to string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == 0 {
		delete(s.failNumbers, to)
		return
	}
	s.failNumbers[to] = code
}

// FailSMS makes SMS to the E.164 number get a NOTDELIVERED report (fail
// true) or delivers them again (fail false).
func (s *Server) FailSMS(to string, fail bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if fail {
		s.failSMS[to] = true
	} else {
		delete(s.failSMS, to)
	}
}

// Fault sets (or, with the zero Fault, clears) request fault injection and
// reseeds its generator.
func (s *Server) Fault(f Fault) {
	if f.Status == 0 {
		f.Status = http.StatusServiceUnavailable
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
	s.rng = rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15))
}

// WebhookFailures counts webhook POST attempts that failed (network error
// or non-2xx), including attempts that a later retry made good.
func (s *Server) WebhookFailures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failures
}

// Wait blocks until every asynchronous webhook scheduled so far has been
// delivered or given up, or ctx ends.
func (s *Server) Wait(ctx context.Context) error {
	s.mu.Lock()
	if s.pending == 0 {
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	s.waiters = append(s.waiters, ch)
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// goAsync runs fn in the background and counts it as pending. It must be
// called before the API response is written, so that a client that got its
// message id and then calls Wait also waits for that message's webhooks.
func (s *Server) goAsync(fn func()) {
	s.mu.Lock()
	s.pending++
	s.mu.Unlock()
	go func() {
		defer func() {
			s.mu.Lock()
			s.pending--
			if s.pending == 0 {
				for _, w := range s.waiters {
					close(w)
				}
				s.waiters = nil
			}
			s.mu.Unlock()
		}()
		fn()
	}()
}

// injectFault decides whether this request fails and, if so, answers it.
// It reports whether the request was answered.
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request, channel string, body func(status int) []byte) bool {
	s.mu.Lock()
	f := s.fault
	hit := f.Rate > 0 && (f.Channel == "" || f.Channel == channel) && s.rng.Float64() < f.Rate
	if hit && f.Mixed {
		switch s.rng.IntN(4) {
		case 0:
			f.Status, f.RetryAfter, f.Delay = http.StatusInternalServerError, 0, 0
		case 1:
			f.Status, f.RetryAfter, f.Delay = http.StatusServiceUnavailable, 0, 0
		case 2:
			f.Status, f.RetryAfter, f.Delay = http.StatusTooManyRequests, time.Second, 0
		default:
			f.Status, f.RetryAfter = http.StatusGatewayTimeout, 0
		}
	}
	s.mu.Unlock()
	if !hit {
		return false
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	if f.RetryAfter > 0 {
		secs := int(f.RetryAfter / time.Second)
		if secs < 1 {
			secs = 1
		}
		w.Header().Set("Retry-After", itoa(secs))
	}
	s.log.Info("fault injected", "channel", channel, "status", f.Status)
	b := body(f.Status)
	if len(b) > 0 {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(f.Status)
	_, _ = w.Write(b)
	return true
}

// keyOK compares API keys in constant time. An empty expected key accepts
// anything: handy for demos, never used with real credentials.
func keyOK(got, want string) bool {
	if want == "" {
		return true
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// ListenAndServe runs the emulator on addr until ctx ends.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

// Serve runs the emulator on ln until ctx ends, then waits briefly for
// pending webhooks so a demo does not lose its last status update.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	s.log.Info("sandbox listening", "addr", ln.Addr().String(),
		"whatsapp_webhook", redactURL(s.currentWebhookURL()),
		"seven_webhook", redactURL(s.opts.SevenWebhookURL))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if werr := s.Wait(shutdownCtx); werr != nil {
		s.log.Warn("webhooks still pending at shutdown", "err", werr)
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	s.log.Info("sandbox stopped")
	return err
}

func (s *Server) currentWebhookURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhookURL
}
