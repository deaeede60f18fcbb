package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/praxisbote/praxisbote/config"
	"github.com/praxisbote/praxisbote/connectors/sandbox"
	"github.com/praxisbote/praxisbote/connectors/sms"
	"github.com/praxisbote/praxisbote/connectors/whatsapp"
	"github.com/praxisbote/praxisbote/fixtures"
	"github.com/praxisbote/praxisbote/store"
	"github.com/praxisbote/praxisbote/store/sqlite"
)

// SimClock is a clock the demo moves forward by hand, so that reminders
// due over weeks fall due in seconds. Nothing else is simulated.
type SimClock struct {
	mu sync.Mutex
	t  time.Time
}

// Now reads the clock.
func (c *SimClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock; it never goes backwards.
func (c *SimClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.t) {
		c.t = t
	}
}

// Summary is what the demo did, as its JSON output.
type Summary struct {
	DataDir            string            `json:"data_dir"`
	FilesIngested      int               `json:"files_ingested"`
	FilesFailed        int               `json:"files_failed"`
	RowsImported       int               `json:"rows_imported"`
	RowsRejected       int               `json:"rows_rejected"`
	Rejections         []string          `json:"rejections"`
	Patients           int               `json:"patients"`
	Appointments       int               `json:"appointments"`
	ConsentsGranted    int               `json:"consents_granted"`
	ConsentsWithdrawn  int               `json:"consents_withdrawn"`
	RemindersScheduled int               `json:"reminders_scheduled"`
	Sent               map[string]int    `json:"sent"`
	Delivered          int               `json:"delivered"`
	Read               int               `json:"read"`
	SkippedNoConsent   int               `json:"skipped_no_consent"`
	Cancelled          int               `json:"cancelled"`
	Failed             int               `json:"failed"`
	Dead               int               `json:"dead"`
	DeadReasons        []string          `json:"dead_reasons"`
	Retries            int               `json:"retries"`
	Replies            map[string]int    `json:"replies"`
	Inbox              int               `json:"inbox"`
	WritebackFiles     int               `json:"writeback_files"`
	WritebackDir       string            `json:"writeback_dir"`
	Appointment        map[string]string `json:"appointment_status"`
}

// demoReply is what a fictional patient answers to a reminder.
type demoReply struct {
	after  time.Duration
	text   string
	button bool // answer with the quick-reply button instead of text
}

// demoScript: who answers what. Everyone else stays silent.
var demoScript = map[string][]demoReply{
	"10006": {{after: 7 * time.Minute, text: "Ja"}, {after: 9 * time.Minute, text: "STOPP"}},
	"10001": {{after: 21 * time.Minute, text: "CONFIRM", button: true}},
	"10005": {{after: 5 * time.Minute, text: "Nein"}},
	"10002": {{after: 3 * time.Minute, text: "Kann ich auch nachmittags kommen?"}},
}

// DemoStart is the simulated moment the demo begins: the Saturday morning
// before the first appointments of the bundled export, after the
// anamnesis forms it imports were filled in (so nothing is recorded
// before it happened).
var DemoStart = time.Date(2027, 1, 9, 8, 15, 0, 0, mustBerlin())

func mustBerlin() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return loc
}

// RunDemo runs the whole path on the embedded defaults: the bundled
// exports are dropped into the watched folder of dataDir, imported through
// the real watcher, reminders fall due on a simulated clock and go through
// the in-process sandbox over real HTTP, the sandbox's status webhooks and
// patient replies come back through the real webhook endpoint, and answers
// are written to the writeback folder.
func RunDemo(ctx context.Context, cfg config.Config, dataDir string, progress io.Writer) (Summary, error) {
	return RunDemoWith(ctx, cfg, dataDir, progress, DemoOptions{})
}

// DemoOptions vary the demo.
type DemoOptions struct {
	// Faults is the share of provider API calls the sandbox fails
	// transiently (mixed 500, 503, 429 with Retry-After, timeouts).
	Faults float64
	// Seed makes the faults repeatable.
	Seed uint64
}

