package digest_test

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/digest"
	"github.com/resetbot/resetbot/bot/store"
	"github.com/resetbot/resetbot/chat"
)

// memEntra is an in-memory Entra log of n reset entries in the period: a third resetbot's own (its
// app), a third by agents signed in to resetbot (matched by account and time), a third outside.
type memEntra struct {
	n     int
	since time.Time
	step  time.Duration
}

func (m memEntra) PasswordResets(_ context.Context, since, until time.Time, fn func(digest.EntraReset) error) error {
	for i := range m.n {
		e := digest.EntraReset{ID: fmt.Sprint("e", i), At: m.since.Add(time.Duration(i) * m.step), Result: "success",
			Activity: "Reset user password", CorrelationID: fmt.Sprint("c", i)}
		e.TargetID, e.TargetUPN = fmt.Sprint("user-", i%5000), fmt.Sprintf("user%d@contoso.com", i%5000)
		switch i % 3 {
		case 0:
			e.ByAppID, e.ByApp = benchApp, "resetbot"
		case 1:
			e.ByUPN = fmt.Sprintf("agent%d@contoso.com", i%40)
		default:
			if i%2 == 0 {
				e.Activity, e.ByUPN = "Reset password (self-service)", e.TargetUPN
			} else {
				e.ByUPN, e.ByIP = "bob-admin@contoso.com", "203.0.113.7"
			}
		}
		if e.At.Before(since) || !e.At.Before(until) {
			continue
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

const benchApp = "4e5e7b07-0000-4000-8000-000000000001"

var benchStores sync.Map // size → path of a SQLite file holding that many records

// benchTrail writes n audit records over eight days (a week of history and the period) to a SQLite
// file: requests, decisions and resets by 40 agents, some failed, some approvals.
func benchTrail(b *testing.B, n int, start time.Time) string {
	if p, ok := benchStores.Load(n); ok {
		return p.(string)
	}
	path := filepath.Join(b.TempDir(), "trail.db")
	st, err := store.Open(context.Background(), "sqlite:"+path)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	step := 8 * 24 * time.Hour / time.Duration(n)
	for i := range n {
		agent := fmt.Sprintf("agent%d@contoso.com", i%40)
		r := &bot.AuditRecord{At: start.Add(time.Duration(i) * step), RequestID: fmt.Sprint("R-", i), Platform: chat.PlatformSlack,
			ActorKey: "slack:T1:" + agent, ActorUPN: agent, TargetID: fmt.Sprint("user-", i%5000), TargetUPN: fmt.Sprintf("user%d@contoso.com", i%5000)}
		switch i % 4 {
		case 0:
			r.Event, r.Outcome = bot.EventRequested, "asked"
		case 1:
			r.Event, r.Outcome = bot.EventDecision, "allow"
		case 2:
			r.Event, r.Outcome = bot.EventReset, "done"
			if i%40 == 2 {
				r.Outcome, r.Detail = "failed", fmt.Sprintf("Graph is throttling resetbot (%d)", i%7)
			}
		default:
			r.Event, r.Outcome = bot.EventApproval, "approved"
		}
		if err := st.AppendAudit(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
	benchStores.Store(n, path)
	return path
}

// BenchmarkDigest builds the digest of the last of eight days from a trail of n records in SQLite
// (with the week before as history) and an Entra log of n entries, writing the detail CSV. Memory
// stays flat from 10,000 to 100,000 records: peak-heap-MB is the heap's high-water mark above
// where it started.
//
//	go test ./bot/digest -run '^$' -bench Digest -benchtime 3x
func BenchmarkDigest(b *testing.B) {
	start := time.Date(2026, 11, 19, 8, 0, 0, 0, time.UTC)
	since, until := start.Add(7*24*time.Hour), start.Add(8*24*time.Hour)
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			path := benchTrail(b, n, start)
			st, err := store.Open(context.Background(), "sqlite:"+path)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			builder := &digest.Builder{Trail: st, Requests: st, Entra: memEntra{n: n, since: since, step: 24 * time.Hour / time.Duration(n)},
				Config: digest.Config{BotAppID: benchApp, TempDir: b.TempDir()}}
			b.ReportAllocs()
			var peak atomic.Uint64
			runtime.GC()
			sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
			metrics.Read(sample)
			base := sample[0].Value.Uint64()
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				t := time.NewTicker(2 * time.Millisecond)
				defer t.Stop()
				s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
				for {
					select {
					case <-stop:
						return
					case <-t.C:
						metrics.Read(s)
						if v := s[0].Value.Uint64(); v > base && v-base > peak.Load() {
							peak.Store(v - base)
						}
					}
				}
			}()
			var d *digest.Digest
			for b.Loop() {
				d, err = builder.Build(context.Background(), since, until, io.Discard)
				if err != nil {
					b.Fatal(err)
				}
			}
			close(stop)
			<-done
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
			if d.Entra.Entries != n || d.Resets == 0 {
				b.Fatalf("entries %d, resets %d", d.Entra.Entries, d.Resets)
			}
		})
	}
}
