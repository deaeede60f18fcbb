// Package app wires configuration, store, message bus, connectors and
// pipelines into the running praxisbote: the same wiring serves `serve`,
// `demo` and the one-shot commands.
package app

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/praxisbote/praxisbote/config"
	"github.com/praxisbote/praxisbote/connectors/sms"
	"github.com/praxisbote/praxisbote/connectors/whatsapp"
	"github.com/praxisbote/praxisbote/pipelines/bus"
	"github.com/praxisbote/praxisbote/pipelines/delivery"
	"github.com/praxisbote/praxisbote/pipelines/ingest"
	"github.com/praxisbote/praxisbote/schemas"
	"github.com/praxisbote/praxisbote/store/keyring"
	"github.com/praxisbote/praxisbote/store/sqlite"
)

// Topics between the stages.
const (
	TopicAppointmentChanged = "appointments_changed"
	TopicDeliveryRequested  = "deliveries_requested"
	TopicWebhookReceived    = "webhooks_received"
	TopicWritebackRequested = "writeback_requested"
	TopicPoison             = "poison"
)

// Topics lists every topic the router uses.
var Topics = []string{TopicAppointmentChanged, TopicDeliveryRequested, TopicWebhookReceived, TopicWritebackRequested, TopicPoison}

// Dirs are the folders of a data dir.
type Dirs struct {
	Data, Inbox, Archive, Error, Writeback string
}

// NewDirs lays out a data dir; the config may move inbox and writeback
// (to the PMS's own export and import folders).
func NewDirs(data string, cfg config.Config) Dirs {
	d := Dirs{Data: data, Inbox: filepath.Join(data, "inbox"), Archive: filepath.Join(data, "archive"),
		Error: filepath.Join(data, "error"), Writeback: filepath.Join(data, "writeback")}
	if cfg.Ingest.Inbox != "" {
		d.Inbox = cfg.Ingest.Inbox
	}
	if cfg.Writeback.Dir != "" {
		d.Writeback = cfg.Writeback.Dir
	}
	return d
}

// Options adjust an App for tests and the demo.
type Options struct {
	// Now is the clock; the demo drives a simulated one.
	Now func() time.Time
	// Logger receives structured logs (no personal data).
	Logger *slog.Logger
	// WhatsAppURL and WhatsAppKey override the configured provider, e.g.
	// with an in-process sandbox.
	WhatsAppURL, WhatsAppKey string
	// WebhookSecret overrides the shared secret providers must send.
	WebhookSecret string
}

// App is one running praxisbote.
type App struct {
	Cfg    config.Config
	Dirs   Dirs
	Store  *sqlite.Store
	Mapper ingest.Mapper
	Log    *slog.Logger

	db     *sql.DB
	pub    message.Publisher
	sub    message.Subscriber
	wlog   watermill.LoggerAdapter
	busKey keyring.DataKey
	// archiveKey seals the exports kept in archive/ and error/.
	archiveKey keyring.DataKey
	wa         *whatsapp.Client
	sms        *sms.Client
	smsHook    string
	now        func() time.Time
	secret     string
	signing    string // 360dialog signing secret; when set, x-360dialog-signature is required
	apiToken   string
	router     *message.Router
	routerW    sync.WaitGroup

	mu       sync.Mutex
	paused   map[schemas.Channel]time.Time
	limiters map[schemas.Channel]*delivery.Limiter
	rnd      *mrand.Rand
}

// pause rests a channel until a time.
func (a *App) pause(ch schemas.Channel, until time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.paused[ch] = until
}

// pausedUntil is when a paused channel may send again.
func (a *App) pausedUntil(ch schemas.Channel) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.paused[ch]
}

// limiter is the send pacing of a channel's sending number.
func (a *App) limiter(ch schemas.Channel) *delivery.Limiter {
	a.mu.Lock()
	defer a.mu.Unlock()
	l, ok := a.limiters[ch]
	if !ok {
		l = delivery.NewLimiter(a.Cfg.Delivery.RatePerSecond)
		a.limiters[ch] = l
	}
	return l
}

// jitter draws the randomness of retry backoff.
func (a *App) jitter() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rnd.Float64()
}

// WebhookSecretHeader is the header 360dialog is configured to send.
const WebhookSecretHeader = "X-Praxisbote-Secret"

