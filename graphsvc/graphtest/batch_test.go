package graphtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"
)

type batchReply struct {
	Responses []struct {
		ID      string            `json:"id"`
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	} `json:"responses"`
}

func sendBatch(t *testing.T, srv *Server, items []map[string]any, opts ...opt) (reply, map[string]int, batchReply) {
	t.Helper()
	r := send(t, srv, "POST", "/v1.0/$batch", map[string]any{"requests": items}, opts...)
	var br batchReply
	if r.Status == 200 {
		if err := json.Unmarshal(r.Body, &br); err != nil {
			t.Fatalf("batch response: %v: %s", err, r.Body)
		}
	}
	status := map[string]int{}
	for _, it := range br.Responses {
		status[it.ID] = it.Status
	}
	return r, status, br
}

// patchItem is a batch item the way msgraph-sdk-go-core writes one: relative url, lower-case headers,
// the body as a JSON object.
func patchItem(id, user, pw string) map[string]any {
	return map[string]any{"id": id, "method": "PATCH", "url": "/users/" + user,
		"headers": map[string]string{"content-type": "application/json"}, "body": passwordBody(pw)}
}

func TestBatch(t *testing.T) {
	srv := newServer(t)
	items := []map[string]any{
		patchItem("1", "adele@contoso.com", goodPassword),
		patchItem("2", "alex@contoso.com", goodPassword),
		{"id": "3", "method": "GET", "url": "/users/lynne@contoso.com?$select=id,onPremisesSyncEnabled"},
		{"id": "4", "method": "POST", "url": "/users/" + NestorID + "/revokeSignInSessions"},
		{"id": "5", "method": "GET", "url": "/users/nobody@contoso.com"},
	}
	// The SDK gzips the envelope.
	r := send(t, srv, "POST", "/v1.0/$batch", gzipped(t, map[string]any{"requests": items}), header("Content-Encoding", "gzip"))
	var br batchReply
	json.Unmarshal(r.Body, &br)
	status := map[string]int{}
	for _, it := range br.Responses {
		status[it.ID] = it.Status
	}
	if r.Status != 200 {
		t.Fatalf("envelope: %d %s", r.Status, r.Body)
	}
	want := map[string]int{"1": 204, "2": 400, "3": 200, "4": 200, "5": 404}
	for id, st := range want {
		if status[id] != st {
			t.Errorf("item %s: status %d, want %d", id, status[id], st)
		}
	}
	for _, it := range br.Responses {
		switch it.ID {
		case "2":
			var e struct {
				Error struct{ Code, Message string }
			}
			json.Unmarshal(it.Body, &e)
			if e.Error.Message != msgSynced || it.Headers["Content-Type"] == "" {
				t.Errorf("item 2: %s %v", it.Body, it.Headers)
			}
		case "3":
			var u map[string]any
			json.Unmarshal(it.Body, &u)
			if u["id"] != LynneID || u["onPremisesSyncEnabled"] != false {
				t.Errorf("item 3: %s", it.Body)
			}
		case "1":
			if len(it.Body) != 0 {
				t.Errorf("item 1 (204) has a body: %s", it.Body)
			}
		}
	}
	if len(srv.Resets("adele@contoso.com")) != 1 || srv.SessionsRevoked(NestorID) != 1 {
		t.Error("batch items did not take effect")
	}
	var inBatch []string
	for _, req := range srv.Requests() {
		if req.BatchItem != "" {
			inBatch = append(inBatch, req.BatchItem+" "+req.Method+" "+req.Path)
		}
	}
	if len(inBatch) != 5 || inBatch[0] != "1 PATCH /v1.0/users/adele@contoso.com" {
		t.Errorf("recorded items: %v", inBatch)
	}
}

func TestBatchItemsThrottledOneByOne(t *testing.T) {
	srv := newServer(t)
	srv.ThrottleNext(2, 7*time.Second)
	var items []map[string]any
	for i := range 5 {
		items = append(items, patchItem(fmt.Sprint(i), "adele@contoso.com", goodPassword))
	}
	r, status, br := sendBatch(t, srv, items)
	if r.Status != 200 {
		t.Fatalf("envelope: %d", r.Status)
	}
	// Faults are drawn in item order.
	want := map[string]int{"0": 429, "1": 429, "2": 204, "3": 204, "4": 204}
	for id, st := range want {
		if status[id] != st {
			t.Errorf("item %s: %d, want %d", id, status[id], st)
		}
	}
	for _, it := range br.Responses {
		if it.Status == 429 && it.Headers["Retry-After"] != "7" {
			t.Errorf("item %s: Retry-After %q", it.ID, it.Headers["Retry-After"])
		}
	}
	if n := len(srv.Resets("adele@contoso.com")); n != 3 {
		t.Errorf("%d resets, want 3", n)
	}
}

