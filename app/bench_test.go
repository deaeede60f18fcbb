package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/charmap"

	"github.com/praxisbote/praxisbote/config"
	"github.com/praxisbote/praxisbote/connectors/sandbox"
	"github.com/praxisbote/praxisbote/connectors/whatsapp"
	"github.com/praxisbote/praxisbote/schemas"
	"github.com/praxisbote/praxisbote/store"
	"github.com/praxisbote/praxisbote/store/sqlite"
)

// benchExport writes a ds-style export of n appointments for n invented
// patients, each with a mobile from the reserved drama-number ranges.
func benchExport(n int) []byte {
	var sb strings.Builder
	sb.WriteString("Datum;Uhrzeit;Dauer;Pat.-Nr.;Name;Vorname;Geb.-Datum;Mobil;Telefon;Behandler;Terminart;Status\r\n")
	for i := 0; i < n; i++ {
		day := 20
		mins := 8*60 + (i%40)*15
		mobile := fmt.Sprintf("0171 39200%02d", i%100)
		if i >= 100 {
			mobile = fmt.Sprintf("0176 040690%02d", i%100)
		}
		fmt.Fprintf(&sb, "%02d.01.2027;%02d:%02d;15;%d;Testperson;Bench;01.01.1980;%s;;Dr. Beispiel;Kontrolle;geplant\r\n",
			day, mins/60, mins%60, 50000+i, mobile)
	}
	out, _ := charmap.Windows1252.NewEncoder().String(sb.String())
	return []byte(out)
}

// BenchmarkDeliveryEndToEnd measures reminders that fall due going out
// through the whole pipeline (scheduler, outbox, bus, consent gate, store
// writes, HTTP to the in-process sandbox) and, in the same run, a bare
// loop of the same HTTP POSTs to the same sandbox at the same concurrency
// (one sender). It reports both rates and their ratio.
func BenchmarkDeliveryEndToEnd(b *testing.B) {
	const n = 200
	var pipelineDur, bareDur time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		clock := &SimClock{t: DemoStart}
		cfg := config.Default()
		cfg.Delivery.RecipientSpacing = 0
		cfg.Delivery.RatePerSecond = 0
		cfg.Reminders.Rules = cfg.Reminders.Rules[:1]
		a, err := Open(ctx, cfg, b.TempDir(), Options{Now: clock.Now, WebhookSecret: testSecret})
		require.NoError(b, err)
		srv := httptest.NewServer(a.Handler())
		sb := sandbox.New(sandbox.Options{APIKey: "k", WebhookURL: srv.URL + "/webhooks/360dialog",
			WebhookHeaders: map[string]string{WebhookSecretHeader: testSecret}, Now: clock.Now, StatusSteps: []string{"sent"}})
		sbSrv := httptest.NewServer(sb.Handler())
		wa, err := whatsapp.New(whatsapp.Config{BaseURL: sbSrv.URL, APIKey: "k"})
		require.NoError(b, err)
		a.UseWhatsApp(wa)
		require.NoError(b, a.Start(ctx))
		_, err = a.Ingest(ctx, "bench.csv", benchExport(n))
		require.NoError(b, err)
		require.NoError(b, a.WaitIdle(ctx))
		for j := 0; j < n; j++ {
			ref, err := a.Store.FindPatient(ctx, cfg.Practice.ID, "pms", fmt.Sprint(50000+j))
			require.NoError(b, err)
			_, _, err = a.Store.AppendConsent(ctx, cfg.Practice.ID, ref.ID, "", schemas.ConsentEvent{Channel: schemas.ChannelWhatsApp,
				Purposes: []schemas.Purpose{schemas.PurposeAppointmentReminder}, Action: schemas.ConsentGranted, Source: schemas.SourceStaff,
				OccurredAt: DemoStart}, "bench")
			require.NoError(b, err)
		}
		clock.Set(time.Date(2027, 1, 19, 7, 0, 0, 0, DemoStart.Location()))

		b.StartTimer()
		start := time.Now()
		sent, err := a.Tick(ctx)
		require.NoError(b, err)
		require.NoError(b, a.WaitIdle(ctx))
		pipelineDur += time.Since(start)
		b.StopTimer()
		require.Equal(b, n, sent)
		got, err := a.Store.Deliveries(ctx, sqlite.DeliveryFilter{PracticeID: cfg.Practice.ID, States: []string{store.DeliverySent}})
		require.NoError(b, err)
		require.Len(b, got, n, "every due reminder went out")

		// The bare baseline: the same POSTs, one after the other.
		body := []byte(`{"messaging_product":"whatsapp","recipient_type":"individual","to":"491713920001","type":"template","template":{"name":"termin_erinnerung","language":{"code":"de"}}}`)
		start = time.Now()
		for j := 0; j < n; j++ {
			req, _ := http.NewRequest(http.MethodPost, sbSrv.URL+"/messages", bytes.NewReader(body))
			req.Header.Set("D360-API-KEY", "k")
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(b, err)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			require.Equal(b, http.StatusOK, resp.StatusCode)
		}
		bareDur += time.Since(start)
		require.NoError(b, sb.Wait(ctx))
		a.Close()
		srv.Close()
		sbSrv.Close()
		cancel()
	}
	pipelineRate := float64(n*b.N) / pipelineDur.Seconds()
	bareRate := float64(n*b.N) / bareDur.Seconds()
	b.ReportMetric(pipelineRate, "msgs/s")
	b.ReportMetric(bareRate, "bare-msgs/s")
	b.ReportMetric(pipelineRate/bareRate, "ratio")
}

// BenchmarkWebhookAccept measures how fast a status webhook is answered
// (authenticated, sealed and durably queued, processing happens later),
// against a bare handler that only reads the body, in the same run.
// 360dialog asks for a median under 250 ms.
func BenchmarkWebhookAccept(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := Open(ctx, config.Default(), b.TempDir(), Options{WebhookSecret: testSecret})
	require.NoError(b, err)
	defer a.Close()
	body, err := os.ReadFile(filepath.Join("..", "fixtures", "webhooks", "360dialog", "status_delivered.json"))
	require.NoError(b, err)
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusOK)
	})
	measure := func(h http.Handler) []time.Duration {
		var ds []time.Duration
		for i := 0; i < b.N; i++ {
			req := httptest.NewRequest(http.MethodPost, "/webhooks/360dialog", bytes.NewReader(body))
			req.Header.Set(WebhookSecretHeader, testSecret)
			rec := httptest.NewRecorder()
			start := time.Now()
			h.ServeHTTP(rec, req)
			ds = append(ds, time.Since(start))
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d", rec.Code)
			}
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds
	}
	b.ResetTimer()
	got := measure(a.Handler())
	base := measure(bare)
	b.StopTimer()
	med, baseMed := got[len(got)/2], base[len(base)/2]
	b.ReportMetric(float64(med.Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(got[len(got)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(med)/float64(baseMed), "ratio-to-bare")
}
