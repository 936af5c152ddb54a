package graphsvc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/resetbot/resetbot/bot"
)

// JSON batching (POST /v1.0/$batch, at most 20 requests each). msgraph-sdk-go-core has a batch
// API, but its collection chunks by 19 and sends the chunks one after the other, and it turns item
// bodies into map[string]interface{}; this file writes the envelope itself and sends it through the
// Client's request adapter, so a $batch gets the same token (and valid-host check), middleware,
// per-attempt timeout and Observe hook as every other call. (Observe hears the POST $batch, not
// its items: their statuses are inside the answer.)
//
// The engine, runBatch, takes a list of independent requests and settles each exactly once:
//   - items go out in $batch requests of up to 20, with at most Config.BatchConcurrency batches in
//     flight per Client; writes also wait for room in the Client's write pacer (pace.go);
//   - an item answered 429 is sent again, in a later batch with other items, after its own
//     Retry-After; an item answered 408 or 5xx, or missing from the answer, after its Retry-After
//     or a backoff; a whole batch that failed (network, timeout, 5xx on the envelope) has all its
//     items sent again the same way. Only idempotent requests are batched: GETs, PATCHes with a
//     fixed body (setting the same password twice leaves the user as setting it once) and
//     revokeSignInSessions (revoking twice is revoking once);
//   - retries are bounded by Config.MaxRetries, Config.MaxRetryWait and the caller's deadline,
//     exactly as for single calls; then the item settles with its last classified failure;
//   - once the caller's context ends nothing new is sent; batches already in flight get up to
//     Config.Timeout to answer, so their items settle with what Graph said rather than "unknown".

// maxBatchItems is Graph's limit on the requests of one $batch.
const maxBatchItems = 20

// batchState is what a Client's batch calls share: the in-flight limit and the write pacer.
type batchState struct {
	slots   chan struct{} // one token per $batch in flight
	pacer   *pacer        // nil: writes are not paced
	timeout time.Duration // Config.Timeout: the grace in-flight batches get after cancellation
}

func newBatchState(cfg Config) *batchState {
	n := cfg.BatchConcurrency
	if n <= 0 {
		n = DefaultBatchConcurrency
	}
	st := &batchState{slots: make(chan struct{}, n), timeout: cfg.Timeout}
	if st.timeout <= 0 {
		st.timeout = DefaultTimeout
	}
	budget, window := cfg.WriteBudget, cfg.WriteWindow
	if budget == 0 {
		budget = DefaultWriteBudget
	}
	if window <= 0 {
		window = DefaultWriteWindow
	}
	if budget > 0 {
		st.pacer = newPacer(budget, window)
	}
	return st
}

// batchReq is one request to send inside a $batch.
type batchReq struct {
	method string
	url    string          // relative to /v1.0, e.g. /users/{id}?$select=id
	body   json.RawMessage // JSON; nil for none
}

// itemResult is how an item of a batch run settled: Graph's 2xx answer (status, headers with
// lower-case names, body), or err, a *bot.DirectoryError classified as for a single call.
type itemResult struct {
	status int
	header map[string]string
	body   json.RawMessage
	err    *bot.DirectoryError
}

// Messages of items a cancelled run did not finish.
const (
	msgNotAttempted   = "not attempted: the run was cancelled before this request was sent"
	msgCancelledMaybe = "the run was cancelled before Graph confirmed this request; an attempt that reached Graph may have been applied"
)

// runBatch sends reqs in batches and calls onResult exactly once per request, as each settles:
// from any goroutine, but never two calls at once. It returns when every request has settled.
// write says whether the requests spend Graph's write budget (they are paced).
func (c *Client) runBatch(ctx context.Context, reqs []batchReq, write bool, onResult func(i int, r itemResult)) {
	if len(reqs) == 0 {
		return
	}
	sendCtx, stopSend := graceContext(ctx, c.batch.timeout)
	defer stopSend()
	r := &batchRun{
		c: c, reqs: reqs, write: write, ctx: ctx, sendCtx: sendCtx, onResult: onResult,
		items: make([]runItem, len(reqs)), unsettled: len(reqs), wake: make(chan struct{}, 1),
	}
	for i := range r.items {
		r.items[i].idx = i
	}
	r.loop()
	r.senders.Wait()
}

