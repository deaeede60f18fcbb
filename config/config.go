// Package config reads praxisbote's YAML configuration. Unknown keys are
// errors, every setting can be overridden from the environment
// (PRAXISBOTE_<SECTION>_<KEY>), and secrets come only from the environment
// or files, never from the YAML itself.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/praxisbote/praxisbote/pipelines/delivery"
	"github.com/praxisbote/praxisbote/pipelines/reminders"
	"github.com/praxisbote/praxisbote/schemas"
)

// Config is the whole configuration of one praxisbote installation.
type Config struct {
	// Practice is the dental practice this installation serves.
	Practice Practice `yaml:"practice"`
	// Reminders are the practice's reminder rules and quiet hours.
	Reminders Reminders `yaml:"reminders"`
	// Templates are the approved WhatsApp templates, one per purpose.
	Templates []Template `yaml:"templates"`
	// Consent declares what each consent text version covers.
	Consent Consent `yaml:"consent"`
	// WhatsApp is the 360dialog connection.
	WhatsApp WhatsApp `yaml:"whatsapp"`
	// SMS is the seven.io connection.
	SMS SMS `yaml:"sms"`
	// Delivery controls retries, rate limits and channel pauses.
	Delivery Delivery `yaml:"delivery"`
	// HTTP is the webhook and API server.
	HTTP HTTP `yaml:"http"`
	// Ingest controls the watched export folder.
	Ingest Ingest `yaml:"ingest"`
	// Writeback controls where answers for the PMS are written.
	Writeback Writeback `yaml:"writeback"`
}

// Practice describes the practice.
type Practice struct {
	// ID is a short stable identifier, written into every writeback line.
	ID string `yaml:"id"`
	// Name is shown to patients in messages.
	Name string `yaml:"name"`
	// TimeZone is the IANA zone of local times in exports and rules.
	TimeZone string `yaml:"time_zone"`
	// Code is the practice code of the QR opt-in ("Anmelden <code>").
	Code string `yaml:"code"`
	// Source names the PMS whose patient numbers the exports carry.
	Source string `yaml:"source"`
	// WhatsAppNumber is the practice's WhatsApp business number (E.164);
	// the QR poster opens a chat with it.
	WhatsAppNumber string `yaml:"whatsapp_number"`
}

// Reminders holds the reminder policy.
type Reminders struct {
	// Rules; empty means 48 h before and the day before at 13:00.
	Rules []reminders.Rule `yaml:"rules"`
	// QuietHours; empty means 20:00–08:00.
	QuietHours reminders.QuietHours `yaml:"quiet_hours"`
	// NotifyChanges sends an appointment_change message when a later
	// export moves an appointment (with consent for that purpose).
	NotifyChanges bool `yaml:"notify_changes"`
	// ConfirmNewBookings sends an appointment_change message for an
	// appointment that appears in a later export of a source (never for
	// the first file of a source, which lists existing bookings).
	ConfirmNewBookings bool `yaml:"confirm_new_bookings"`
}

// Template is one approved WhatsApp template and its SMS text.
type Template struct {
	// Name is the template name approved by Meta.
	Name string `yaml:"name"`
	// Language is the template language code, e.g. "de".
	Language string `yaml:"language"`
	// Category is Meta's template category (UTILITY for reminders).
	Category string `yaml:"category"`
	// Purpose binds the template to one allowed purpose.
	Purpose string `yaml:"purpose"`
	// SMSText is sent instead when the message goes by SMS.
	SMSText string `yaml:"sms_text"`
	// Event picks among templates of one purpose: "moved" or "booked" for
	// appointment_change; empty for the purpose's default.
	Event string `yaml:"event"`
}

// Consent declares consent texts.
type Consent struct {
	// Texts maps a consent text version to the purposes it covers.
	Texts map[string][]string `yaml:"texts"`
	// CurrentText is the version a QR opt-in agrees to.
	CurrentText string `yaml:"current_text"`
	// OptInReply answers a QR opt-in; it says how to withdraw.
	// Placeholders: {{practice}}, {{code}}.
	OptInReply string `yaml:"opt_in_reply"`
	// StopReply confirms a withdrawal.
	StopReply string `yaml:"stop_reply"`
}