// RunDemoWith is RunDemo with options.
func RunDemoWith(ctx context.Context, cfg config.Config, dataDir string, progress io.Writer, opt DemoOptions) (Summary, error) {
	clock := &SimClock{t: DemoStart}
	secretBytes := make([]byte, 16)
	if _, err := rand.Read(secretBytes); err != nil {
		return Summary{}, err
	}
	secret := hex.EncodeToString(secretBytes)
	a, err := Open(ctx, cfg, dataDir, Options{Now: clock.Now, WebhookSecret: secret})
	if err != nil {
		return Summary{}, err
	}
	defer a.Close()
	say := func(format string, args ...any) {
		if progress != nil {
			fmt.Fprintf(progress, format+"\n", args...)
		}
	}

	appLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Summary{}, err
	}
	appSrv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = appSrv.Serve(appLn) }()
	defer appSrv.Close()

	const sandboxKey = "sandbox-demo-key"
	sb := sandbox.New(sandbox.Options{APIKey: sandboxKey, SevenAPIKey: sandboxKey,
		WebhookURL: "http://" + appLn.Addr().String() + "/webhooks/360dialog", WebhookHeaders: map[string]string{WebhookSecretHeader: secret},
		SevenWebhookURL: "http://" + appLn.Addr().String() + "/webhooks/seven?token=" + a.SMSHookToken(), Now: clock.Now})
	// Sören Meißner's mobile is not on WhatsApp: the sandbox answers his
	// reminder with error 131026, as WhatsApp does, and the reminder falls
	// back to SMS, which he consented to on the anamnesis form.
	sb.FailNumber("+491713920005", 131026)
	clientTimeout := 10 * time.Second
	if opt.Faults > 0 {
		// Timeouts among the faults: the sandbox holds those requests
		// longer than the client waits.
		clientTimeout = time.Second
		sb.Fault(sandbox.Fault{Rate: opt.Faults, Mixed: true, Delay: 1500 * time.Millisecond, Seed: opt.Seed})
	}
	sbLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Summary{}, err
	}
	sbSrv := &http.Server{Handler: sb.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = sbSrv.Serve(sbLn) }()
	defer sbSrv.Close()
	wa, err := whatsapp.New(whatsapp.Config{BaseURL: "http://" + sbLn.Addr().String(), APIKey: sandboxKey, Timeout: clientTimeout})
	if err != nil {
		return Summary{}, err
	}
	a.UseWhatsApp(wa)
	sc, err := sms.New(sms.Config{BaseURL: "http://" + sbLn.Addr().String(), APIKey: sandboxKey, Sender: cfg.SMS.Sender, Timeout: clientTimeout})
	if err != nil {
		return Summary{}, err
	}
	a.UseSMS(sc)
	say("praxisbote demo: data dir %s, sandbox WhatsApp at %s, webhooks at %s", dataDir, sbLn.Addr(), appLn.Addr())

	// The router stops with a.Close (deferred above), before ctx ends, so
	// its subscribers shut down cleanly.
	if err := a.Start(ctx); err != nil {
		return Summary{}, err
	}
	settle := func() error {
		for i := 0; i < 3; i++ {
			if err := a.WaitIdle(ctx); err != nil {
				return err
			}
			if err := sb.Wait(ctx); err != nil {
				return err
			}
		}
		return a.WaitIdle(ctx)
	}

	// 1. Drop the exports into the watched folder and let the watcher take them.
	for _, name := range fixtures.DemoFiles {
		data, err := fixtures.Demo.ReadFile(name)
		if err != nil {
			return Summary{}, err
		}
		if err := os.WriteFile(filepath.Join(a.Dirs.Inbox, path.Base(name)), data, 0o640); err != nil {
			return Summary{}, err
		}
	}
	w, err := a.Watcher(200*time.Millisecond, time.Second)
	if err != nil {
		return Summary{}, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := w.ScanOnce(ctx); err != nil {
			return Summary{}, err
		}
		left, err := os.ReadDir(a.Dirs.Inbox)
		if err != nil {
			return Summary{}, err
		}
		files := 0
		for _, e := range left {
			if !e.IsDir() {
				files++
			}
		}
		if files == 0 {
			break
		}
		if time.Now().After(deadline) {
			return Summary{}, fmt.Errorf("demo: %d files still in the inbox", files)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := settle(); err != nil {
		return Summary{}, err
	}
	say("1 ingest     exports imported from %s, archived to %s", a.Dirs.Inbox, a.Dirs.Archive)

	// 2. A patient scans the QR poster at reception (once per data dir: a
	// second run must not invent a second opt-in).
	optIns, err := a.Store.Count(ctx, "inbound_messages", "practice_id = ? AND intent = 'opt_in'", cfg.Practice.ID)
	if err != nil {
		return Summary{}, err
	}
	if optIns == 0 {
		clock.Set(DemoStart.Add(2*time.Minute + 17*time.Second))
		if _, err := sb.Reply(ctx, "+491713920002", "Anmelden "+cfg.Practice.Code, ""); err != nil {
			return Summary{}, fmt.Errorf("demo: QR opt-in: %w", err)
		}
		if err := settle(); err != nil {
			return Summary{}, err
		}
		say("2 consent    QR opt-in \"Anmelden %s\" received from one patient, confirmation sent", cfg.Practice.Code)
	}

	// 3. Walk the calendar: each due reminder is sent when its time comes;
	// patients answer some of them a few minutes later.
	// Patients answer only reminders this run sent; a second run on the
	// same data dir must not invent new answers to old messages.
	answered := map[int64]bool{}
	replied := map[string]bool{}
	earlier, err := a.Store.Deliveries(ctx, sqlite.DeliveryFilter{PracticeID: cfg.Practice.ID})
	if err != nil {
		return Summary{}, err
	}
	for _, d := range earlier {
		answered[d.ID] = true
	}
	end := DemoStart.AddDate(1, 0, 0)
	for {
		next, err := a.NextWork(ctx)
		if err != nil {
			return Summary{}, err
		}
		if next.IsZero() || next.After(end) {
			break
		}
		clock.Set(next)
		if _, err := a.Tick(ctx); err != nil {
			return Summary{}, err
		}
		if err := settle(); err != nil {
			return Summary{}, err
		}
		if err := a.demoReplies(ctx, sb, clock, answered, replied); err != nil {
			return Summary{}, err
		}
	}
	if err := settle(); err != nil {
		return Summary{}, err
	}
	return a.Summarize(ctx)
}

// demoReplies lets scripted patients answer reminders that reached them.
func (a *App) demoReplies(ctx context.Context, sb *sandbox.Server, clock *SimClock, answered map[int64]bool, replied map[string]bool) error {
	sent, err := a.Store.Deliveries(ctx, sqlite.DeliveryFilter{PracticeID: a.Cfg.Practice.ID, States: []string{store.DeliverySent, store.DeliveryDelivered, store.DeliveryRead}})
	if err != nil {
		return err
	}
	sort.Slice(sent, func(i, j int) bool { return sent[i].ID < sent[j].ID })
	for _, d := range sent {
		if answered[d.ID] || d.AppointmentID == 0 {
			continue // patients answer reminders, not confirmations
		}
		answered[d.ID] = true
		p, err := a.Store.Patient(ctx, d.PatientID)
		if err != nil {
			return err
		}
		script, ok := demoScript[p.PatientRef.ExternalID]
		if !ok || replied[p.PatientRef.ExternalID] {
			continue
		}
		replied[p.PatientRef.ExternalID] = true
		appt, err := a.Store.Appointment(ctx, d.AppointmentID)
		if err != nil {
			return err
		}
		mobile, _ := p.Mobile()
		for _, r := range script {
			clock.Set(d.SentAt.Add(r.after))
			switch {
			case d.Channel == "sms":
				_, err = sb.SMSReply(ctx, mobile, r.text)
			case r.button:
				_, err = sb.ReplyButton(ctx, mobile, payload("CONFIRM", appt.ExternalID, d.ID), "Termin bestätigen", d.ProviderMessageID)
			default:
				_, err = sb.Reply(ctx, mobile, r.text, "")
			}
			if err != nil {
				return fmt.Errorf("demo reply: %w", err)
			}
			if err := sb.Wait(ctx); err != nil {
				return err
			}
			if err := a.WaitIdle(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// Summarize reads the state of the data dir into a summary.
func (a *App) Summarize(ctx context.Context) (Summary, error) {
	s := Summary{DataDir: a.Dirs.Data, WritebackDir: a.Dirs.Writeback, Sent: map[string]int{"whatsapp": 0, "sms": 0},
		Replies: map[string]int{"confirmed": 0, "cancel_requested": 0, "stop": 0, "opt_in": 0}, Appointment: map[string]string{}}
	practice := a.Cfg.Practice.ID
	log, err := a.Store.IngestLog(ctx, practice)
	if err != nil {
		return s, err
	}
	for _, f := range log {
		if f.Status != "imported" {
			s.FilesFailed++
			continue
		}
		s.FilesIngested++
		s.RowsImported += f.Imported
		s.RowsRejected += f.Rejected
	}
	for i := len(log) - 1; i >= 0; i-- {
		for _, p := range log[i].Problems {
			if p.Kind == "rejected" {
				s.Rejections = append(s.Rejections, fmt.Sprintf("%s %s", log[i].Name, p.Problem))
			}
		}
	}
	count := func(dst *int, table, where string, args ...any) {
		if err != nil {
			return
		}
		*dst, err = a.Store.Count(ctx, table, where, args...)
	}
	count(&s.Patients, "patients", "practice_id = ?", practice)
	count(&s.Appointments, "appointments", "practice_id = ?", practice)
	count(&s.ConsentsGranted, "consent_events", "practice_id = ? AND action = 'granted'", practice)
	count(&s.ConsentsWithdrawn, "consent_events", "practice_id = ? AND action = 'withdrawn'", practice)
	count(&s.RemindersScheduled, "reminders", "practice_id = ?", practice)
	var wa, sms int
	count(&wa, "deliveries", "practice_id = ? AND channel = 'whatsapp' AND provider_message_id IS NOT NULL", practice)
	count(&sms, "deliveries", "practice_id = ? AND channel = 'sms' AND provider_message_id IS NOT NULL", practice)
	s.Sent["whatsapp"], s.Sent["sms"] = wa, sms
	count(&s.Delivered, "deliveries", "practice_id = ? AND delivered_at <> ''", practice)
	count(&s.Read, "deliveries", "practice_id = ? AND state = 'read'", practice)
	count(&s.SkippedNoConsent, "deliveries", "practice_id = ? AND state = 'skipped_no_consent'", practice)
	count(&s.Cancelled, "deliveries", "practice_id = ? AND state = 'cancelled'", practice)
	count(&s.Failed, "deliveries", "practice_id = ? AND state = 'failed'", practice)
	count(&s.Dead, "deliveries", "practice_id = ? AND state = 'dead'", practice)
	var confirmed, cancel, stop, optin int
	count(&confirmed, "inbound_messages", "practice_id = ? AND intent = 'confirm' AND handled = 'applied'", practice)
	count(&cancel, "inbound_messages", "practice_id = ? AND intent = 'cancel_request' AND handled = 'applied'", practice)
	count(&stop, "inbound_messages", "practice_id = ? AND intent = 'stop'", practice)
	count(&optin, "inbound_messages", "practice_id = ? AND intent = 'opt_in'", practice)
	count(&s.Inbox, "inbound_messages", "practice_id = ? AND handled = 'inbox'", practice)
	if err != nil {
		return s, err
	}
	s.Replies["confirmed"], s.Replies["cancel_requested"], s.Replies["stop"], s.Replies["opt_in"] = confirmed, cancel, stop, optin
	attempts, attempted, err := a.Store.CountAttempts(ctx, practice)
	if err != nil {
		return s, err
	}
	s.Retries = attempts - attempted
	dead, err := a.Store.Deliveries(ctx, sqlite.DeliveryFilter{PracticeID: practice, States: []string{store.DeliveryDead}})
	if err != nil {
		return s, err
	}
	s.DeadReasons = []string{}
	for _, d := range dead {
		s.DeadReasons = append(s.DeadReasons, fmt.Sprintf("delivery %d: %s", d.ID, d.Reason))
	}
	entries, err := os.ReadDir(a.Dirs.Writeback)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return s, err
	}
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".csv") {
			s.WritebackFiles++
		}
	}
	appts, err := a.Store.Appointments(ctx, practice)
	if err != nil {
		return s, err
	}
	for _, ap := range appts {
		if ap.Status != "booked" {
			s.Appointment[ap.ExternalID] = string(ap.Status)
		}
	}
	return s, nil
}

// Print writes the summary for a person, stage by stage.
func (s Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "\n== praxisbote demo: what happened ==\n")
	fmt.Fprintf(w, "Ingest      %d files imported, %d failed; %d records imported, %d rows rejected\n", s.FilesIngested, s.FilesFailed, s.RowsImported, s.RowsRejected)
	for _, r := range s.Rejections {
		fmt.Fprintf(w, "            rejected: %s\n", r)
	}
	fmt.Fprintf(w, "Canonical   %d patients, %d appointments (personal fields encrypted at rest)\n", s.Patients, s.Appointments)
	fmt.Fprintf(w, "Consent     %d granted, %d withdrawn (append-only, hash-chained)\n", s.ConsentsGranted, s.ConsentsWithdrawn)
	fmt.Fprintf(w, "Reminders   %d scheduled\n", s.RemindersScheduled)
	fmt.Fprintf(w, "Delivery    sent whatsapp %d, sms %d; delivered %d (read %d); skipped for missing consent %d; cancelled %d; failed %d; dead %d; retries %d\n",
		s.Sent["whatsapp"], s.Sent["sms"], s.Delivered, s.Read, s.SkippedNoConsent, s.Cancelled, s.Failed, s.Dead, s.Retries)
	for _, r := range s.DeadReasons {
		fmt.Fprintf(w, "            dead: %s\n", r)
	}
	fmt.Fprintf(w, "Replies     confirmed %d, cancel requested %d, stop %d, opt-in %d; %d to the staff inbox\n",
		s.Replies["confirmed"], s.Replies["cancel_requested"], s.Replies["stop"], s.Replies["opt_in"], s.Inbox)
	fmt.Fprintf(w, "Writeback   %d answer files in %s\n", s.WritebackFiles, s.WritebackDir)
	keys := make([]string, 0, len(s.Appointment))
	for k := range s.Appointment {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(w, "Appointments not simply booked any more:\n")
	for _, k := range keys {
		fmt.Fprintf(w, "            %s: %s\n", k, s.Appointment[k])
	}
}