// Open prepares a data dir and everything on it. It does not start the
// router; Start does.
func Open(ctx context.Context, cfg config.Config, dataDir string, opt Options) (*App, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	dirs := NewDirs(dataDir, cfg)
	for _, d := range []string{dirs.Data, dirs.Inbox, dirs.Archive, dirs.Error, dirs.Writeback} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
	}
	keyPath, dbPath := filepath.Join(dirs.Data, "master.key"), filepath.Join(dirs.Data, "praxisbote.db")
	if _, err := os.Stat(dbPath); err == nil && os.Getenv(keyring.EnvMasterKey) == "" {
		if _, err := os.Stat(keyPath); errors.Is(err, os.ErrNotExist) {
			// A new key would open nothing and hide the real problem.
			return nil, fmt.Errorf("%s is missing but %s was encrypted with a master key: restore the key file from your backup or set %s",
				keyPath, dbPath, keyring.EnvMasterKey)
		}
	}
	kr, err := keyring.LoadOrCreate(keyPath)
	if err != nil {
		return nil, err
	}
	db, err := bus.OpenSQLite(dbPath)
	if err != nil {
		return nil, err
	}
	st, err := sqlite.Open(ctx, db, kr, opt.Now)
	if err != nil {
		db.Close()
		return nil, err
	}
	// The router's own chatter (schemas, subscriptions) is for debugging;
	// the service logs what it does itself.
	wlog := watermill.NewSlogLoggerWithLevelMapping(opt.Logger, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	pub, sub, err := bus.NewSQLite(db, wlog, bus.SQLiteConfig{ConsumerGroup: "praxisbote"})
	if err != nil {
		db.Close()
		return nil, err
	}
	if si, ok := sub.(message.SubscribeInitializer); ok {
		for _, t := range Topics {
			if err := si.SubscribeInitialize(t); err != nil {
				db.Close()
				return nil, fmt.Errorf("bus topic %s: %w", t, err)
			}
		}
	}
	a := &App{Cfg: cfg, Dirs: dirs, Store: st, Mapper: ingest.NewMapper(cfg.Location()), Log: opt.Logger,
		db: db, pub: pub, sub: sub, wlog: wlog, now: opt.Now,
		paused: map[schemas.Channel]time.Time{}, limiters: map[schemas.Channel]*delivery.Limiter{}, rnd: mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 1))}
	a.Mapper.Profile = cfg.Ingest.Profile
	if cfg.Ingest.ProfilesDir != "" {
		extra, err := ingest.LoadProfiles(cfg.Ingest.ProfilesDir)
		if err != nil {
			db.Close()
			return nil, err
		}
		a.Mapper.Profiles = append(extra, a.Mapper.Profiles...)
	}
	if a.busKey, err = st.SystemKey(ctx, "bus"); err != nil {
		db.Close()
		return nil, err
	}
	if a.archiveKey, err = st.SystemKey(ctx, "archive"); err != nil {
		db.Close()
		return nil, err
	}
	a.secret = opt.WebhookSecret
	if a.secret == "" {
		if a.secret, err = loadSecret(dirs.Data); err != nil {
			db.Close()
			return nil, err
		}
	}
	url, key := cfg.WhatsApp.BaseURL, os.Getenv("PRAXISBOTE_WHATSAPP_API_KEY")
	if opt.WhatsAppURL != "" {
		url, key = opt.WhatsAppURL, opt.WhatsAppKey
	}
	if url != "" && url != "sandbox" && key != "" {
		if a.wa, err = whatsapp.New(whatsapp.Config{BaseURL: url, APIKey: key, Timeout: cfg.WhatsApp.Timeout}); err != nil {
			db.Close()
			return nil, err
		}
	}
	if u, key := cfg.SMS.BaseURL, os.Getenv("PRAXISBOTE_SMS_API_KEY"); u != "" && u != "sandbox" && key != "" {
		if a.sms, err = sms.New(sms.Config{BaseURL: u, APIKey: key, Sender: cfg.SMS.Sender, Timeout: cfg.SMS.Timeout}); err != nil {
			db.Close()
			return nil, err
		}
	}
	a.signing = os.Getenv("PRAXISBOTE_WEBHOOK_SIGNING_SECRET")
	if a.apiToken, err = apiToken(dirs.Data); err != nil {
		db.Close()
		return nil, err
	}
	a.smsHook = os.Getenv("PRAXISBOTE_SMS_HOOK_TOKEN")
	if a.smsHook == "" {
		a.smsHook = a.secret
	}
	return a, nil
}

