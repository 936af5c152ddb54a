package graphsvc

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/resetbot/resetbot/bot"
)

// RevokeSessionsMany revokes the sign-in sessions of many users, each with POST
// /users/{id}/revokeSignInSessions as RevokeSessions does, in $batch requests of up to 20 with at
// most Config.BatchConcurrency in flight. Each revocation is a write: it waits for room in the
// same write budget as ResetPasswords (Config.WriteBudget per Config.WriteWindow), so a list that
// resets and then revokes stays inside Graph's write limit as a whole.
//
// outcomes[i] answers userIDs[i]: Err nil and GraphRequestID set when Graph confirmed it, else a
// *bot.DirectoryError classified as for RevokeSessions. Revoking twice leaves the user as revoking
// once, so an item throttled, answered 5xx or lost with its batch is sent again (bounded by
// Config.MaxRetries, Config.MaxRetryWait and ctx, as for resets). A user listed again (same ID, any
// case) is sent once, and every entry naming it gets that one outcome; an entry without user ID is
// refused without being sent. When ctx ends nothing new is sent: entries not sent come back
// ErrTransient "not attempted".
//
// progress, when not nil, is called exactly once per entry as it settles (in no particular order),
// never by two goroutines at once, before RevokeSessionsMany returns.
func (c *Client) RevokeSessionsMany(ctx context.Context, userIDs []string, progress func(bot.RevokeOutcome)) []bot.RevokeOutcome {
	outcomes := make([]bot.RevokeOutcome, len(userIDs))
	report := func(i int) {
		if progress != nil {
			progress(outcomes[i])
		}
	}
	var (
		reqs   []batchReq
		owners [][]int // reqs[j] answers userIDs[k] for every k in owners[j]
		first  = make(map[string]int, len(userIDs))
	)
	for i, raw := range userIDs {
		outcomes[i].UserID = raw
		id := strings.TrimSpace(raw)
		if id == "" {
			outcomes[i].Err = &bot.DirectoryError{Kind: bot.ErrOther, Message: "no user ID given for the session revocation", Remedy: RemedyOther}
			report(i)
			continue
		}
		key := strings.ToLower(id)
		if j, ok := first[key]; ok {
			owners[j] = append(owners[j], i)
			continue
		}
		first[key] = len(reqs)
		reqs = append(reqs, batchReq{method: "POST", url: "/users/" + url.PathEscape(id) + "/revokeSignInSessions"})
		owners = append(owners, []int{i})
	}

	c.runBatch(ctx, reqs, true, func(j int, res itemResult) {
		var out bot.RevokeOutcome
		switch {
		case res.err != nil:
			out.Err = res.err
		case revokedFalse(res.body):
			out.Err = notRevoked(res.header["request-id"])
		default:
			out.GraphRequestID = res.header["request-id"]
		}
		for _, i := range owners[j] {
			outcomes[i].GraphRequestID, outcomes[i].Err = out.GraphRequestID, out.Err
			report(i)
		}
	})
	return outcomes
}

// revokedFalse reports whether a revokeSignInSessions answer said {"value": false}. Graph answers
// {"value": true} (or, in newer versions, nothing) when it revoked.
func revokedFalse(body json.RawMessage) bool {
	var v struct {
		Value *bool `json:"value"`
	}
	return len(body) > 0 && json.Unmarshal(body, &v) == nil && v.Value != nil && !*v.Value
}