// WhatsApp is the 360dialog connection. The API key comes from
// PRAXISBOTE_WHATSAPP_API_KEY (or the sandbox's when BaseURL is "sandbox").
type WhatsApp struct {
	// BaseURL of the 360dialog API; "sandbox" runs the built-in emulator.
	BaseURL string `yaml:"base_url"`
	// Timeout of one API call.
	Timeout time.Duration `yaml:"timeout"`
}

// SMS is the seven.io connection. The API key comes from
// PRAXISBOTE_SMS_API_KEY; hooks must carry PRAXISBOTE_SMS_HOOK_TOKEN (or,
// unset, the webhook secret) as ?token= in their URL.
type SMS struct {
	// BaseURL of the seven.io API; "sandbox" runs the built-in emulator,
	// empty disables SMS.
	BaseURL string `yaml:"base_url"`
	// Sender is the practice's sender id (max 11 characters) or number.
	Sender string `yaml:"sender"`
	// Timeout of one API call.
	Timeout time.Duration `yaml:"timeout"`
}

// Delivery controls how sends are paced and retried.
type Delivery struct {
	// Retry is the retry budget and backoff for transient failures.
	Retry delivery.RetryPolicy `yaml:"retry"`
	// RatePerSecond caps sends per sending number (WhatsApp: 80/s).
	RatePerSecond float64 `yaml:"rate_per_second"`
	// RecipientSpacing is the least time between two messages to the same
	// number (WhatsApp asks for about 6 s).
	RecipientSpacing time.Duration `yaml:"recipient_spacing"`
	// ChannelPause is how long a channel rests after a channel-wide error
	// (bad key, paused template, no credit) before it is tried again.
	ChannelPause time.Duration `yaml:"channel_pause"`
	// UndeliveredFallback is how long a WhatsApp message may stay without
	// a "delivered" before the patient's other consented channel is tried
	// (0: never).
	UndeliveredFallback time.Duration `yaml:"undelivered_fallback"`
}

// HTTP is the server for provider webhooks and the API.
type HTTP struct {
	// Listen is the address the server binds.
	Listen string `yaml:"listen"`
	// PublicURL is how providers reach the server; defaults to Listen.
	PublicURL string `yaml:"public_url"`
}

// Ingest controls the watched folder.
type Ingest struct {
	// StableFor is how long a file's size and mtime must not change
	// before it is read.
	StableFor time.Duration `yaml:"stable_for"`
	// Rescan is the period of the full rescan that catches what file
	// events miss (network shares).
	Rescan time.Duration `yaml:"rescan"`
	// Profile forces one tabular mapping profile (a name or a .yaml file);
	// empty picks by content.
	Profile string `yaml:"profile"`
	// ProfilesDir holds extra mapping profiles (*.yaml) written for this
	// practice's PMS; they are tried before the built-in ones.
	ProfilesDir string `yaml:"profiles_dir"`
	// Inbox overrides <data dir>/inbox.
	Inbox string `yaml:"inbox"`
}

// Writeback controls answers to the PMS.
type Writeback struct {
	// Dir overrides <data dir>/writeback (the PMS import folder).
	Dir string `yaml:"dir"`
	// Format is csv (one ';' line per answer) or gdt (a GDT 6310 record
	// per answer, filed by the PMS under the patient).
	Format string `yaml:"format"`
	// GDTReceiver and GDTSender are the GDT ids (8315/8316) of the PMS and
	// of praxisbote.
	GDTReceiver string `yaml:"gdt_receiver"`
	GDTSender   string `yaml:"gdt_sender"`
}

