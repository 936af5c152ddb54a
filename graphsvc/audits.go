package graphsvc

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/auditlogs"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/digest"
)

// The reports APIs (auditLogs included) allow 5 requests per 10 seconds per app and tenant
// (graph.md §6). Reading a day of a large tenant's resets is a few pages; paced, it never meets a
// 429.
const (
	ReportsBudget = 5
	ReportsWindow = 10 * time.Second
	auditPageSize = 999
	// auditThrottleRetries is how many 429s in a row one page may meet (another tool spending the
	// same app's budget) before the read gives up.
	auditThrottleRetries = 5
)

var _ digest.EntraLog = (*Client)(nil)

// auditPace paces a Client's reports calls; its pacer is made on first use.
type auditPace struct {
	once sync.Once
	p    *pacer
}

func (c *Client) reportsPacer() *pacer {
	c.audits.once.Do(func() {
		budget, window := ReportsBudget, ReportsWindow
		if c.reportsBudget > 0 {
			budget, window = c.reportsBudget, c.reportsWindow
		}
		c.audits.p = newPacer(budget, window)
	})
	return c.audits.p
}

// PasswordResets implements digest.EntraLog: GET /auditLogs/directoryAudits for entries whose
// activity starts with "Reset" in [since, until), oldest first, 999 a page, following
// @odata.nextLink, at most 5 requests in any 10 seconds. A 429 (someone else spending the budget)
// pauses the reads for its Retry-After and asks for the same page again. It needs AuditLog.Read.All.
func (c *Client) PasswordResets(ctx context.Context, since, until time.Time, fn func(digest.EntraReset) error) error {
	// The API filters activityDateTime with ge and le only; the end is dropped here.
	filter := fmt.Sprintf("activityDateTime ge %s and activityDateTime le %s and startswith(activityDisplayName,'Reset')",
		since.UTC().Format(time.RFC3339), until.UTC().Format(time.RFC3339))
	top := int32(auditPageSize)
	builder := auditlogs.NewAuditLogsRequestBuilderInternal(map[string]string{"baseurl": c.baseURL}, c.adapter).DirectoryAudits()
	cfg := &auditlogs.DirectoryAuditsRequestBuilderGetRequestConfiguration{
		QueryParameters: &auditlogs.DirectoryAuditsRequestBuilderGetQueryParameters{
			Filter: &filter, Orderby: []string{"activityDateTime asc"}, Top: &top},
	}
	next := ""
	for {
		var page models.DirectoryAuditCollectionResponseable
		for attempt := 0; ; attempt++ {
			p := c.reportsPacer()
			if _, err := p.acquire(ctx, 1); err != nil {
				return err
			}
			var err error
			if next == "" {
				page, err = builder.Get(ctx, cfg)
			} else {
				page, err = builder.WithUrl(next).Get(ctx, nil)
			}
			if err == nil {
				p.settle(1, 0, time.Now())
				break
			}
			de := Classify(err)
			if de.Kind == bot.ErrThrottled && attempt < auditThrottleRetries && ctx.Err() == nil {
				p.settle(0, 1, time.Now())
				p.pause(time.Now().Add(time.Duration(max(de.RetryAfter, 1)) * time.Second))
				continue
			}
			p.settle(1, 0, time.Now())
			return c.fail(ctx, err)
		}
		for _, a := range page.GetValue() {
			e := toEntraReset(a)
			if !e.At.Before(until) {
				continue
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		link := page.GetOdataNextLink()
		if link == nil || *link == "" {
			return nil
		}
		next = *link
	}
}

func toEntraReset(a models.DirectoryAuditable) digest.EntraReset {
	e := digest.EntraReset{ID: deref(a.GetId()), Activity: deref(a.GetActivityDisplayName()),
		Service: deref(a.GetLoggedByService()), ResultReason: deref(a.GetResultReason()),
		CorrelationID: deref(a.GetCorrelationId())}
	if t := a.GetActivityDateTime(); t != nil {
		e.At = t.UTC()
	}
	if r := a.GetResult(); r != nil {
		e.Result = r.String()
	}
	if by := a.GetInitiatedBy(); by != nil {
		if u := by.GetUser(); u != nil {
			e.ByUserID, e.ByUPN, e.ByIP = deref(u.GetId()), deref(u.GetUserPrincipalName()), deref(u.GetIpAddress())
		}
		if app := by.GetApp(); app != nil {
			e.ByAppID, e.ByApp = deref(app.GetAppId()), deref(app.GetDisplayName())
		}
	}
	for _, t := range a.GetTargetResources() {
		if typ := deref(t.GetTypeEscaped()); typ == "" || strings.EqualFold(typ, "User") {
			e.TargetID, e.TargetUPN = deref(t.GetId()), deref(t.GetUserPrincipalName())
			break
		}
	}
	return e
}