type batchRun struct {
	c        *Client
	reqs     []batchReq
	write    bool
	ctx      context.Context // the caller's: nothing new is sent once it ends
	sendCtx  context.Context // for batches in flight: ends c.batch.timeout after ctx
	onResult func(int, itemResult)
	senders  sync.WaitGroup
	cbMu     sync.Mutex // onResult is never called concurrently

	mu        sync.Mutex // guards what follows
	items     []runItem
	next      int        // the next request never sent yet
	retries   []*runItem // waiting to be sent again
	unsettled int
	wake      chan struct{} // a batch came back
}

type runItem struct {
	idx          int
	tries        int       // attempts sent
	notBefore    time.Time // retries: not before Retry-After or the backoff
	maybeApplied bool      // an earlier attempt may have reached Graph and done its work
	result       itemResult
}

// loop is the dispatcher: it forms batches from the items that are ready and sends them while
// there is a free slot and, for writes, room in the budget.
func (r *batchRun) loop() {
	st := r.c.batch
	for {
		r.mu.Lock()
		if r.unsettled == 0 {
			r.mu.Unlock()
			return
		}
		if r.ctx.Err() != nil {
			settled := r.abandonQueued()
			r.mu.Unlock()
			r.deliver(settled)
			r.mu.Lock()
			done := r.unsettled == 0
			r.mu.Unlock()
			if !done {
				<-r.wake // an in-flight batch settles its items on its own (within the grace)
			}
			continue
		}
		now := time.Now()
		ready, nextAt := r.ready(now)
		r.mu.Unlock()
		if ready == 0 {
			_ = waitUntil(r.ctx, time.Until(nextAt), !nextAt.IsZero(), r.wake)
			continue
		}

		n := min(maxBatchItems, ready)
		if r.write && st.pacer != nil {
			got, err := st.pacer.acquire(r.ctx, n)
			if err != nil {
				continue
			}
			n = got
		}
		slot := false
		select {
		case st.slots <- struct{}{}:
			slot = true
		case <-r.ctx.Done():
		}
		if r.ctx.Err() != nil { // nothing new goes out once the caller has given up
			if slot {
				<-st.slots
			}
			if r.write && st.pacer != nil {
				st.pacer.settle(0, n, time.Now())
			}
			continue
		}
		r.mu.Lock()
		batch := r.take(n, time.Now())
		r.mu.Unlock()
		r.senders.Add(1)
		go r.send(batch)
	}
}

// ready counts the items that may be sent now, and says when the next waiting retry may be.
func (r *batchRun) ready(now time.Time) (n int, nextAt time.Time) {
	n = len(r.reqs) - r.next
	for _, it := range r.retries {
		if !it.notBefore.After(now) {
			n++
		} else if nextAt.IsZero() || it.notBefore.Before(nextAt) {
			nextAt = it.notBefore
		}
	}
	return n, nextAt
}

// take removes n ready items from the queues, retries first (they have waited longest).
func (r *batchRun) take(n int, now time.Time) []*runItem {
	batch := make([]*runItem, 0, n)
	kept := r.retries[:0]
	for _, it := range r.retries {
		if len(batch) < n && !it.notBefore.After(now) {
			batch = append(batch, it)
		} else {
			kept = append(kept, it)
		}
	}
	clear(r.retries[len(kept):])
	r.retries = kept
	for len(batch) < n && r.next < len(r.reqs) {
		batch = append(batch, &r.items[r.next])
		r.next++
	}
	for _, it := range batch {
		it.tries++
	}
	return batch
}

// abandonQueued settles every item not in flight: the caller's context ended.
func (r *batchRun) abandonQueued() []*runItem {
	var settled []*runItem
	for r.next < len(r.reqs) {
		it := &r.items[r.next]
		r.next++
		it.result = itemResult{err: cancelled(false)}
		settled = append(settled, it)
	}
	for _, it := range r.retries {
		it.result = itemResult{err: cancelled(it.maybeApplied)}
		settled = append(settled, it)
	}
	r.retries = nil
	r.unsettled -= len(settled)
	return settled
}

