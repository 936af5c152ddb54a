package bot

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// ChainHash is the hash that links a record to the one before it: SHA-256 over the previous hash and
// a canonical encoding of every field but Hash itself. Both store engines call it, so a chain written
// by one verifies with the other.
func (r AuditRecord) ChainHash(prevHash string) string {
	canon := struct {
		Seq            int64      `json:"seq"`
		At             string     `json:"at"`
		RequestID      string     `json:"request_id"`
		Event          AuditEvent `json:"event"`
		Platform       Platform   `json:"platform"`
		ActorKey       string     `json:"actor_key"`
		ActorUPN       string     `json:"actor_upn"`
		TargetID       string     `json:"target_id"`
		TargetUPN      string     `json:"target_upn"`
		Outcome        string     `json:"outcome"`
		Detail         string     `json:"detail"`
		GraphRequestID string     `json:"graph_request_id"`
		DurationMS     int64      `json:"duration_ms"`
		PrevHash       string     `json:"prev_hash"`
	}{r.Seq, r.At.UTC().Format(time.RFC3339Nano), r.RequestID, r.Event, r.Platform, r.ActorKey, r.ActorUPN,
		r.TargetID, r.TargetUPN, r.Outcome, r.Detail, r.GraphRequestID, r.DurationMS, prevHash}
	b, _ := json.Marshal(canon) // cannot fail: strings and integers only
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
