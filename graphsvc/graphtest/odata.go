package graphtest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// odataJSON is the Content-Type Graph answers JSON with.
const odataJSON = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

// response is what a handler decides. Handlers run with Server.mu held and must not wait; route
// writes the response after releasing the lock.
type response struct {
	status int
	header http.Header
	body   any // marshalled as JSON; nil means no body
	code   string
	msg    string // with code: Graph's error shape, filled in at write time
}

func ok(status int, body any) response { return response{status: status, body: body} }

func graphError(status int, code, msg string) response {
	return response{status: status, code: code, msg: msg}
}

func badRequest(msg string) response { return graphError(http.StatusBadRequest, "BadRequest", msg) }

func notFound(ref string) response {
	return graphError(http.StatusNotFound, "Request_ResourceNotFound",
		fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", ref))
}

func (r response) with(key, value string) response {
	if r.header == nil {
		r.header = http.Header{}
	}
	r.header.Set(key, value)
	return r
}

func (s *Server) write(w http.ResponseWriter, c *call, r response) {
	for k, vs := range r.header {
		w.Header()[k] = vs
	}
	if r.code != "" {
		s.writeError(w, c, r.status, r.code, r.msg)
		return
	}
	if r.body == nil {
		w.WriteHeader(r.status)
		return
	}
	writeJSON(w, r.status, r.body)
}

// writeError writes Graph's error shape. The SDK's ODataError dereferences message, so it is always
// present.
func (s *Server) writeError(w http.ResponseWriter, c *call, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": code, "message": msg,
		"innerError": map[string]string{
			"date":              s.clock().UTC().Format("2006-01-02T15:04:05"),
			"request-id":        c.requestID,
			"client-request-id": c.clientRequestID,
		},
	}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"UnknownError","message":"graphtest: cannot encode response"}}`)
	}
	w.Header().Set("Content-Type", odataJSON)
	w.WriteHeader(status)
	w.Write(b)
}

// option reads a system query option; Graph takes them with or without the leading $.
func option(c *call, name string) string {
	if v := c.query.Get("$" + name); v != "" {
		return v
	}
	return c.query.Get(name)
}

// selection parses $select; nil means "the default properties".
func selection(c *call) []string {
	raw := option(c, "select")
	if raw == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(raw, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// project keeps the selected properties of obj (matched case-insensitively) and its @odata.type.
// unknown lists selected names obj does not have.
func project(obj map[string]any, sel []string) (out map[string]any, unknown []string) {
	out = map[string]any{}
	if t, ok := obj["@odata.type"]; ok {
		out["@odata.type"] = t
	}
next:
	for _, want := range sel {
		for k, v := range obj {
			if strings.EqualFold(k, want) {
				out[k] = v
				continue next
			}
		}
		unknown = append(unknown, want)
	}
	return out, unknown
}

// selectOn applies $select to an object of the named type the way Graph does: the selected
// properties and the id; a property the type does not have is a 400. sel nil keeps obj whole.
func selectOn(obj map[string]any, sel []string, typeName string) (map[string]any, *response) {
	if sel == nil {
		return obj, nil
	}
	out, unknown := project(obj, sel)
	if len(unknown) > 0 {
		r := badRequest(fmt.Sprintf("Parsing OData Select and Expand failed: Could not find a property named '%s' on type '%s'.", unknown[0], typeName))
		return nil, &r
	}
	if id, ok := obj["id"]; ok {
		out["id"] = id
	}
	return out, nil
}

// pageSize reads $top: default when absent, 1–999 otherwise.
func pageSize(c *call, def int) (int, *response) {
	raw := option(c, "top")
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > 999 {
		r := graphError(http.StatusBadRequest, "Request_UnsupportedQuery",
			fmt.Sprintf("Invalid page size specified: '%s'. Must be between 1 and 999 inclusive.", raw))
		return 0, &r
	}
	return n, nil
}

// skipToken reads $skiptoken: an opaque position in a listing, 0 when absent.
func skipToken(c *call) (int, *response) {
	raw := option(c, "skiptoken")
	if raw == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "pos:"))
	if err != nil || err2 != nil || n < 0 {
		r := graphError(http.StatusBadRequest, "Request_BadRequest", "The specified page token value has expired or is invalid.")
		return 0, &r
	}
	return n, nil
}

// nextLink is the absolute URL of the page starting at pos, keeping the call's other query options.
// It points at this server: the SDK follows nextLink as given, without its base URL.
func (s *Server) nextLink(c *call, pos int) string {
	q := url.Values{}
	for k, v := range c.query {
		if strings.TrimPrefix(lower(k), "$") != "skiptoken" {
			q[k] = v
		}
	}
	q.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte("pos:"+strconv.Itoa(pos))))
	// Graph writes the $ of system query options literally.
	query := strings.ReplaceAll(q.Encode(), "%24", "$")
	return s.URL + (&url.URL{Path: c.path}).EscapedPath() + "?" + query
}

// collection pages items by $top and $skiptoken into Graph's {"value": [...]} shape.
func (s *Server) collection(c *call, context string, items []map[string]any, defTop int) response {
	top, bad := pageSize(c, defTop)
	if bad != nil {
		return *bad
	}
	pos, bad := skipToken(c)
	if bad != nil {
		return *bad
	}
	pos = min(pos, len(items))
	end := min(pos+top, len(items))
	body := map[string]any{"value": items[pos:end]}
	if context != "" {
		body["@odata.context"] = "https://graph.microsoft.com/v1.0/$metadata#" + context
	}
	if strings.EqualFold(option(c, "count"), "true") {
		body["@odata.count"] = len(items)
	}
	if end < len(items) {
		body["@odata.nextLink"] = s.nextLink(c, end)
	}
	return ok(http.StatusOK, body)
}

// recorder captures a batch item's response.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}