func cancelled(maybeApplied bool) *bot.DirectoryError {
	msg := msgNotAttempted
	if maybeApplied {
		msg = msgCancelledMaybe
	}
	return &bot.DirectoryError{Kind: bot.ErrTransient, Message: msg, Remedy: RemedyTransient}
}

func (r *batchRun) deliver(settled []*runItem) {
	if len(settled) == 0 {
		return
	}
	r.cbMu.Lock()
	defer r.cbMu.Unlock()
	for _, it := range settled {
		r.onResult(it.idx, it.result)
	}
}

func (r *batchRun) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// verdict is what one answer means for an item: settled, or worth another attempt.
type verdict struct {
	final         bool
	result        itemResult          // when final
	err           *bot.DirectoryError // when not: the failure to report if no attempt is left
	retryAfter    time.Duration       // Graph's Retry-After, when hasRetryAfter
	hasRetryAfter bool
	maybeApplied  bool // the attempt may have done its work (5xx, no answer)
	unspent       bool // Graph did not count it against the write budget (429, refused envelope)
	writeLimit    bool // 429 WriteLimitExceeded: the budget is spent
}

// send posts one batch and settles or re-queues its items.
func (r *batchRun) send(batch []*runItem) {
	defer r.senders.Done()
	st := r.c.batch
	verdicts := r.post(batch)
	<-st.slots
	now := time.Now()

	if r.write && st.pacer != nil {
		spent, unspent := 0, 0
		var pauseUntil time.Time
		for _, v := range verdicts {
			if v.unspent {
				unspent++
			} else {
				spent++
			}
			if v.writeLimit && v.hasRetryAfter {
				pauseUntil = maxTime(pauseUntil, now.Add(v.retryAfter))
			}
		}
		if !pauseUntil.IsZero() {
			st.pacer.pause(pauseUntil)
		}
		st.pacer.settle(spent, unspent, now)
	}

	jitter := rand.Float64()
	r.mu.Lock()
	var settled []*runItem
	for i, it := range batch {
		if r.apply(it, verdicts[i], now, jitter) {
			settled = append(settled, it)
		}
	}
	r.unsettled -= len(settled)
	r.mu.Unlock()
	r.deliver(settled)
	r.signal()
}

// apply records an answer: it settles the item (true) or queues it for another attempt.
func (r *batchRun) apply(it *runItem, v verdict, now time.Time, jitter float64) bool {
	if v.final {
		it.result = v.result
		return true
	}
	it.maybeApplied = it.maybeApplied || v.maybeApplied
	settle := func(err *bot.DirectoryError) bool {
		it.result = itemResult{err: err}
		return true
	}
	if r.ctx.Err() != nil {
		if v.err != nil && v.err.Kind == bot.ErrThrottled && !it.maybeApplied {
			return settle(v.err) // Graph said no; nothing happened
		}
		return settle(cancelled(it.maybeApplied))
	}
	if it.tries > r.c.maxRetries {
		return settle(v.err)
	}
	wait := v.retryAfter
	if !v.hasRetryAfter {
		wait = backoff(it.tries, jitter)
	}
	if wait > r.c.maxRetryWait {
		return settle(v.err)
	}
	if deadline, ok := r.ctx.Deadline(); ok && now.Add(wait).After(deadline) {
		return settle(v.err)
	}
	it.notBefore = now.Add(wait)
	r.retries = append(r.retries, it)
	return false
}

// backoff is the wait before attempt n+1 when Graph gave no Retry-After: 1 s, 2 s, 4 s… (as the
// single-call retry handler), plus jitter (a fraction in [0,1)) of up to a quarter of it, so runs
// retrying at once spread out. The items of one batch share the jitter and go again together.
func backoff(n int, jitter float64) time.Duration {
	d := time.Duration(retryBaseDelay) * time.Second << min(max(n-1, 0), 6)
	return d + time.Duration(jitter*float64(d/4))
}

