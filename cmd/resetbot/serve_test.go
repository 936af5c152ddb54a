package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/bot/store"
)

// /readyz fails while the store does not answer, so a load balancer stops sending the replica work,
// and says which check failed without the error's text (it could name internal hosts).
func TestReadyzFollowsTheStore(t *testing.T) {
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "rb.db"))
	if err != nil {
		t.Fatal(err)
	}
	s := &server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		ready: map[string]func(context.Context) error{"store": st.Ping}}
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		s.readyz(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get(); code != http.StatusOK || !strings.Contains(body, "ready") {
		t.Fatalf("with the store up: %d %q", code, body)
	}
	st.Close() // the database is gone
	code, body := get()
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "store") {
		t.Fatalf("with the store gone: %d %q, want 503 naming the store", code, body)
	}
	if strings.Contains(body, "sql") || strings.Contains(body, "closed") {
		t.Errorf("the body carries the error's text: %q", body)
	}
}
