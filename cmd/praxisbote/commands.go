package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/praxisbote/praxisbote/app"
	"github.com/praxisbote/praxisbote/connectors/sandbox"
	"github.com/praxisbote/praxisbote/connectors/sms"
	"github.com/praxisbote/praxisbote/connectors/whatsapp"
	"github.com/praxisbote/praxisbote/pipelines/ingest"
	"github.com/praxisbote/praxisbote/schemas"
)

func newDemo(g *globals) *cobra.Command {
	var asJSON bool
	var faults float64
	var seed uint64
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole path on the bundled fixtures: ingest, consent, reminders, sandbox WhatsApp, replies, writeback",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if faults < 0 || faults > 1 {
				return fmt.Errorf("--faults %v: want a share between 0 and 1", faults)
			}
			cfg, err := g.load()
			if err != nil {
				return err
			}
			progress := cmd.OutOrStdout()
			if asJSON {
				progress = cmd.ErrOrStderr()
			}
			s, err := app.RunDemoWith(cmd.Context(), cfg, g.dataDir, progress, app.DemoOptions{Faults: faults, Seed: seed})
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(s)
			}
			s.Print(cmd.OutOrStdout())
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as one JSON object")
	cmd.Flags().Float64Var(&faults, "faults", 0, "share (0..1) of provider calls the sandbox fails transiently: mixed 5xx, 429 with Retry-After, timeouts")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed of the fault injection")
	return cmd
}

func newMigrate(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create or update the database in the data dir",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			a, err := app.Open(cmd.Context(), cfg, g.dataDir, app.Options{})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "database in %s is up to date\n", g.dataDir)
			return a.Close()
		},
	}
}

func newServe(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the service: webhook server, folder watcher, reminder scheduler and delivery",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			a, err := app.Open(ctx, cfg, g.dataDir, app.Options{Logger: logger})
			if err != nil {
				return err
			}
			defer a.Close()
			ln, err := net.Listen("tcp", cfg.HTTP.Listen)
			if err != nil {
				return err
			}
			srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 5 * time.Second}
			go func() { _ = srv.Serve(ln) }()
			defer srv.Close()
			if cfg.WhatsApp.BaseURL == "sandbox" {
				public := cfg.HTTP.PublicURL
				if public == "" {
					public = "http://" + ln.Addr().String()
				}
				sb := sandbox.New(sandbox.Options{APIKey: "sandbox", SevenAPIKey: "sandbox", WebhookURL: public + "/webhooks/360dialog",
					WebhookHeaders:  map[string]string{app.WebhookSecretHeader: a.WebhookSecret()},
					SevenWebhookURL: public + "/webhooks/seven?token=" + a.SMSHookToken(), Logger: logger})
				sbLn, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					return err
				}
				sbSrv := &http.Server{Handler: sb.Handler(), ReadHeaderTimeout: 5 * time.Second}
				go func() { _ = sbSrv.Serve(sbLn) }()
				defer sbSrv.Close()
				wa, err := whatsapp.New(whatsapp.Config{BaseURL: "http://" + sbLn.Addr().String(), APIKey: "sandbox", Timeout: cfg.WhatsApp.Timeout})
				if err != nil {
					return err
				}
				a.UseWhatsApp(wa)
				if cfg.SMS.BaseURL == "sandbox" {
					sc, err := sms.New(sms.Config{BaseURL: "http://" + sbLn.Addr().String(), APIKey: "sandbox", Sender: cfg.SMS.Sender, Timeout: cfg.SMS.Timeout})
					if err != nil {
						return err
					}
					a.UseSMS(sc)
				}
				logger.Info("WhatsApp goes to the built-in sandbox; set whatsapp.base_url and PRAXISBOTE_WHATSAPP_API_KEY for 360dialog", "sandbox", sbLn.Addr().String())
			}
			if err := a.Start(ctx); err != nil {
				return err
			}
			w, err := a.Watcher(cfg.Ingest.StableFor, cfg.Ingest.Rescan)
			if err != nil {
				return err
			}
			go func() {
				if err := w.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
					logger.Error("folder watcher stopped", "err", err)
				}
			}()
			logger.Info("praxisbote serving", "listen", ln.Addr().String(), "inbox", a.Dirs.Inbox, "writeback", a.Dirs.Writeback)
			tick := time.NewTicker(15 * time.Second)
			defer tick.Stop()
			for {
				if n, err := a.Tick(ctx); err != nil {
					logger.Error("scheduler", "err", err)
				} else if n > 0 {
					logger.Info("reminders handed to delivery", "count", n)
				}
				select {
				case <-ctx.Done():
					logger.Info("shutting down")
					return nil
				case <-tick.C:
				}
			}
		},
	}
}

