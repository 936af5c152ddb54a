package graphtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// JSON batching (contrib concepts/json-batching.md): up to 20 requests, unique ids, each answered on
// its own with its own status, headers and body. Items are routed through the same path as requests
// of their own: each draws its own fault, latency and write budget, so one item can be throttled with
// its own Retry-After while the others succeed. Without dependsOn the items run in parallel and the
// responses come back in the order they finished, which Graph also does not promise; with dependsOn
// anywhere, all run in order and an item whose dependency failed gets 424.

const maxBatchItems = 20

type batchItem struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      json.RawMessage   `json:"body"`
	DependsOn []string          `json:"dependsOn"`
}

type batchResult struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    any               `json:"body,omitempty"`
}

// serveBatch answers POST /v1.0/$batch; it reports false when the batch was never answered.
func (s *Server) serveBatch(w http.ResponseWriter, env *call) bool {
	if env.method != http.MethodPost {
		s.write(w, env, graphError(http.StatusMethodNotAllowed, "Request_BadRequest",
			"Specified HTTP method is not allowed for the request target."))
		return true
	}
	var req struct {
		Requests []batchItem `json:"requests"`
	}
	if env.bodyErr != nil || json.Unmarshal(env.body, &req) != nil {
		s.write(w, env, badRequest(msgUnreadableBody))
		return true
	}
	calls, err := s.batchCalls(env, req.Requests)
	if err != nil {
		s.write(w, env, badRequest(err.Error()))
		return true
	}
	for _, c := range calls {
		s.record(c)
	}

	var results []batchResult
	sequential := false
	for _, it := range req.Requests {
		sequential = sequential || len(it.DependsOn) > 0
	}
	if sequential {
		status := map[string]int{}
		for i, c := range calls {
			if dep := failedDependency(req.Requests[i].DependsOn, status); dep != "" {
				rec := newRecorder()
				setIDHeaders(rec.header, c)
				s.write(rec, c, graphError(http.StatusFailedDependency, "FailedDependency",
					"The request depends on request '"+dep+"', which failed."))
				results = append(results, result(c, rec))
				status[c.batchItem] = rec.status
				continue
			}
			rec := newRecorder()
			setIDHeaders(rec.header, c)
			if !s.serveOne(rec, c) {
				return false
			}
			results = append(results, result(c, rec))
			status[c.batchItem] = rec.status
		}
	} else {
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			answered = true
		)
		for _, c := range calls {
			// Admit in item order, so which items draw queued faults does not depend on scheduling.
			f, over, latency := s.admit(c)
			wg.Go(func() {
				rec := newRecorder()
				setIDHeaders(rec.header, c)
				done := s.finish(rec, c, f, over, latency)
				mu.Lock()
				defer mu.Unlock()
				if !done {
					answered = false
					return
				}
				results = append(results, result(c, rec))
			})
		}
		wg.Wait()
		if !answered {
			return false
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"responses": results})
	return true
}

// batchCalls validates the envelope and turns its items into calls. Graph's exact wording for these
// 400s is not documented; the messages are ours.
func (s *Server) batchCalls(env *call, items []batchItem) ([]*call, error) {
	switch {
	case len(items) == 0:
		return nil, fmt.Errorf("Invalid batch payload format: no requests.")
	case len(items) > maxBatchItems:
		return nil, fmt.Errorf("The batch holds %d requests; the limit is %d.", len(items), maxBatchItems)
	}
	seen := map[string]bool{}
	calls := make([]*call, len(items))
	for i, it := range items {
		if it.ID == "" || it.Method == "" || it.URL == "" {
			return nil, fmt.Errorf("Invalid batch payload format: request %d needs an id, a method and a url.", i)
		}
		if seen[it.ID] {
			return nil, fmt.Errorf("Request id '%s' is not unique within the batch.", it.ID)
		}
		for _, dep := range it.DependsOn {
			if !seen[dep] {
				return nil, fmt.Errorf("Request '%s' depends on '%s', which is not an earlier request of the batch.", it.ID, dep)
			}
		}
		seen[it.ID] = true
		c, err := itemCall(env, it)
		if err != nil {
			return nil, err
		}
		calls[i] = c
	}
	return calls, nil
}

// itemCall makes a call of a batch item. Its url is relative to the version ("/users/x"); it inherits
// the envelope's authentication and context.
func itemCall(env *call, it batchItem) (*call, error) {
	raw := it.URL
	if !strings.HasPrefix(raw, "/") {
		raw = "/" + raw
	}
	u, err := url.Parse("/v1.0" + raw)
	if err != nil {
		return nil, fmt.Errorf("Request '%s' has an invalid url: %v", it.ID, err)
	}
	h := http.Header{}
	for k, v := range it.Headers {
		h.Set(k, v)
	}
	var body []byte
	if len(it.Body) > 0 && string(it.Body) != "null" {
		if h.Get("Content-Type") == "" {
			return nil, fmt.Errorf("Request '%s' has a body but no Content-Type header.", it.ID)
		}
		body = it.Body
		// A body that is not JSON travels as a base64 string.
		if mt, _, _ := mime.ParseMediaType(h.Get("Content-Type")); mt != "application/json" && it.Body[0] == '"' {
			var enc string
			if json.Unmarshal(it.Body, &enc) == nil {
				if dec, err := base64.StdEncoding.DecodeString(enc); err == nil {
					body = dec
				}
			}
		}
	}
	c := &call{
		ctx: env.ctx, method: strings.ToUpper(it.Method), path: u.Path, query: u.Query(),
		rawQuery: u.RawQuery, header: h, body: body, requestID: newGUID(), batchItem: it.ID,
		asUser: env.asUser, scopes: env.scopes,
	}
	c.clientRequestID = h.Get("client-request-id")
	if c.clientRequestID == "" {
		c.clientRequestID = c.requestID
	}
	return c, nil
}

// failedDependency returns the first dependency that failed (or was not answered), or "".
func failedDependency(deps []string, status map[string]int) string {
	for _, d := range deps {
		if st, ok := status[d]; !ok || st >= 400 {
			return d
		}
	}
	return ""
}

// result turns a recorded item response into its place in the batch response. JSON bodies are
// embedded as objects; other bodies as base64 strings, as Graph does.
func result(c *call, rec *recorder) batchResult {
	r := batchResult{ID: c.batchItem, Status: rec.status, Headers: map[string]string{}}
	if r.Status == 0 {
		r.Status = http.StatusOK
	}
	for k, v := range rec.header {
		r.Headers[k] = strings.Join(v, ", ")
	}
	if rec.body.Len() > 0 {
		if mt, _, _ := mime.ParseMediaType(rec.header.Get("Content-Type")); mt == "application/json" {
			r.Body = json.RawMessage(rec.body.Bytes())
		} else {
			r.Body = base64.StdEncoding.EncodeToString(rec.body.Bytes())
		}
	}
	return r
}
