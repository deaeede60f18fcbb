package sandbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// errNoWebhook is returned when a reply is simulated but no target is set.
var errNoWebhook = errors.New("sandbox: no webhook URL configured")

// post delivers one webhook body, retrying with doubling backoff. Every
// failed attempt is counted; ctx ends the retries early.
func (s *Server) post(ctx context.Context, target string, headers map[string]string, body []byte) error {
	if target == "" {
		return errNoWebhook
	}
	backoff := s.opts.WebhookBackoff
	var last error
	for attempt := 0; attempt <= s.opts.WebhookRetries; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return errors.Join(last, ctx.Err())
			}
			backoff *= 2
		}
		last = s.postOnce(ctx, target, headers, body)
		if last == nil {
			s.log.Debug("webhook delivered", "url", redactURL(target), "attempt", attempt+1)
			return nil
		}
		s.mu.Lock()
		s.failures++
		s.mu.Unlock()
		s.log.Warn("webhook failed", "url", redactURL(target), "attempt", attempt+1, "err", last)
	}
	return last
}

func (s *Server) postOnce(ctx context.Context, target string, headers map[string]string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// postWhatsApp sends a WhatsApp webhook to the current target with the
// configured headers and, if a signing secret is set, 360dialog's signature
// over the exact bytes sent.
func (s *Server) postWhatsApp(ctx context.Context, body []byte) error {
	s.mu.Lock()
	target := s.webhookURL
	headers := make(map[string]string, len(s.webhookHeaders)+1)
	for k, v := range s.webhookHeaders {
		headers[k] = v
	}
	s.mu.Unlock()
	if s.opts.SigningSecret != "" {
		m := hmac.New(sha256.New, []byte(s.opts.SigningSecret))
		m.Write(body)
		headers["x-360dialog-signature"] = hex.EncodeToString(m.Sum(nil))
	}
	return s.post(ctx, target, headers, body)
}

// marshal encodes like Meta and seven.io do: no HTML escaping of <, >, &.
func marshal(v any, indent bool) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(v); err != nil {
		panic(err) // only our own wire structs are encoded
	}
	return buf.Bytes() // ends with '\n'
}

// newWamid makes a unique id shaped like WhatsApp's ("wamid." + base64).
func (s *Server) newWamid(digits string) string {
	s.mu.Lock()
	s.seq++
	n := s.seq
	s.mu.Unlock()
	b := make([]byte, 0, len(digits)+16)
	b = append(b, digits...)
	b = binary.BigEndian.AppendUint64(b, n)
	var r [8]byte
	_, _ = rand.Read(r[:])
	b = append(b, r[:]...)
	return "wamid." + base64.StdEncoding.EncodeToString(b)
}

// lastDigits keeps logs free of full phone numbers.
func lastDigits(n string) string {
	if len(n) <= 3 {
		return "…"
	}
	return "…" + n[len(n)-3:]
}

// redactURL drops the query (seven.io hook tokens live there) and userinfo.
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "invalid-url"
	}
	u.RawQuery = ""
	u.User = nil
	u.Fragment = ""
	return u.String()
}

func itoa(i int) string { return strconv.Itoa(i) }

func unixString(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