func newSandbox(g *globals) *cobra.Command {
	var listen, webhook string
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run the local 360dialog and seven.io emulator alone",
		RunE: func(cmd *cobra.Command, _ []string) error {
			key := os.Getenv("PRAXISBOTE_SANDBOX_API_KEY")
			if key == "" {
				key = "sandbox"
			}
			// The secret serve expects: the env, else the data dir's file, so
			// `sandbox` and `serve` on the same data dir work together.
			headers := map[string]string{}
			secret := os.Getenv("PRAXISBOTE_WEBHOOK_SECRET")
			if secret == "" {
				if b, err := os.ReadFile(filepath.Join(g.dataDir, "webhook.secret")); err == nil {
					secret = strings.TrimSpace(string(b))
				}
			}
			if secret != "" {
				headers[app.WebhookSecretHeader] = secret
			} else {
				fmt.Fprintln(cmd.ErrOrStderr(), "note: no webhook secret (PRAXISBOTE_WEBHOOK_SECRET or <data dir>/webhook.secret): serve will refuse the webhooks")
			}
			logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
			sb := sandbox.New(sandbox.Options{APIKey: key, WebhookURL: webhook, WebhookHeaders: headers, Logger: logger})
			fmt.Fprintf(cmd.OutOrStdout(), "sandbox listening on %s (API key from PRAXISBOTE_SANDBOX_API_KEY, default \"sandbox\")\n", listen)
			return sb.ListenAndServe(cmd.Context(), listen)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8090", "address to listen on")
	cmd.Flags().StringVar(&webhook, "webhook-url", "http://127.0.0.1:8080/webhooks/360dialog", "where status webhooks and patient replies are posted")
	return cmd
}

// previewFile is one file of the canonical preview.
type previewFile struct {
	Path     string            `json:"path"`
	Format   string            `json:"format"`
	Profile  string            `json:"profile,omitempty"`
	Rows     int               `json:"rows"`
	Imported int               `json:"imported"`
	Rejected []schemas.Problem `json:"rejected"`
	Warnings []schemas.Problem `json:"warnings"`
	Skipped  []schemas.Problem `json:"skipped"`
	Error    string            `json:"error,omitempty"`
}

// preview is the canonical preview of `ingest --dry-run --json`.
type preview struct {
	Files         []previewFile          `json:"files"`
	Patients      []schemas.Patient      `json:"patients"`
	Appointments  []schemas.Appointment  `json:"appointments"`
	ConsentEvents []schemas.ConsentEvent `json:"consent_events"`
}

func nonNil(p []schemas.Problem) []schemas.Problem {
	if p == nil {
		return []schemas.Problem{}
	}
	return p
}

func newIngest(g *globals) *cobra.Command {
	var dryRun, asJSON bool
	var profile string
	cmd := &cobra.Command{
		Use:   "ingest FILE...",
		Short: "Import export files (or, with --dry-run, show what they map to without storing)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			if profile != "" {
				cfg.Ingest.Profile = profile
			}
			out := cmd.OutOrStdout()
			pv := preview{Files: []previewFile{}, Patients: []schemas.Patient{}, Appointments: []schemas.Appointment{}, ConsentEvents: []schemas.ConsentEvent{}}
			var a *app.App
			if !dryRun {
				if a, err = app.Open(cmd.Context(), cfg, g.dataDir, app.Options{}); err != nil {
					return err
				}
				defer a.Close()
			}
			mapper := ingest.NewMapper(cfg.Location())
			mapper.Profile = cfg.Ingest.Profile
			if cfg.Ingest.ProfilesDir != "" {
				extra, err := ingest.LoadProfiles(cfg.Ingest.ProfilesDir)
				if err != nil {
					return err
				}
				mapper.Profiles = append(extra, mapper.Profiles...)
			}
			failed := 0
			progress := newProgress(cmd.ErrOrStderr(), len(args))
			defer progress.done()
			for _, path := range args {
				progress.step(path)
				f := previewFile{Path: path, Rejected: []schemas.Problem{}, Warnings: []schemas.Problem{}, Skipped: []schemas.Problem{}}
				data, err := os.ReadFile(path)
				var b *schemas.Batch
				if err == nil {
					if dryRun {
						b, err = mapper.Map(data, filepath.Base(path))
					} else {
						var rep app.FileReport
						rep, err = a.Ingest(cmd.Context(), filepath.Base(path), data)
						b = rep.Batch
						if err == nil && rep.Duplicate {
							f.Error = "already imported (same content)"
						}
					}
				}
				if err != nil {
					failed++
					f.Error = err.Error()
				}
				if b != nil {
					f.Format, f.Profile, f.Rows, f.Imported = b.Format, b.Profile, b.Rows, b.Imported()
					f.Rejected, f.Warnings, f.Skipped = nonNil(b.Rejected), nonNil(b.Warnings), nonNil(b.Skipped)
					pv.Patients = append(pv.Patients, b.Patients...)
					pv.Appointments = append(pv.Appointments, b.Appointments...)
					pv.ConsentEvents = append(pv.ConsentEvents, b.Consents...)
				}
				pv.Files = append(pv.Files, f)
			}
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(pv); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "FILE\tFORMAT\tROWS\tIMPORTED\tREJECTED\tWARNINGS\tSKIPPED\tERROR")
				for _, f := range pv.Files {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", f.Path, f.Format, f.Rows, f.Imported, len(f.Rejected), len(f.Warnings), len(f.Skipped), f.Error)
				}
				_ = tw.Flush()
				for _, f := range pv.Files {
					for _, p := range f.Rejected {
						fmt.Fprintf(out, "rejected: %s %s\n", f.Path, p)
					}
					for _, p := range f.Warnings {
						fmt.Fprintf(out, "warning:  %s %s\n", f.Path, p)
					}
				}
			}
			if failed > 0 {
				return exitError{code: 2}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "map without storing anything")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the canonical preview as JSON")
	cmd.Flags().StringVar(&profile, "profile", "", "tabular mapping profile (name, or a .yaml file) instead of picking one by content")
	return cmd
}

// progress draws a one-line progress bar on a terminal and nothing
// elsewhere (pipes, CI logs, tests).
type progress struct {
	w     *os.File
	n, i  int
	start time.Time
}

func newProgress(w any, n int) *progress {
	f, ok := w.(*os.File)
	if !ok {
		return &progress{}
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return &progress{}
	}
	return &progress{w: f, n: n, start: time.Now()}
}

func (p *progress) step(name string) {
	if p.w == nil {
		return
	}
	p.i++
	const width = 30
	filled := width * (p.i - 1) / p.n
	bar := strings.Repeat("#", filled) + strings.Repeat(".", width-filled)
	fmt.Fprintf(p.w, "\r[%s] %d/%d %-40.40s", bar, p.i, p.n, filepath.Base(name))
}

func (p *progress) done() {
	if p.w == nil {
		return
	}
	fmt.Fprintf(p.w, "\r[%s] %d/%d done in %s%s\n", strings.Repeat("#", 30), p.n, p.n, time.Since(p.start).Round(time.Millisecond), strings.Repeat(" ", 30))
}
