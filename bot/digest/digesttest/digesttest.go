// Package digesttest is what tests of the digest and of its renderings share: an audit trail in
// memory that answers as the store does. It imports bot only.
package digesttest

import (
	"context"
	"time"

	"github.com/resetbot/resetbot/bot"
)

// Trail is an in-memory audit trail in append order: a record's Seq is its position, from 1. It
// answers as the store does (storetest checks the engines), so a digest built on it reads the same.
type Trail []bot.AuditRecord

// AuditSince streams the records after afterSeq.
func (t Trail) AuditSince(_ context.Context, afterSeq int64, fn func(bot.AuditRecord) error) error {
	for i, r := range t {
		r.Seq = int64(i + 1)
		if r.Seq <= afterSeq {
			continue
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// AuditAfter is one less than the lowest Seq of a record at or after at, else the last Seq.
func (t Trail) AuditAfter(_ context.Context, at time.Time) (int64, error) {
	for i, r := range t {
		if !r.At.Before(at) {
			return int64(i), nil
		}
	}
	return int64(len(t)), nil
}