// Default is the configuration without a file: the fictional practice of
// the bundled fixtures, the sandbox as provider.
func Default() Config {
	return Config{
		Practice:  Practice{ID: "praxis-dr-beispiel", Name: "Zahnarztpraxis Dr. Beispiel", TimeZone: "Europe/Berlin", Code: "PRAXIS-7F3K", Source: "pms", WhatsAppNumber: "+493023125100"},
		Reminders: Reminders{Rules: reminders.DefaultRules(), QuietHours: reminders.DefaultQuietHours(), NotifyChanges: true},
		Templates: []Template{
			{Name: "termin_erinnerung", Language: "de", Category: "UTILITY", Purpose: string(schemas.PurposeAppointmentReminder),
				SMSText: "Erinnerung an Ihren Termin am {{date}} um {{time}} in der {{practice}}. Antworten Sie 1 zum Bestätigen, 2 zum Absagen, STOP zum Abmelden."},
			{Name: "termin_gebucht", Language: "de", Category: "UTILITY", Purpose: string(schemas.PurposeAppointmentChange), Event: "booked",
				SMSText: "Ihr Termin in der {{practice}}: {{date}} um {{time}}. Antworten Sie 1 zum Bestätigen, 2 zum Absagen, STOP zum Abmelden."},
			{Name: "termin_verschoben", Language: "de", Category: "UTILITY", Purpose: string(schemas.PurposeAppointmentChange), Event: "moved",
				SMSText: "Ihr Termin in der {{practice}} wurde verlegt auf {{date}} um {{time}}. Antworten Sie 1 zum Bestätigen, 2 zum Absagen, STOP zum Abmelden."},
			{Name: "einwilligung_bestaetigt", Language: "de", Category: "UTILITY", Purpose: string(schemas.PurposeConsentConfirmation),
				SMSText: "Sie erhalten Terminerinnerungen der {{practice}}. Antworten Sie STOP, um sich abzumelden."},
		},
		Consent: Consent{
			Texts:       map[string][]string{"EW-2026-11": {string(schemas.PurposeAppointmentReminder), string(schemas.PurposeAppointmentChange)}},
			CurrentText: "EW-2026-11",
			OptInReply:  "Vielen Dank! Die {{practice}} schickt Ihnen ab jetzt Terminerinnerungen und Terminänderungen über diesen Kanal, nur für Ihre Behandlung, keine Werbung. Antworten Sie jederzeit STOP, um sich abzumelden.",
			StopReply:   "Sie sind abgemeldet und erhalten über diesen Kanal keine Nachrichten der {{practice}} mehr. Mit „Anmelden {{code}}“ können Sie sich jederzeit wieder anmelden.",
		},
		WhatsApp:  WhatsApp{BaseURL: "sandbox", Timeout: 10 * time.Second},
		SMS:       SMS{BaseURL: "sandbox", Sender: "PraxisBsp", Timeout: 10 * time.Second},
		Delivery:  Delivery{Retry: delivery.DefaultRetryPolicy(), RatePerSecond: 80, RecipientSpacing: 6 * time.Second, ChannelPause: 15 * time.Minute, UndeliveredFallback: 4 * time.Hour},
		HTTP:      HTTP{Listen: "127.0.0.1:8080"},
		Ingest:    Ingest{StableFor: 2 * time.Second, Rescan: 10 * time.Second},
		Writeback: Writeback{Format: "csv", GDTReceiver: "PRAX_EDV", GDTSender: "PRAXBOTE"},
	}
}

