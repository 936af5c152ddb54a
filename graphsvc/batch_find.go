package graphsvc

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	abs "github.com/microsoft/kiota-abstractions-go"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	khttp "github.com/microsoft/kiota-http-go"
	jsonser "github.com/microsoft/kiota-serialization-json-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/resetbot/resetbot/bot"
)

// maxInValues is how many values Graph takes in one `in (…)` of a $filter (without advanced
// queries): "limited to 15 expressions".
const maxInValues = 15

// FindUsers looks many users up; users[i] and errs[i] answer refs[i] exactly as FindUser(refs[i])
// would. It costs, for n distinct refs:
//
//   - ⌈n/15⌉ reads of the users by object ID (id in (…)) or UPN (userPrincipalName in (…)), with
//     $select and the manager's ID, and ⌈m/15⌉ more by mail address for the m refs with "@" that are
//     nobody's UPN — 20 reads to a $batch, at most Config.BatchConcurrency batches in flight;
//   - the tenant's privileged set (directory_index.go), shared with every other lookup and read at
//     most once per Config.DirectoryCacheTTL: a few requests for the whole tenant, none per user;
//   - only when Config.GroupsOfInterest is nil, one read of each user's own transitive groups.
//
// So 1,000 users cost about 67 reads plus the privileged set, where reading each user's
// memberships cost over 5,000. A later page of a listing is read with a call of its own. Reads
// throttled or answered 5xx are retried like single calls. When ctx ends, refs not fully looked up
// get ctx's error, as FindUser would return.
func (c *Client) FindUsers(ctx context.Context, refs []string) ([]bot.User, []error) {
	type lookup struct {
		ref      string
		user     bot.User
		found    bool
		err      error
		notFound string // the request-id of the read that did not find the ref (UPN: before mail)
	}
	var (
		byRef   = map[string]*lookup{}
		lookups []*lookup
		at      = make([]*lookup, len(refs))
	)
	for i, raw := range refs {
		ref := strings.TrimSpace(raw)
		l := byRef[ref]
		if l == nil {
			l = &lookup{ref: ref}
			byRef[ref] = l
			lookups = append(lookups, l)
		}
		at[i] = l
	}
	// fail is c.fail for an item's error: the caller's context error once it has ended.
	fail := func(err error) error {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return Classify(err)
	}

	// The privileged set is read (or found in the cache) while the users are.
	index := c.indexLater(ctx)

	// find reads, in one round of $batch, the users whose property is one of the refs of each
	// group, 15 refs to a filter, and hands each user found to the lookups it answers.
	type byProp struct {
		prop    string // id, userPrincipalName or mail
		lookups []*lookup
	}
	find := func(groups ...byProp) {
		type chunk struct {
			prop    string
			lookups []*lookup
			answer  listing
		}
		var (
			round  reads
			chunks []*chunk
		)
		for _, g := range groups {
			for rest := g.lookups; len(rest) > 0; {
				n := min(maxInValues, len(rest))
				chunks = append(chunks, &chunk{prop: g.prop, lookups: rest[:n]})
				rest = rest[n:]
			}
		}
		for _, ch := range chunks {
			values := make([]string, len(ch.lookups))
			for j, l := range ch.lookups {
				values[j] = odataString(l.ref)
			}
			round.addURL(c, "/users", url.Values{
				"$filter": {ch.prop + " in (" + strings.Join(values, ",") + ")"},
				"$select": {strings.Join(userFields, ",")},
				"$expand": {managerExpand[0]},
			}, ch.answer.keep)
		}
		round.run(ctx, c)
		for _, ch := range chunks {
			wanted := map[string][]*lookup{}
			for _, l := range ch.lookups {
				wanted[strings.ToLower(l.ref)] = append(wanted[strings.ToLower(l.ref)], l)
			}
			matches := map[*lookup][]bot.User{}
			err := eachListed(ctx, c, &ch.answer, false, models.CreateUserCollectionResponseFromDiscriminatorValue,
				func(gu models.Userable) {
					u := toBotUser(gu)
					key := map[string]string{"id": u.ID, "userPrincipalName": u.UPN, "mail": u.Mail}[ch.prop]
					for _, l := range wanted[strings.ToLower(key)] {
						matches[l] = append(matches[l], u)
					}
				})
			for _, l := range ch.lookups {
				switch found := matches[l]; {
				case err != nil:
					l.err = fail(err)
				case len(found) == 1:
					l.user, l.found = found[0], true
				case len(found) > 1:
					l.err = ambiguousMail(len(found), l.ref)
				default:
					l.notFound = ch.answer.res.header["request-id"]
				}
			}
		}
	}

	// 1. By object ID and by UPN.
	var byID, byUPN []*lookup
	for _, l := range lookups {
		switch {
		case bot.IsGUID(l.ref):
			byID = append(byID, l)
		case strings.Contains(l.ref, "@"):
			byUPN = append(byUPN, l)
		default:
			l.err = malformedRef(l.ref)
		}
	}
	find(byProp{"id", byID}, byProp{"userPrincipalName", byUPN})

	// 2. Refs with "@" that are nobody's UPN: by mail address.
	var byMail []*lookup
	for _, l := range lookups {
		if l.err == nil && !l.found {
			if bot.IsGUID(l.ref) {
				l.err = userNotFound(l.ref, l.notFound)
			} else {
				byMail = append(byMail, l)
			}
		}
	}
	find(byProp{"mail", byMail})
	for _, l := range byMail {
		if l.err == nil && !l.found {
			l.err = userNotFound(l.ref, l.notFound)
		}
	}

	// 3. Only without groups of interest: each user's own groups, once per user.
	ownGroups := map[string]*listing{}
	if c.groupsOfInterest == nil {
		var round reads
		for _, l := range lookups {
			if l.found && ownGroups[l.user.ID] == nil {
				g := &listing{}
				ownGroups[l.user.ID] = g
				info, err := c.memberGroupsRequest(ctx, l.user.ID)
				round.add(c, info, err, g.keep)
			}
		}
		round.run(ctx, c)
	}
	groupsOf := map[string][]string{}
	for id, g := range ownGroups {
		var all []string
		err := eachListed(ctx, c, g, false, models.CreateGroupCollectionResponseFromDiscriminatorValue,
			func(gr models.Groupable) { all = append(all, deref(gr.GetId())) })
		if err != nil {
			for _, l := range lookups {
				if l.found && l.user.ID == id {
					l.err = fail(err)
				}
			}
		}
		groupsOf[id] = all
	}

	// 4. Put each user together with the privileged set, as FindUser does.
	idx, idxErr := index()
	for _, l := range lookups {
		if !l.found || l.err != nil {
			continue
		}
		if idxErr != nil {
			l.err = fail(idxErr)
			continue
		}
		idx.complete(&l.user, groupsOf[l.user.ID], c.groupsOfInterest == nil)
	}

	out := make([]bot.User, len(refs))
	errs := make([]error, len(refs))
	for i, l := range at {
		switch {
		case l.err != nil:
			errs[i] = l.err
		case l.found:
			out[i] = l.user
			out[i].Groups = slices.Clone(l.user.Groups)
			out[i].AdministrativeUnits = slices.Clone(l.user.AdministrativeUnits)
		case ctx.Err() != nil: // never sent: the caller gave up first
			errs[i] = ctx.Err()
		default: // cannot happen: every read settles
			errs[i] = &bot.DirectoryError{Kind: bot.ErrOther, Message: "the lookup did not complete", Remedy: RemedyOther}
		}
	}
	return out, errs
}

