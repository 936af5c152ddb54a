package slack

import (
	"errors"
	"io"
	"net/http"

	slackgo "github.com/slack-go/slack"
)

// Why a request was refused before its body was used.
var (
	errUnsigned = errors.New("missing or malformed signature headers")
	errStale    = errors.New("timestamp outside the 5-minute window")
	errForged   = errors.New("signature does not match")
	errTooLarge = errors.New("body too large")
)

// verifyBody checks Slack's v0 signature (HMAC-SHA256 over "v0:timestamp:body" with the signing secret,
// timestamp within 5 minutes) and returns the body only when it matches. The body is hashed as it is
// read, and never more than limit bytes are read; nothing looks at it before the signature is proven.
func verifyBody(header http.Header, body io.Reader, secret string, limit int64) ([]byte, error) {
	sv, err := slackgo.NewSecretsVerifier(header, secret)
	switch {
	case errors.Is(err, slackgo.ErrExpiredTimestamp):
		return nil, errStale
	case err != nil:
		// Missing headers, no "v0=", bad hex, a timestamp that is not a number, or no secret at all.
		return nil, errUnsigned
	}
	data, err := io.ReadAll(io.TeeReader(io.LimitReader(body, limit+1), &sv))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errTooLarge
		}
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, errTooLarge
	}
	if sv.Ensure() != nil {
		return nil, errForged
	}
	return data, nil
}

// verified reads and verifies a request's body, answering it itself when that fails: 413 for a body
// over the limit, 401 for anything else. ok is false when it has answered.
func (a *Adapter) verified(w http.ResponseWriter, r *http.Request) (body []byte, ok bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBytes)
	body, err := verifyBody(r.Header, r.Body, a.cfg.SigningSecret, maxRequestBytes)
	if err == nil {
		return body, true
	}
	// The reason, never the headers or the body: those are the attacker's words, or Slack's secrets.
	a.log.Warn("refused a Slack request", "path", r.URL.Path, "why", err.Error(), "remote", r.RemoteAddr)
	if errors.Is(err, errTooLarge) {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return nil, false
	}
	http.Error(w, "invalid request signature", http.StatusUnauthorized)
	return nil, false
}