// loadSecret reads the webhook secret from PRAXISBOTE_WEBHOOK_SECRET or
// from a 0600 file in the data dir, created on first use.
func loadSecret(dir string) (string, error) {
	if v := os.Getenv("PRAXISBOTE_WEBHOOK_SECRET"); v != "" {
		return v, nil
	}
	p := filepath.Join(dir, "webhook.secret")
	if b, err := os.ReadFile(p); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	s := hex.EncodeToString(buf)
	if err := os.WriteFile(p, []byte(s+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	return s, nil
}

// WebhookSecret is the shared secret providers must send.
func (a *App) WebhookSecret() string { return a.secret }

// UseWhatsApp sets the provider client after Open (the demo starts its
// sandbox on a port first).
func (a *App) UseWhatsApp(c *whatsapp.Client) { a.wa = c }

// UseSMS sets the SMS client after Open.
func (a *App) UseSMS(c *sms.Client) { a.sms = c }

// SMSHookToken is the token seven.io must put in the hook URL.
func (a *App) SMSHookToken() string { return a.smsHook }

// Now is the app's clock.
func (a *App) Now() time.Time { return a.now() }

// Close stops the router and closes the database.
func (a *App) Close() error {
	if a.router != nil {
		_ = a.router.Close()
		a.routerW.Wait()
	}
	_ = a.pub.Close()
	_ = a.sub.Close()
	return a.db.Close()
}

// publishTx publishes events inside a transaction of ours (outbox): they
// commit or vanish together with the state change that caused them.
func (a *App) publishTx(tx *sql.Tx, topic string, payloads ...any) error {
	p, err := wsql.NewPublisher(wsql.TxFromStdSQL(tx), wsql.PublisherConfig{SchemaAdapter: bus.SQLiteSchema{}}, a.wlog)
	if err != nil {
		return err
	}
	var msgs []*message.Message
	for _, pl := range payloads {
		b, err := json.Marshal(pl)
		if err != nil {
			return err
		}
		msgs = append(msgs, message.NewMessage(watermill.NewUUID(), b))
	}
	// One insert per chunk: SQLite caps a statement's parameters, and a
	// year's export easily holds more appointments than one insert takes.
	const chunk = 1000
	for len(msgs) > 0 {
		n := min(chunk, len(msgs))
		if err := p.Publish(topic, msgs[:n]...); err != nil {
			return err
		}
		msgs = msgs[n:]
	}
	return nil
}

// handlerTx is the transaction the subscriber holds for the message being
// handled. SQLite has one writer and the subscriber holds it, so a
// handler's writes must go through this transaction (and commit with the
// ack).
func (a *App) handlerTx(msg *message.Message) (*sqlite.Q, *sql.Tx, error) {
	tx, ok := wsql.TxFromContext(msg.Context())
	if !ok {
		return nil, nil, errors.New("handler runs without the subscriber's transaction")
	}
	std, err := bus.StdTx(msg.Context(), tx)
	if err != nil {
		return nil, nil, err
	}
	return a.Store.InTx(std), std, nil
}

// publishFrom publishes from inside a handler, in the handler's
// transaction.
func (a *App) publishFrom(msg *message.Message, topic string, payloads ...any) error {
	_, tx, err := a.handlerTx(msg)
	if err != nil {
		return err
	}
	return a.publishTx(tx, topic, payloads...)
}

// Pending counts messages not yet acknowledged on the router's topics.
func (a *App) Pending(ctx context.Context) (int, error) {
	total := 0
	for _, t := range Topics {
		if t == TopicPoison {
			continue
		}
		var n int
		err := a.db.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) FROM "watermill_%s" WHERE "offset" > COALESCE((SELECT MAX(offset_acked) FROM "watermill_offsets_%s" WHERE consumer_group = ?), 0)`, t, t), "praxisbote").Scan(&n)
		if err != nil {
			return 0, fmt.Errorf("pending on %s: %w", t, err)
		}
		total += n
	}
	return total, nil
}

// WaitIdle blocks until every published message has been handled.
func (a *App) WaitIdle(ctx context.Context) error {
	stable := 0
	for {
		n, err := a.Pending(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			stable++
			if stable >= 2 {
				return nil
			}
		} else {
			stable = 0
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the bus to drain (%d pending): %w", n, ctx.Err())
		case <-time.After(30 * time.Millisecond):
		}
	}
}

// sealBody encrypts a raw provider body before it is queued: webhook bodies
// carry numbers, names and message texts, and the bus tables are on disk
// like everything else.
func (a *App) sealBody(topic, id string, body []byte) ([]byte, error) {
	return a.busKey.Seal(body, []byte("bus|"+topic+"|"+id))
}

// openBody decrypts a body sealed by sealBody.
func (a *App) openBody(topic string, msg *message.Message) ([]byte, error) {
	return a.busKey.Open(msg.Payload, []byte("bus|"+topic+"|"+msg.UUID))
}

// sealedFileMagic starts every sealed archive file, so that a person who
// opens one sees what it is.
const sealedFileMagic = "PRAXISBOTE-SEALED v1\n"

// SealFile encrypts an export before it is kept in archive/ or error/.
// The key is a system data key wrapped by the master key; `praxisbote
// archive open` reverses it.
func (a *App) SealFile(data []byte) ([]byte, error) {
	ct, err := a.archiveKey.Seal(data, []byte("praxisbote/archive/v1"))
	if err != nil {
		return nil, err
	}
	return append([]byte(sealedFileMagic), ct...), nil
}

// OpenFile decrypts a file written by SealFile.
func (a *App) OpenFile(data []byte) ([]byte, error) {
	if !strings.HasPrefix(string(data[:min(len(data), len(sealedFileMagic))]), sealedFileMagic) {
		return nil, errors.New("not a praxisbote sealed file")
	}
	return a.archiveKey.Open(data[len(sealedFileMagic):], []byte("praxisbote/archive/v1"))
}