// userNotFound is the answer for a ref no user has, whichever way it was looked for: requestID
// names the last read that came back without it.
func userNotFound(ref, requestID string) *bot.DirectoryError {
	msg := "no user has the UPN or mail address " + ref
	if bot.IsGUID(ref) {
		msg = "no user has the object ID " + ref
	}
	return &bot.DirectoryError{Kind: bot.ErrNotFound, Status: http.StatusNotFound, Code: "Request_ResourceNotFound",
		Message: msg, Remedy: RemedyNotFound, RequestID: requestID}
}

func malformedRef(ref string) *bot.DirectoryError {
	return &bot.DirectoryError{Kind: bot.ErrNotFound,
		Message: fmt.Sprintf("%q is not a UPN, mail address or object ID", ref), Remedy: RemedyNotFound}
}

func ambiguousMail(n int, ref string) *bot.DirectoryError {
	return &bot.DirectoryError{Kind: bot.ErrOther,
		Message: fmt.Sprintf("%d users have the mail address %s", n, ref),
		Remedy:  "Give the user's UPN or object ID instead of the mail address."}
}

// reads is a list of GETs for runBatch, each with what to do with its answer.
type reads struct {
	reqs []batchReq
	done []func(itemResult)
}

// add queues the request the SDK built (or settles it at once with the error building it).
func (r *reads) add(c *Client, info *abs.RequestInformation, err error, done func(itemResult)) {
	var u string
	if err == nil {
		u, err = c.itemURL(info)
	}
	if err != nil {
		done(itemResult{err: Classify(err)})
		return
	}
	r.reqs = append(r.reqs, batchReq{method: "GET", url: u})
	r.done = append(r.done, done)
}

// addURL queues a GET of path (relative to /v1.0) with the query options q.
func (r *reads) addURL(c *Client, path string, q url.Values, done func(itemResult)) {
	r.reqs = append(r.reqs, batchReq{method: "GET", url: path + queryString(q)})
	r.done = append(r.done, done)
}