// post sends the batch and returns a verdict per item.
func (r *batchRun) post(batch []*runItem) []verdict {
	verdicts := make([]verdict, len(batch))
	env := make([]wireRequest, len(batch))
	for i, it := range batch {
		req := r.reqs[it.idx]
		env[i] = wireRequest{ID: strconv.Itoa(it.idx), Method: req.method, URL: req.url, Body: req.body}
		if req.body != nil {
			env[i].Headers = map[string]string{"Content-Type": "application/json"}
		}
	}
	payload, err := json.Marshal(map[string]any{"requests": env})
	if err != nil { // cannot happen with RawMessage bodies we marshalled ourselves
		for i := range verdicts {
			verdicts[i] = verdict{final: true, unspent: true, result: itemResult{err: Classify(err)}}
		}
		return verdicts
	}
	raw, err := r.c.postBatch(r.sendCtx, payload)
	if err != nil {
		v := envelopeVerdict(r.sendCtx, err)
		for i := range verdicts {
			verdicts[i] = v
		}
		return verdicts
	}
	var answer struct {
		Responses []wireResponse `json:"responses"`
	}
	if err := json.Unmarshal(raw, &answer); err != nil {
		// Graph answered 2xx with something that is not a batch answer: whether the items ran is
		// unknown; they are idempotent, so they go again.
		v := verdict{maybeApplied: true, err: &bot.DirectoryError{Kind: bot.ErrTransient,
			Message: "Graph's answer to the $batch request could not be read", Remedy: RemedyTransient}}
		for i := range verdicts {
			verdicts[i] = v
		}
		return verdicts
	}
	byID := make(map[string]*wireResponse, len(answer.Responses))
	for i := range answer.Responses {
		byID[answer.Responses[i].ID] = &answer.Responses[i]
	}
	for i, it := range batch {
		resp := byID[strconv.Itoa(it.idx)]
		if resp == nil {
			verdicts[i] = verdict{maybeApplied: true, err: &bot.DirectoryError{Kind: bot.ErrTransient,
				Message: "Graph's $batch answer did not include this request", Remedy: RemedyTransient}}
			continue
		}
		verdicts[i] = itemVerdict(resp)
	}
	return verdicts
}

// envelopeVerdict is what a failed $batch request means for each of its items.
func envelopeVerdict(sendCtx context.Context, err error) verdict {
	if sendCtx.Err() != nil {
		// The caller cancelled and the grace ran out: the batch may or may not have run.
		return verdict{maybeApplied: true, err: cancelled(true)}
	}
	de := Classify(err)
	switch {
	case de.Kind == bot.ErrThrottled:
		// The envelope itself was throttled (after the retry handler's own attempts): Graph ran
		// none of it.
		v := verdict{err: de, unspent: true}
		if de.RetryAfter > 0 {
			v.retryAfter, v.hasRetryAfter = time.Duration(de.RetryAfter)*time.Second, true
		}
		return v
	case de.Kind == bot.ErrTransient:
		return verdict{err: de, maybeApplied: true}
	case de.Status >= 400 && de.Status < 500:
		// Graph refused the envelope (malformed, unauthenticated): none of it ran.
		return verdict{final: true, unspent: true, result: itemResult{err: de}}
	default:
		return verdict{final: true, result: itemResult{err: de}}
	}
}