func TestBatchWriteBudget(t *testing.T) {
	srv := newServer(t)
	srv.SetWriteBudget(2, time.Minute)
	var items []map[string]any
	for i := range 4 {
		items = append(items, patchItem(fmt.Sprint(i), "adele@contoso.com", goodPassword))
	}
	items = append(items, map[string]any{"id": "read", "method": "GET", "url": "/users/adele@contoso.com"})
	_, status, br := sendBatch(t, srv, items)
	if status["0"] != 204 || status["1"] != 204 || status["2"] != 429 || status["3"] != 429 || status["read"] != 200 {
		t.Fatalf("statuses %v", status)
	}
	for _, it := range br.Responses {
		if it.Status == 429 && (it.Headers["X-Ms-Throttle-Information"] != "WriteLimitExceeded" || it.Headers["Retry-After"] == "") {
			t.Errorf("item %s headers %v", it.ID, it.Headers)
		}
	}
}

func TestBatchEnvelopeErrors(t *testing.T) {
	srv := newServer(t)
	var many []map[string]any
	for i := range 21 {
		many = append(many, map[string]any{"id": fmt.Sprint(i), "method": "GET", "url": "/users/adele@contoso.com"})
	}
	dup := []map[string]any{
		{"id": "1", "method": "GET", "url": "/users/adele@contoso.com"},
		{"id": "1", "method": "GET", "url": "/users/lynne@contoso.com"},
	}
	noType := []map[string]any{{"id": "1", "method": "PATCH", "url": "/users/adele@contoso.com", "body": passwordBody(goodPassword)}}
	for name, items := range map[string][]map[string]any{"21 items": many, "duplicate id": dup, "body without Content-Type": noType, "empty": {}} {
		r, _, _ := sendBatch(t, srv, items)
		if code, _ := r.graphErr(t); r.Status != 400 || code != "BadRequest" {
			t.Errorf("%s: %d %s", name, r.Status, code)
		}
	}
	if r, _, _ := sendBatch(t, srv, many[:20]); r.Status != 200 {
		t.Errorf("20 items: %d", r.Status)
	}
	if r := send(t, srv, "POST", "/v1.0/$batch", `{"requests":[]}`, noAuth()); r.Status != 401 {
		t.Errorf("batch without a token: %d", r.Status)
	}
}

func TestBatchDependsOn(t *testing.T) {
	srv := newServer(t)
	items := []map[string]any{
		patchItem("reset", "alex@contoso.com", goodPassword),
		{"id": "revoke", "method": "POST", "url": "/users/alex@contoso.com/revokeSignInSessions", "dependsOn": []string{"reset"}},
		patchItem("other", "adele@contoso.com", goodPassword),
	}
	_, status, br := sendBatch(t, srv, items)
	if status["reset"] != 400 || status["revoke"] != 424 || status["other"] != 204 {
		t.Fatalf("statuses %v", status)
	}
	if srv.SessionsRevoked("alex@contoso.com") != 0 {
		t.Error("a dependant of a failed request ran")
	}
	// Sequential batches answer in request order.
	if br.Responses[0].ID != "reset" || br.Responses[1].ID != "revoke" || br.Responses[2].ID != "other" {
		t.Errorf("order %v", br.Responses)
	}
}

func TestBatchHungItemHangsTheBatch(t *testing.T) {
	srv := newServer(t)
	srv.HangNext(1)
	b, _ := json.Marshal(map[string]any{"requests": []map[string]any{{"id": "1", "method": "GET", "url": "/users/adele@contoso.com"}}})
	req, _ := http.NewRequest("POST", srv.URL+"/v1.0/$batch", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := (&http.Client{Timeout: 150 * time.Millisecond}).Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("answered %d", resp.StatusCode)
	}
}