// Load reads a YAML file over the defaults (path may be empty), then the
// environment, then validates.
func Load(path string) (Config, error) {
	cfg := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := applyEnv(reflect.ValueOf(&cfg).Elem(), "PRAXISBOTE", os.LookupEnv); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// Validate checks the configuration and refuses anything bound to a
// purpose outside the closed list.
func (c Config) Validate() error {
	if c.Practice.ID == "" {
		return errors.New("config: practice.id is required")
	}
	if _, err := time.LoadLocation(c.Practice.TimeZone); err != nil {
		return fmt.Errorf("config: practice.time_zone %q: %w", c.Practice.TimeZone, err)
	}
	for _, r := range c.Reminders.Rules {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("config: %w", err)
		}
	}
	if err := c.Reminders.QuietHours.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if c.Writeback.Format != "csv" && c.Writeback.Format != "gdt" {
		return fmt.Errorf("config: writeback.format %q: want csv or gdt", c.Writeback.Format)
	}
	if c.Delivery.Retry.MaxAttempts < 1 || c.Delivery.Retry.Base <= 0 || c.Delivery.Retry.Max < c.Delivery.Retry.Base {
		return errors.New("config: delivery.retry needs max_attempts ≥ 1 and 0 < base ≤ max")
	}
	if len(c.SMS.Sender) > 11 && strings.Trim(c.SMS.Sender, "+0123456789") != "" {
		return fmt.Errorf("config: sms.sender %q: an alphanumeric sender has at most 11 characters", c.SMS.Sender)
	}
	for _, t := range c.Templates {
		if t.Name == "" {
			return errors.New("config: template without name")
		}
		if _, err := schemas.ParsePurpose(t.Purpose); err != nil {
			return fmt.Errorf("config: template %q: %w", t.Name, err)
		}
	}
	for v, ps := range c.Consent.Texts {
		for _, p := range ps {
			if _, err := schemas.ParsePurpose(p); err != nil {
				return fmt.Errorf("config: consent text %q: %w", v, err)
			}
		}
	}
	if c.Consent.CurrentText != "" {
		if _, ok := c.Consent.Texts[c.Consent.CurrentText]; !ok {
			return fmt.Errorf("config: consent.current_text %q is not among consent.texts", c.Consent.CurrentText)
		}
	}
	return nil
}

// Location is the practice's time zone.
func (c Config) Location() *time.Location {
	loc, err := time.LoadLocation(c.Practice.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Template finds the template of a purpose: the one named name if given,
// else the first of the purpose.
func (c Config) Template(p schemas.Purpose, name string) (Template, bool) {
	for _, t := range c.Templates {
		if t.Purpose == string(p) && (name == "" || t.Name == name) {
			return t, true
		}
	}
	return Template{}, false
}

// TemplateFor finds the template of a purpose for an event ("moved",
// "booked"), falling back to the purpose's first.
func (c Config) TemplateFor(p schemas.Purpose, event string) (Template, bool) {
	for _, t := range c.Templates {
		if t.Purpose == string(p) && t.Event == event {
			return t, true
		}
	}
	return c.Template(p, "")
}

// TextPurposes returns what a consent text version covers.
func (c Config) TextPurposes(version string) []schemas.Purpose {
	var out []schemas.Purpose
	for _, p := range c.Consent.Texts[version] {
		out = append(out, schemas.Purpose(p))
	}
	return out
}

// applyEnv sets scalar fields from PRAXISBOTE_<PATH> variables, the path
// built from the yaml names (practice.time_zone → PRAXISBOTE_PRACTICE_TIME_ZONE).
func applyEnv(v reflect.Value, prefix string, lookup func(string) (string, bool)) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if name == "" || name == "-" {
			continue
		}
		key := prefix + "_" + strings.ToUpper(name)
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct {
			if err := applyEnv(fv, key, lookup); err != nil {
				return err
			}
			continue
		}
		raw, ok := lookup(key)
		if !ok {
			continue
		}
		switch {
		case fv.Type() == reflect.TypeOf(time.Duration(0)):
			d, err := time.ParseDuration(raw)
			if err != nil {
				return fmt.Errorf("config: %s: %w", key, err)
			}
			fv.SetInt(int64(d))
		case fv.Kind() == reflect.String:
			fv.SetString(raw)
		case fv.Kind() == reflect.Int:
			n, err := strconv.Atoi(raw)
			if err != nil {
				return fmt.Errorf("config: %s: %w", key, err)
			}
			fv.SetInt(int64(n))
		case fv.Kind() == reflect.Float64:
			f, err := strconv.ParseFloat(raw, 64)
			if err != nil {
				return fmt.Errorf("config: %s: %w", key, err)
			}
			fv.SetFloat(f)
		case fv.Kind() == reflect.Bool:
			b, err := strconv.ParseBool(raw)
			if err != nil {
				return fmt.Errorf("config: %s: %w", key, err)
			}
			fv.SetBool(b)
		}
	}
	return nil
}