// itemVerdict classifies one item's answer the way Classify classifies a single call's.
func itemVerdict(resp *wireResponse) verdict {
	header := make(map[string]string, len(resp.Headers))
	for k, v := range resp.Headers {
		header[strings.ToLower(k)] = v
	}
	status := resp.Status
	body := itemBody(resp.Body, header["content-type"])
	if status >= 200 && status < 300 {
		return verdict{final: true, result: itemResult{status: status, header: header, body: body}}
	}
	de := itemError(status, header, body)
	retryAfter, hasRetryAfter := parseRetryAfterExact(header["retry-after"])
	if hasRetryAfter && retryAfter < 0 {
		retryAfter = 0
	}
	switch {
	case status == http.StatusTooManyRequests:
		return verdict{err: de, retryAfter: retryAfter, hasRetryAfter: hasRetryAfter, unspent: true,
			writeLimit: strings.Contains(strings.ToLower(header["x-ms-throttle-information"]), "writelimitexceeded")}
	case status == http.StatusRequestTimeout || status >= 500:
		return verdict{err: de, retryAfter: retryAfter, hasRetryAfter: hasRetryAfter, maybeApplied: true}
	}
	return verdict{final: true, result: itemResult{status: status, header: header, err: de}}
}

// itemBody returns an item's body as JSON. Graph embeds JSON bodies as they are and sends any
// other content base64-encoded in a string.
func itemBody(raw json.RawMessage, contentType string) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if raw[0] == '"' && !strings.Contains(strings.ToLower(contentType), "json") {
		var enc string
		if json.Unmarshal(raw, &enc) == nil {
			if dec, err := base64.StdEncoding.DecodeString(enc); err == nil {
				return dec
			}
		}
	}
	return raw
}

// itemError builds the *bot.DirectoryError a single call with this answer would get from Classify:
// Graph's error code, message and request-id from the body, Retry-After from the headers.
func itemError(status int, header map[string]string, body json.RawMessage) *bot.DirectoryError {
	var e struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				RequestID string `json:"request-id"`
			} `json:"innerError"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	h := abs.NewResponseHeaders()
	for k, v := range header {
		h.Add(k, v)
	}
	return fromResponse(status, e.Error.Code, e.Error.Message, e.Error.InnerError.RequestID, h)
}

type wireRequest struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

type wireResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// postBatch sends one $batch envelope through the request adapter (token, middleware, per-attempt
// timeout) and returns the answer's body.
func (c *Client) postBatch(ctx context.Context, payload []byte) ([]byte, error) {
	info := abs.NewRequestInformation()
	info.Method = abs.POST
	info.UrlTemplate = "{+baseurl}/$batch"
	info.PathParameters["baseurl"] = c.baseURL
	info.Headers.TryAdd("Accept", "application/json")
	info.SetStreamContentAndContentType(payload, "application/json")
	res, err := c.adapter.SendPrimitive(ctx, info, "[]byte", abs.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue})
	if err != nil {
		return nil, err
	}
	raw, _ := res.([]byte)
	if len(raw) == 0 {
		return nil, errors.New("graph answered the $batch request without a body")
	}
	return raw, nil
}

// itemURL turns a request the SDK built into a batch item's url: relative to /v1.0, with the
// query's names decoded as kiota's ParametersNameDecodingHandler decodes them for a single call
// ($select, not %24select).
func (c *Client) itemURL(info *abs.RequestInformation) (string, error) {
	u, err := info.GetUri()
	if err != nil {
		return "", err
	}
	s := u.String()
	rel, ok := strings.CutPrefix(s, c.baseURL)
	if !ok {
		return "", fmt.Errorf("request %s is not under %s", s, c.baseURL)
	}
	path, query, hasQuery := strings.Cut(rel, "?")
	if !hasQuery {
		return path, nil
	}
	for _, p := range []struct{ enc, dec string }{{"%24", "$"}, {"%2E", "."}, {"%2e", "."}, {"%2D", "-"}, {"%2d", "-"}, {"%7E", "~"}, {"%7e", "~"}} {
		query = strings.ReplaceAll(query, p.enc, p.dec)
	}
	return path + "?" + query, nil
}

// graceContext is ctx for requests already on their way: it ends `grace` after ctx does, so a
// batch in flight when the caller gives up can still say what it did. stop releases it.
func graceContext(ctx context.Context, grace time.Duration) (context.Context, func()) {
	sendCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var (
		mu    sync.Mutex
		timer *time.Timer
	)
	stopAfter := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		timer = time.AfterFunc(grace, cancel)
	})
	return sendCtx, func() {
		stopAfter()
		mu.Lock()
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel()
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
