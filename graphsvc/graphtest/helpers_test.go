package graphtest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func newServer(t *testing.T) *Server {
	t.Helper()
	srv := NewServer(Contoso())
	t.Cleanup(srv.Close)
	return srv
}

// reply is what a Graph client sees of one response.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

// graphErr returns the error code and message of a Graph error body, failing if the shape is wrong.
func (r reply) graphErr(t *testing.T) (code, msg string) {
	t.Helper()
	var e struct {
		Error struct {
			Code       string            `json:"code"`
			Message    *string           `json:"message"`
			InnerError map[string]string `json:"innerError"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Error.Code == "" || e.Error.Message == nil {
		t.Fatalf("not a Graph error body (status %d): %s", r.Status, r.Body)
	}
	if e.Error.InnerError["request-id"] != r.Header.Get("request-id") || e.Error.InnerError["date"] == "" {
		t.Errorf("innerError %v does not carry the response's request-id %q and a date", e.Error.InnerError, r.Header.Get("request-id"))
	}
	return e.Error.Code, *e.Error.Message
}

type opt func(*http.Request)

func header(k, v string) opt { return func(r *http.Request) { r.Header.Set(k, v) } }

func noAuth() opt { return func(r *http.Request) { r.Header.Del("Authorization") } }

// send sends a request the way a Graph client would: bearer token, JSON body.
func send(t *testing.T, srv *Server, method, path string, body any, opts ...opt) reply {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	target := path
	if !strings.HasPrefix(path, "http") {
		target = srv.URL + path
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func gzipped(t *testing.T, v any) []byte {
	t.Helper()
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(j)
	zw.Close()
	return buf.Bytes()
}

func passwordBody(pw string) map[string]any {
	return map[string]any{
		"@odata.type": "#microsoft.graph.user",
		"passwordProfile": map[string]any{
			"password": pw, "forceChangePasswordNextSignIn": true, "forceChangePasswordNextSignInWithMfa": false,
		},
	}
}

// values returns the "value" array of a collection response.
func values(t *testing.T, r reply) []map[string]any {
	t.Helper()
	var c struct {
		Value []map[string]any `json:"value"`
	}
	if err := json.Unmarshal(r.Body, &c); err != nil {
		t.Fatalf("not a collection: %v: %s", err, r.Body)
	}
	return c.Value
}

const goodPassword = "Xk7#pq9!Lm2$Vw4z"