// queryString encodes OData query options as Graph's own examples write them: "?$select=a,b&
// $filter=userPrincipalName in ('x@contoso.com')", with spaces as %20 (not "+", which Graph may
// read as a plus) and only what must be escaped escaped ('#', '&', '+', '%', …).
func queryString(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range q[k] {
			if b.Len() == 0 {
				b.WriteByte('?')
			} else {
				b.WriteByte('&')
			}
			b.WriteString(queryEscape(k))
			b.WriteByte('=')
			b.WriteString(queryEscape(v))
		}
	}
	return b.String()
}

var queryUnescapes = strings.NewReplacer("+", "%20", "%24", "$", "%2C", ",", "%27", "'", "%28", "(", "%29", ")", "%40", "@",
	"%3A", ":", "%2F", "/", "%3D", "=")

func queryEscape(s string) string { return queryUnescapes.Replace(url.QueryEscape(s)) }

// run sends the reads and settles each once. No more reads than the Client keeps $batch requests
// in flight go out as plain GETs side by side: a $batch would take the same round trip, and a
// single lookup then reads Graph with GETs only (resetbot check, an audit of Graph's logs). More go
// in $batch requests of 20.
func (r *reads) run(ctx context.Context, c *Client) {
	if len(r.reqs) <= cap(c.batch.slots) {
		c.runSingles(ctx, r.reqs, func(i int, res itemResult) { r.done[i](res) })
		return
	}
	c.runBatch(ctx, r.reqs, false, func(i int, res itemResult) { r.done[i](res) })
}

// runSingles sends each GET as a request of its own, all at once (a handful: see reads.run), with
// the Client's retry policy, and calls onResult once per request, never two calls at once. Once
// ctx has ended nothing is sent: those requests settle "not attempted".
func (c *Client) runSingles(ctx context.Context, reqs []batchReq, onResult func(i int, r itemResult)) {
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	settle := func(i int, res itemResult) {
		mu.Lock()
		defer mu.Unlock()
		onResult(i, res)
	}
	for i, req := range reqs {
		if ctx.Err() != nil {
			settle(i, itemResult{err: cancelled(false)})
			continue
		}
		wg.Go(func() { settle(i, c.getRaw(ctx, req.url)) })
	}
	wg.Wait()
}

// getRaw GETs rel (relative to /v1.0, query encoded) and returns the answer as a batch item's.
func (c *Client) getRaw(ctx context.Context, rel string) itemResult {
	u, err := url.Parse(c.baseURL + rel)
	if err != nil {
		return itemResult{err: Classify(err)}
	}
	info := abs.NewRequestInformation()
	info.Method = abs.GET
	info.SetUri(*u)
	info.Headers.TryAdd("Accept", "application/json")
	headers := &khttp.HeadersInspectionOptions{InspectResponseHeaders: true, ResponseHeaders: abs.NewResponseHeaders()}
	info.AddRequestOptions([]abs.RequestOption{headers})
	raw, err := c.adapter.SendPrimitive(ctx, info, "[]byte", abs.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue})
	if err != nil {
		return itemResult{err: Classify(err)}
	}
	body, _ := raw.([]byte)
	h := map[string]string{}
	for _, k := range headers.GetResponseHeaders().ListKeys() {
		h[strings.ToLower(k)] = header(headers.GetResponseHeaders(), k)
	}
	return itemResult{status: http.StatusOK, header: h, body: body}
}

// listing is the first page of a collection a batch item answered, read later (a later page is a
// call of its own, which must not happen inside runBatch's callback).
type listing struct {
	res itemResult
	got bool
}

func (l *listing) keep(res itemResult) { l.res, l.got = res, true }

// failure is the listing's failure: the item's, or the caller's context error when it was never read.
func (l *listing) failure(ctx context.Context) error {
	if !l.got {
		if err := ctx.Err(); err != nil {
			return err
		}
		return &bot.DirectoryError{Kind: bot.ErrTransient, Message: msgNotAttempted, Remedy: RemedyTransient}
	}
	if l.res.err != nil {
		return l.res.err
	}
	return nil
}

// parseBody parses a batch item's JSON body as the request adapter parses a response; nil for an
// empty body.
func parseBody[T any](body []byte, ctor absser.ParsableFactory) (T, error) {
	var zero T
	if len(body) == 0 {
		return zero, nil
	}
	node, err := jsonser.NewJsonParseNode(body)
	if err != nil {
		return zero, err
	}
	v, err := node.GetObjectValue(ctor)
	if err != nil || v == nil {
		return zero, err
	}
	t, ok := v.(T)
	if !ok {
		return zero, fmt.Errorf("graph answered with %T where %T was expected", v, zero)
	}
	return t, nil
}

// eachInBody calls fn for every item of the collection page in body and of the pages its
// @odata.nextLink leads to (read with calls of their own, as eachItem does).
func eachInBody[T any](ctx context.Context, c *Client, body []byte, ctor absser.ParsableFactory, fn func(T)) error {
	first, err := parseBody[absser.Parsable](body, ctor)
	if err != nil || first == nil {
		return err
	}
	return eachItem(ctx, c, first, ctor, fn)
}
