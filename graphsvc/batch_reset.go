package graphsvc

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/resetbot/resetbot/bot"
)

var _ bot.BatchDirectory = (*Client)(nil)

// passwordPatch is the body of PATCH /users/{id} that sets a temporary password, as ResetPassword
// sends it.
type passwordPatch struct {
	PasswordProfile struct {
		Password                             string `json:"password"`
		ForceChangePasswordNextSignIn        bool   `json:"forceChangePasswordNextSignIn"`
		ForceChangePasswordNextSignInWithMfa bool   `json:"forceChangePasswordNextSignInWithMfa"`
	} `json:"passwordProfile"`
}

// ResetPasswords sets many temporary passwords, each with PATCH /users/{id} passwordProfile as
// ResetPassword does, in $batch requests of up to 20 with at most Config.BatchConcurrency in
// flight, paced to stay inside Config.WriteBudget per Config.WriteWindow (shared with every other
// ResetPasswords call of this Client).
//
// outcomes[i] answers resets[i]: Err nil and GraphRequestID set when Graph confirmed the reset,
// else a *bot.DirectoryError classified as for ResetPassword. Each user is reset at most once per
// call, with its own password: a user listed again (same UserID, any case) is refused for the later
// entries without being sent, as is an entry without user ID or password. An item Graph throttled
// is sent again, in a later batch, after its own Retry-After; an item answered 5xx, or a whole
// batch that failed (network, timeout, 5xx), is sent again with a backoff — a PATCH that sets the
// same password again leaves the user as it was — both bounded by Config.MaxRetries and
// Config.MaxRetryWait; then ErrThrottled or ErrTransient. The password is in no error.
//
// When ctx ends nothing new is sent: entries not sent yet come back ErrTransient "not attempted";
// batches in flight get up to Config.Timeout to answer, and what they did is reported. An entry
// that may have been applied without confirmation is ErrTransient with a message that says so.
//
// progress, when not nil, is called exactly once per entry as it settles (in no particular order),
// before ResetPasswords returns. It is called from the calling goroutine or from the goroutines
// that send the batches, but never by two goroutines at once; it should return quickly, as
// settling waits for it.
func (c *Client) ResetPasswords(ctx context.Context, resets []bot.PasswordReset, progress func(bot.ResetOutcome)) []bot.ResetOutcome {
	outcomes := make([]bot.ResetOutcome, len(resets))
	report := func(i int) {
		if progress != nil {
			progress(outcomes[i])
		}
	}
	var (
		reqs    []batchReq
		owner   []int    // reqs[j] is resets[owner[j]]
		secrets []string // secrets[j] is the password reqs[j] sets, to keep it out of errors
		seen    = make(map[string]bool, len(resets))
	)
	for i, r := range resets {
		outcomes[i].UserID = r.UserID
		id := strings.TrimSpace(r.UserID)
		var refuse string
		switch {
		case id == "":
			refuse = "no user ID given for the reset"
		case r.Password.IsZero():
			refuse = "no temporary password given for the reset"
		case seen[strings.ToLower(id)]:
			refuse = "this user is listed more than once; only the first entry is reset"
		}
		if refuse != "" {
			outcomes[i].Err = &bot.DirectoryError{Kind: bot.ErrOther, Message: refuse, Remedy: RemedyOther}
			report(i)
			continue
		}
		seen[strings.ToLower(id)] = true
		var body passwordPatch
		body.PasswordProfile.Password = r.Password.Reveal()
		body.PasswordProfile.ForceChangePasswordNextSignIn = true
		body.PasswordProfile.ForceChangePasswordNextSignInWithMfa = r.Options.RequireMFA
		raw, err := json.Marshal(body)
		if err != nil { // a string and two booleans always marshal
			outcomes[i].Err = Classify(err)
			report(i)
			continue
		}
		reqs = append(reqs, batchReq{method: "PATCH", url: "/users/" + url.PathEscape(id), body: raw})
		owner = append(owner, i)
		secrets = append(secrets, body.PasswordProfile.Password)
	}

	c.runBatch(ctx, reqs, true, func(j int, res itemResult) {
		i := owner[j]
		if res.err != nil {
			outcomes[i].Err = redact(res.err, secrets[j]) // its RequestID names the failed call
		} else {
			outcomes[i].GraphRequestID = res.header["request-id"]
		}
		secrets[j] = ""
		report(i)
	})
	return outcomes
}
