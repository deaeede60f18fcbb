package tabular

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"

	"github.com/praxisbote/praxisbote/mapping/phone"
)

const benchRows = 1_000_000

// writeBenchCSV writes a ds-style export: Windows-1252, ";" and CRLF,
// umlauts, quoted fields, seven mobile notations, 50,000 patients with
// about 20 appointments each, 400 appointments a day over 2020-2026 (a
// large clinic's history, sorted by date as PMS exports are). Every
// patient/start pair is unique, so no row is a duplicate. All numbers are
// drama numbers.
func writeBenchCSV(tb testing.TB, path string) int64 {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(transform.NewWriter(f, charmap.Windows1252.NewEncoder()), 1<<16)
	family := []string{"Müller", "Weiß", "Straßburger", "Özdemir", "Meißner", "Çelik", "Groß", "Dubois-Lefèvre", "Schäfer", "Lindström"}
	given := []string{"Jürgen", "Käthe", "Björn", "Selin", "Sören", "Zoé", "Änne", "Chloé", "Lea", "Åsa"}
	kinds := []string{"Kontrolle", "PZR", "Füllung", `"Kontrolle; PZR"`, `"Beratung ""Implantat"""`, "Wurzelbehandlung"}
	mobileFmt := []string{"0171 39200%02d", "+49 171 39200%02d", "0171/392 00-%02d", "(0171) 392 00 %02d", "0176 040690%02d", "+49 (0)176 040690%02d", "0049-171-39200%02d"}
	fmt.Fprint(w, dsHeader+"\r\n")
	day0 := time.Date(2020, 1, 6, 0, 0, 0, 0, time.UTC)
	for i := range benchRows {
		day := day0.AddDate(0, 0, i/400)
		slot := i % 40 // 40 slots of 15 minutes from 07:00, ten chairs
		pat := 10000 + (i*7919)%50000
		mobile := ""
		if pat%10 != 0 {
			mobile = fmt.Sprintf(mobileFmt[pat%len(mobileFmt)], pat%100)
		}
		landline := ""
		if pat%4 == 0 {
			landline = fmt.Sprintf("030 23125%03d", pat%1000)
		}
		status := "geplant"
		if i%17 == 0 {
			status = "abgesagt"
		}
		fmt.Fprintf(w, "%s;%02d:%02d;%d;%d;%s;%s;%02d.%02d.%d;%s;%s;Dr. Beispiel;%s;%s\r\n",
			day.Format("02.01.2006"), 7+slot/4, slot%4*15, 15+15*(i%4), pat,
			family[pat%len(family)], given[pat/10%len(given)], 1+pat%28, 1+pat%12, 1940+pat%70,
			mobile, landline, kinds[i%len(kinds)], status)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	return st.Size()
}

// vmHWM reads the process's peak resident set size in KiB; resetPeak
// starts a new measurement (Linux only; both fail quietly elsewhere).
func vmHWM() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if f := bytes.Fields(line); len(f) >= 2 && string(f[0]) == "VmHWM:" {
			kib, _ := strconv.ParseFloat(string(f[1]), 64)
			return kib
		}
	}
	return 0
}

// cpuTime is the process's user+system CPU time: under a loaded machine
// it is steadier than wall time, and it counts every goroutine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func resetPeak() {
	runtime.GC()
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0o200)
}

// sampleHeap records the largest HeapInuse seen until stop is called.
func sampleHeap() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		return peak.Load()
	}
}

func bareRead(tb testing.TB, path string) int {
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	r := csv.NewReader(bufio.NewReaderSize(f, sniffSize))
	r.Comma = ';'
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	n := 0
	for {
		_, err := r.Read()
		if errors.Is(err, io.EOF) {
			return n - 1 // the header
		}
		if err != nil {
			tb.Fatal(err)
		}
		n++
	}
}

// BenchmarkStreamCSV maps a generated 1,000,000-row ds-style file with
// Stream and, in the same run, reads it with bare encoding/csv (no
// decoding, no mapping), and reports both rates, their ratio, and peak
// memory during Stream. Run alone for a clean peak:
//
//	go test ./mapping/tabular -run '^$' -bench BenchmarkStreamCSV -benchtime 1x
func BenchmarkStreamCSV(b *testing.B) {
	path := filepath.Join(b.TempDir(), "termine_1m.csv")
	size := writeBenchCSV(b, path)
	p := profile(b, "ds-win")
	loc := berlin(b)
	var bareDur, streamDur, bareCPU, streamCPU time.Duration
	var heapPeak uint64
	var hwm float64
	var sum Summary
	iters := 0
	for b.Loop() {
		iters++
		start, cpu := time.Now(), cpuTime()
		if n := bareRead(b, path); n != benchRows {
			b.Fatalf("bare read %d rows", n)
		}
		bareDur += time.Since(start)
		bareCPU += cpuTime() - cpu

		resetPeak()
		stop := sampleHeap()
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		start, cpu = time.Now(), cpuTime()
		imported := 0
		sum, err = Stream(f, path, p, loc, func(r Record) error {
			if r.Outcome == OutcomeImported {
				imported++
			}
			return nil
		})
		streamDur += time.Since(start)
		streamCPU += cpuTime() - cpu
		_ = f.Close()
		heapPeak = max(heapPeak, stop())
		hwm = max(hwm, vmHWM())
		if err != nil {
			b.Fatal(err)
		}
		if sum.Rows != benchRows || imported != benchRows {
			b.Fatalf("stream: %d rows, %d imported (%+v)", sum.Rows, imported, sum)
		}
	}
	bareRate := float64(benchRows*iters) / bareDur.Seconds()
	streamRate := float64(benchRows*iters) / streamDur.Seconds()
	b.ReportMetric(bareRate, "bare_rows/s")
	b.ReportMetric(streamRate, "stream_rows/s")
	b.ReportMetric(streamRate/bareRate, "ratio")
	b.ReportMetric(float64(bareCPU.Nanoseconds())/float64(benchRows*iters), "bare_cpu_ns/row")
	b.ReportMetric(float64(streamCPU.Nanoseconds())/float64(benchRows*iters), "stream_cpu_ns/row")
	b.ReportMetric(float64(bareCPU)/float64(streamCPU), "cpu_ratio")
	b.ReportMetric(float64(heapPeak)/(1<<20), "heap_peak_MiB")
	b.ReportMetric(hwm/1024, "VmHWM_MiB")
	b.ReportMetric(float64(size)/(1<<20), "file_MiB")
}

// BenchmarkPhoneCellUncached is the cost Stream's phone cache avoids: one
// libphonenumber parse of a cell.
func BenchmarkPhoneCellUncached(b *testing.B) {
	cells := []string{"0171 3920001", "+49 (0)171 3920007", "0171/392 00-05", "030 23125001", "0171 3920011 / 0176 04069011"}
	i := 0
	for b.Loop() {
		_, _ = phone.ParseCell(cells[i%len(cells)])
		i++
	}
}
